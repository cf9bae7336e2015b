"""AllergyIntolerance ↔ clinical.AllergyIntolerance.

The substance is a key of the national medicine catalogue (a coding in its system) and/or a text
(`code.text`, else the first coding's display). Bienestar records confirmed allergies; its status
is the clinical status (active, inactive, resolved) or entered-in-error (verificationStatus).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from bienestar.clinical.models import (
    AllergyCategory,
    AllergyCriticality,
    AllergyIntolerance,
    AllergyStatus,
    AllergyType,
)
from bienestar.fhir import systems
from bienestar.fhir.errors import MappingError
from bienestar.fhir.mappers.common import (
    codes_of,
    coding,
    concept,
    date,
    date_time,
    first_code,
    meta,
    parse_date,
    parse_date_time,
    reference,
    reference_id,
)

FIELD_PATHS = {
    "person": "AllergyIntolerance.patient",
    "encounter": "AllergyIntolerance.encounter",
    "facility": "AllergyIntolerance.encounter",
    "category": "AllergyIntolerance.category",
    "allergy_type": "AllergyIntolerance.type",
    "criticality": "AllergyIntolerance.criticality",
    "substance": "AllergyIntolerance.code",
    "medicine_key": "AllergyIntolerance.code",
    "onset_date": "AllergyIntolerance.onsetDateTime",
    "status": "AllergyIntolerance.clinicalStatus",
}


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


@dataclass(frozen=True)
class AllergyInput:
    person_id: str
    category: str
    status: str = AllergyStatus.ACTIVE
    substance: str = ""
    medicine_key: str | None = None
    allergy_type: str = AllergyType.ALLERGY
    criticality: str = AllergyCriticality.UNABLE_TO_ASSESS
    reaction: str = ""
    onset_date: dt.date | None = None
    encounter_id: str | None = None
    recorded_at: dt.datetime | None = None


def _choice(value: Any, choices: Any, path: str) -> str:
    if value not in choices.values:
        raise MappingError(
            _("Valor no admitido: %(v)s. Use uno de: %(all)s.")
            % {"v": value, "all": ", ".join(choices.values)},
            path,
        )
    return str(value)


def allergy_from_fhir(data: Mapping[str, Any]) -> AllergyInput:
    verification = first_code(
        data.get("verificationStatus"),
        systems.ALLERGY_VERIFICATION,
        "AllergyIntolerance.verificationStatus",
        required=False,
    )
    if verification not in (None, "confirmed", AllergyStatus.ENTERED_IN_ERROR):
        raise MappingError(
            _("Bienestar registra alergias confirmadas (confirmed) o registradas por error."),
            "AllergyIntolerance.verificationStatus",
        )
    clinical = first_code(
        data.get("clinicalStatus"),
        systems.ALLERGY_CLINICAL,
        "AllergyIntolerance.clinicalStatus",
        required=False,
    )
    if verification == AllergyStatus.ENTERED_IN_ERROR:
        status = AllergyStatus.ENTERED_IN_ERROR.value
    else:
        status = clinical or AllergyStatus.ACTIVE.value
        if status not in (AllergyStatus.ACTIVE, AllergyStatus.INACTIVE, AllergyStatus.RESOLVED):
            raise MappingError(
                _("Estado clínico no admitido: %(s)s. Use active, inactive o resolved.")
                % {"s": status},
                "AllergyIntolerance.clinicalStatus",
            )
    code = data.get("code") or {}
    keys = codes_of(code, systems.MEDICINE_CATALOGUE)
    substance = " ".join(str(code.get("text") or "").split())
    if not substance:
        substance = next(
            (
                " ".join(str(c.get("display")).split())
                for c in code.get("coding") or []
                if c.get("display") and c.get("system") != systems.MEDICINE_CATALOGUE
            ),
            "",
        )
    if not keys and not substance:
        raise MappingError(
            _("Indique la sustancia (code.text) o la clave del catálogo de medicamentos."),
            "AllergyIntolerance.code",
        )
    categories = data.get("category") or []
    if len(categories) > 1:
        raise MappingError(_("Indique una sola categoría."), "AllergyIntolerance.category[1]")
    if categories:
        category = _choice(categories[0], AllergyCategory, "AllergyIntolerance.category[0]")
    elif keys:
        category = AllergyCategory.MEDICATION.value
    else:
        raise MappingError(_("Indique la categoría."), "AllergyIntolerance.category")
    reactions = data.get("reaction") or []
    reaction = ""
    if reactions:
        first = reactions[0]
        texts = [
            " ".join(str(m.get("text") or "").split())
            or next((str(c.get("display")) for c in m.get("coding") or [] if c.get("display")), "")
            for m in first.get("manifestation") or []
        ]
        reaction = "; ".join(t for t in texts if t) or " ".join(
            str(first.get("description") or "").split()
        )
    return AllergyInput(
        person_id=reference_id(data.get("patient"), "Patient", "AllergyIntolerance.patient"),
        category=category,
        status=status,
        substance=substance,
        medicine_key=keys[0] if keys else None,
        allergy_type=_choice(
            data.get("type") or AllergyType.ALLERGY, AllergyType, "AllergyIntolerance.type"
        ),
        criticality=_choice(
            data.get("criticality") or AllergyCriticality.UNABLE_TO_ASSESS,
            AllergyCriticality,
            "AllergyIntolerance.criticality",
        ),
        reaction=reaction,
        onset_date=parse_date(data["onsetDateTime"], "AllergyIntolerance.onsetDateTime")
        if data.get("onsetDateTime")
        else None,
        encounter_id=reference_id(data["encounter"], "Encounter", "AllergyIntolerance.encounter")
        if data.get("encounter")
        else None,
        recorded_at=parse_date_time(data["recordedDate"], "AllergyIntolerance.recordedDate")
        if data.get("recordedDate")
        else None,
    )
