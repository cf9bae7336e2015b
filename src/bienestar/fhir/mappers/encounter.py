"""Encounter ↔ clinical.Encounter.

Diagnoses are not listed in the Encounter (each Condition points at its encounter: search
`Condition?encounter=<id>`), so that recording a diagnosis does not change the encounter's version.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from bienestar.clinical.models import Encounter, EncounterClass, EncounterStatus
from bienestar.fhir import systems
from bienestar.fhir.errors import MappingError
from bienestar.fhir.mappers.common import (
    codes_of,
    coding,
    concept,
    date_time,
    meta,
    parse_date_time,
    reference,
    reference_id,
)

# Domain class → HL7 v3 ActCode (the R4 Encounter.class value set).
CLASS_CODES: dict[str, tuple[str, str]] = {
    EncounterClass.AMBULATORY: ("AMB", "ambulatory"),
    EncounterClass.EMERGENCY: ("EMER", "emergency"),
    EncounterClass.INPATIENT: ("IMP", "inpatient encounter"),
    EncounterClass.HOME: ("HH", "home health"),
    EncounterClass.VIRTUAL: ("VR", "virtual"),
}
CLASS_BY_CODE = {code: domain for domain, (code, _display) in CLASS_CODES.items()}
CREATABLE_STATUSES = (
    EncounterStatus.PLANNED,
    EncounterStatus.IN_PROGRESS,
    EncounterStatus.FINISHED,
)

FIELD_PATHS = {
    "person": "Encounter.subject",
    "encounter_class": "Encounter.class",
    "status": "Encounter.status",
    "reason": "Encounter.reasonCode",
    "reason_code": "Encounter.reasonCode",
    "start": "Encounter.period.start",
    "end": "Encounter.period.end",
    "facility": "Encounter.serviceProvider",
    "practitioner": "Encounter.participant",
}


def icd10_concept(code: Any) -> dict[str, Any]:
    """A CIE-10 code (terminology.Icd10Code) as a CodeableConcept."""
    return concept(coding(systems.ICD10, code.code, code.description_es), text=code.description_es)


def encounter_to_fhir(encounter: Encounter) -> dict[str, Any]:
    code, display = CLASS_CODES.get(encounter.encounter_class, ("AMB", "ambulatory"))
    resource: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": str(encounter.public_id),
        "meta": meta(str(encounter.version), encounter.updated_at),
        "status": encounter.status,
        "class": coding(systems.ACT_CODE, code, display),
        "subject": reference("Patient", encounter.person.public_id),
    }
    if encounter.practitioner is not None:
        resource["participant"] = [
            {
                "individual": reference(
                    "Practitioner", encounter.practitioner.public_id, str(encounter.practitioner)
                )
            }
        ]
    period = {"start": date_time(encounter.start)}
    if encounter.end is not None:
        period["end"] = date_time(encounter.end)
    resource["period"] = period
    if encounter.reason_code is not None:
        reason = icd10_concept(encounter.reason_code)
        if encounter.reason_text:
            reason["text"] = encounter.reason_text
        resource["reasonCode"] = [reason]
    elif encounter.reason_text:
        resource["reasonCode"] = [{"text": encounter.reason_text}]
    resource["location"] = [
        {"location": reference("Location", encounter.facility.public_id, encounter.facility.name)}
    ]
    resource["serviceProvider"] = reference(
        "Organization", encounter.facility.public_id, encounter.facility.name
    )
    return resource


@dataclass(frozen=True)
class EncounterInput:
    person_id: str
    encounter_class: str
    status: str
    reason_text: str = ""
    reason_code: str | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    facility_id: str | None = None
    practitioner_id: str | None = None


def encounter_from_fhir(data: Mapping[str, Any]) -> EncounterInput:
    status = data.get("status")
    if status not in EncounterStatus.values:
        raise MappingError(
            _("Estado no admitido: %(s)s. Use uno de: %(all)s.")
            % {"s": status, "all": ", ".join(EncounterStatus.values)},
            "Encounter.status",
        )
    klass = data.get("class") or {}
    if (
        klass.get("system") not in (None, systems.ACT_CODE)
        or klass.get("code") not in CLASS_BY_CODE
    ):
        raise MappingError(
            _("Clase de atención no admitida; use %(codes)s de %(system)s.")
            % {"codes": ", ".join(CLASS_BY_CODE), "system": systems.ACT_CODE},
            "Encounter.class",
        )
    person_id = reference_id(data.get("subject"), "Patient", "Encounter.subject")
    period = data.get("period") or {}
    start = (
        parse_date_time(period["start"], "Encounter.period.start") if period.get("start") else None
    )
    end = parse_date_time(period["end"], "Encounter.period.end") if period.get("end") else None
    reason_text, reason_code = "", None
    reasons = data.get("reasonCode") or []
    if reasons:
        first = reasons[0]
        found = codes_of(first, systems.ICD10)
        reason_code = found[0] if found else None
        reason_text = (first.get("text") or "").strip()
        if not reason_code and not reason_text:
            raise MappingError(
                _("El motivo necesita un código CIE-10 (%(system)s) o un texto.")
                % {"system": systems.ICD10},
                "Encounter.reasonCode[0]",
            )
    facility_id = None
    if data.get("serviceProvider"):
        facility_id = reference_id(
            data["serviceProvider"], "Organization", "Encounter.serviceProvider"
        )
    elif data.get("location"):
        facility_id = reference_id(
            (data["location"][0] or {}).get("location"),
            "Location",
            "Encounter.location[0].location",
        )
    practitioner_id = None
    for index, participant in enumerate(data.get("participant") or []):
        individual = participant.get("individual")
        if individual and "Practitioner/" in str(individual.get("reference", "")):
            practitioner_id = reference_id(
                individual, "Practitioner", f"Encounter.participant[{index}].individual"
            )
            break
    return EncounterInput(
        person_id=person_id,
        encounter_class=CLASS_BY_CODE[klass["code"]],
        status=status,
        reason_text=reason_text,
        reason_code=reason_code,
        start=start,
        end=end,
        facility_id=facility_id,
        practitioner_id=practitioner_id,
    )
