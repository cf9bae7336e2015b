"""Immunization ↔ clinical.Immunization (read only).

The vaccine is named as the national schedule names it (`vaccineCode.text`); Bienestar does not
code vaccines in CVX or SNOMED CT.
"""

from __future__ import annotations

from typing import Any

from bienestar.clinical.models import Immunization
from bienestar.fhir.mappers.common import date, date_time, meta, reference


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
