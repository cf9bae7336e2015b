"""AllergyIntolerance ↔ clinical.AllergyIntolerance (read only)."""

from __future__ import annotations

from typing import Any

from bienestar.clinical.models import AllergyIntolerance, AllergyStatus
from bienestar.fhir import systems
from bienestar.fhir.mappers.common import coding, concept, date, date_time, meta, reference


def allergy_to_fhir(allergy: AllergyIntolerance) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "AllergyIntolerance",
        "id": str(allergy.public_id),
        "meta": meta(str(allergy.version), allergy.updated_at),
    }
    if allergy.status == AllergyStatus.ENTERED_IN_ERROR:
        # ait-2: no clinicalStatus on a record entered in error.
        resource["verificationStatus"] = concept(
            coding(systems.ALLERGY_VERIFICATION, "entered-in-error")
        )
    else:
        resource["clinicalStatus"] = concept(coding(systems.ALLERGY_CLINICAL, allergy.status))
        resource["verificationStatus"] = concept(coding(systems.ALLERGY_VERIFICATION, "confirmed"))
    resource["type"] = allergy.allergy_type
    resource["category"] = [allergy.category]
    resource["criticality"] = allergy.criticality
    if allergy.medicine is not None:
        resource["code"] = concept(
            coding(systems.MEDICINE_CATALOGUE, allergy.medicine.key, allergy.medicine.generic_name),
            text=allergy.substance or allergy.medicine.generic_name,
        )
    else:
        resource["code"] = {"text": allergy.substance}
    resource["patient"] = reference("Patient", allergy.person.public_id)
    if allergy.encounter is not None:
        resource["encounter"] = reference("Encounter", allergy.encounter.public_id)
    if allergy.onset_date:
        resource["onsetDateTime"] = date(allergy.onset_date)
    resource["recordedDate"] = date_time(allergy.recorded_at)
    if allergy.reaction:
        resource["reaction"] = [{"manifestation": [{"text": allergy.reaction}]}]
    return resource
