"""Condition ↔ clinical.Condition (a CIE-10 diagnosis)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from bienestar.clinical.models import (
    Condition,
    ConditionClinicalStatus,
    ConditionVerification,
)
from bienestar.fhir import systems
from bienestar.fhir.errors import MappingError
from bienestar.fhir.mappers.common import (
    coding,
    concept,
    date,
    date_time,
    first_code,
    meta,
    parse_date,
    reference,
    reference_id,
)
from bienestar.fhir.mappers.encounter import icd10_concept

FIELD_PATHS = {
    "person": "Condition.subject",
    "code": "Condition.code",
    "diagnoses": "Condition.code",
    "encounter": "Condition.encounter",
    "verification": "Condition.verificationStatus",
    "clinical_status": "Condition.clinicalStatus",
    "onset_date": "Condition.onsetDateTime",
    "abatement_date": "Condition.abatementDateTime",
    "facility": "Condition.encounter",
}
# FHIR verification codes Bienestar records; "unconfirmed" is the parent of "provisional".
VERIFICATION_IN = {
    "confirmed": ConditionVerification.CONFIRMED,
    "provisional": ConditionVerification.PROVISIONAL,
    "unconfirmed": ConditionVerification.PROVISIONAL,
    "entered-in-error": ConditionVerification.ENTERED_IN_ERROR,
}


def condition_to_fhir(condition: Condition) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "id": str(condition.public_id),
        "meta": meta(str(condition.version), condition.updated_at),
    }
    # con-5: no clinicalStatus on a record entered in error.
    if condition.verification_status != ConditionVerification.ENTERED_IN_ERROR:
        resource["clinicalStatus"] = concept(
            coding(systems.CONDITION_CLINICAL, condition.clinical_status)
        )
    resource["verificationStatus"] = concept(
        coding(systems.CONDITION_VERIFICATION, condition.verification_status)
    )
    category = "encounter-diagnosis" if condition.encounter_id else "problem-list-item"
    resource["category"] = [concept(coding(systems.CONDITION_CATEGORY, category))]
    resource["code"] = icd10_concept(condition.code)
    resource["subject"] = reference("Patient", condition.person.public_id)
    if condition.encounter is not None:
        resource["encounter"] = reference("Encounter", condition.encounter.public_id)
    if condition.onset_date:
        resource["onsetDateTime"] = date(condition.onset_date)
    if condition.abatement_date:
        resource["abatementDateTime"] = date(condition.abatement_date)
    resource["recordedDate"] = date_time(condition.recorded_at)
    if condition.note:
        resource["note"] = [{"text": condition.note}]
    return resource


@dataclass(frozen=True)
class ConditionInput:
    person_id: str
    code: str
    clinical_status: str = ConditionClinicalStatus.ACTIVE
    verification: str = ConditionVerification.CONFIRMED
    encounter_id: str | None = None
    onset_date: dt.date | None = None
    abatement_date: dt.date | None = None
    note: str = ""


def condition_from_fhir(data: Mapping[str, Any]) -> ConditionInput:
    code = first_code(data.get("code"), systems.ICD10, "Condition.code")
    assert code is not None
    clinical = first_code(
        data.get("clinicalStatus"),
        systems.CONDITION_CLINICAL,
        "Condition.clinicalStatus",
        required=False,
    )
    if clinical is None:
        clinical = ConditionClinicalStatus.ACTIVE
    if clinical not in ConditionClinicalStatus.values:
        raise MappingError(
            _("Estado clínico no admitido: %(s)s. Use active, inactive o resolved.")
            % {"s": clinical},
            "Condition.clinicalStatus",
        )
    verification = first_code(
        data.get("verificationStatus"),
        systems.CONDITION_VERIFICATION,
        "Condition.verificationStatus",
        required=False,
    )
    if verification is None:
        verification = "confirmed"
    if verification not in VERIFICATION_IN:
        raise MappingError(
            _("Verificación no admitida: %(s)s. Use confirmed o provisional.")
            % {"s": verification},
            "Condition.verificationStatus",
        )
    person_id = reference_id(data.get("subject"), "Patient", "Condition.subject")
    encounter_id = None
    if data.get("encounter"):
        encounter_id = reference_id(data["encounter"], "Encounter", "Condition.encounter")
    onset = (
        parse_date(data["onsetDateTime"], "Condition.onsetDateTime")
        if data.get("onsetDateTime")
        else None
    )
    abatement = (
        parse_date(data["abatementDateTime"], "Condition.abatementDateTime")
        if data.get("abatementDateTime")
        else None
    )
    notes = data.get("note") or []
    note = (notes[0].get("text") or "").strip() if notes else ""
    return ConditionInput(
        person_id=person_id,
        code=code,
        clinical_status=clinical,
        verification=VERIFICATION_IN[verification],
        encounter_id=encounter_id,
        onset_date=onset,
        abatement_date=abatement,
        note=note,
    )
