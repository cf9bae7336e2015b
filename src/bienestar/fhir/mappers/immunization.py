"""Immunization ↔ clinical.Immunization.

The vaccine is named as the national schedule names it (`vaccineCode.text`); Bienestar does not
code vaccines in CVX or SNOMED CT. On the way in, `vaccineCode.text` (else the first coding's
display) is matched against the schedule by the recording service, which may write the schedule's
own name for it; the dose is `protocolApplied[0].doseNumberString` (or doseNumberPositiveInt).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from bienestar.clinical.models import Immunization, ImmunizationStatus
from bienestar.fhir.errors import MappingError
from bienestar.fhir.mappers.common import (
    date,
    date_time,
    meta,
    parse_date,
    parse_date_time,
    reference,
    reference_id,
)

FIELD_PATHS = {
    "person": "Immunization.patient",
    "vaccine": "Immunization.vaccineCode",
    "dose": "Immunization.protocolApplied[0]",
    "occurrence_date": "Immunization.occurrenceDateTime",
    "encounter": "Immunization.encounter",
    "facility": "Immunization.location",
}


def immunization_to_fhir(immunization: Immunization) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Immunization",
        "id": str(immunization.public_id),
        "meta": meta(str(immunization.version), immunization.updated_at),
        "status": immunization.status,
        "vaccineCode": {"text": immunization.vaccine},
        "patient": reference("Patient", immunization.person.public_id),
    }
    if immunization.encounter is not None:
        resource["encounter"] = reference("Encounter", immunization.encounter.public_id)
    resource["occurrenceDateTime"] = date(immunization.occurrence_date)
    resource["recorded"] = date_time(immunization.recorded_at)
    resource["primarySource"] = immunization.primary_source
    resource["location"] = reference(
        "Location", immunization.facility.public_id, immunization.facility.name
    )
    if immunization.lot:
        resource["lotNumber"] = immunization.lot
    resource["protocolApplied"] = [{"doseNumberString": immunization.dose}]
    return resource


@dataclass(frozen=True)
class ImmunizationInput:
    person_id: str
    vaccine: str
    dose: str
    occurrence_date: dt.date
    status: str = ImmunizationStatus.COMPLETED
    lot: str = ""
    primary_source: bool = True
    encounter_id: str | None = None
    location_id: str | None = None
    recorded_at: dt.datetime | None = None


def immunization_from_fhir(data: Mapping[str, Any]) -> ImmunizationInput:
    status = data.get("status")
    if status not in ImmunizationStatus.values:
        raise MappingError(
            _("Estado no admitido: %(s)s. Use uno de: %(all)s.")
            % {"s": status, "all": ", ".join(ImmunizationStatus.values)},
            "Immunization.status",
        )
    code = data.get("vaccineCode") or {}
    vaccine = " ".join(str(code.get("text") or "").split()) or next(
        (
            " ".join(str(c.get("display")).split())
            for c in code.get("coding") or []
            if c.get("display")
        ),
        "",
    )
    if not vaccine:
        raise MappingError(_("Indique la vacuna (vaccineCode.text)."), "Immunization.vaccineCode")
    protocols = data.get("protocolApplied") or []
    protocol = protocols[0] if protocols else {}
    dose = str(
        protocol.get("doseNumberString") or protocol.get("doseNumberPositiveInt") or ""
    ).strip()
    if not dose:
        raise MappingError(
            _("Indique la dosis (protocolApplied.doseNumberString)."),
            "Immunization.protocolApplied",
        )
    if not data.get("occurrenceDateTime"):
        raise MappingError(
            _("Indique la fecha de aplicación (occurrenceDateTime)."),
            "Immunization.occurrenceDateTime",
        )
    return ImmunizationInput(
        person_id=reference_id(data.get("patient"), "Patient", "Immunization.patient"),
        vaccine=vaccine,
        dose=dose,
        occurrence_date=parse_date(data["occurrenceDateTime"], "Immunization.occurrenceDateTime"),
        status=str(status),
        lot=str(data.get("lotNumber") or "").strip(),
        primary_source=data.get("primarySource") is not False,
        encounter_id=reference_id(data["encounter"], "Encounter", "Immunization.encounter")
        if data.get("encounter")
        else None,
        location_id=reference_id(data["location"], "Location", "Immunization.location")
        if data.get("location")
        else None,
        recorded_at=parse_date_time(data["recorded"], "Immunization.recorded")
        if data.get("recorded")
        else None,
    )
