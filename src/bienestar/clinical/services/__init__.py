"""Writes to the clinical record. Each service owns one transaction and writes one audit row with it.

Every service checks, in order: CLINICAL_WRITE; that the person is visible to the actor (else the
404 of a missing record); where the record is written (the actor's facility, see scope.py); then the
input. Any refusal raises a DomainError before or inside the transaction, so nothing is written.
Persons, encounters and facilities may be passed as model instances or as their opaque public ids.
"""

from bienestar.clinical.services.encounters import (
    DiagnosisInput,
    condition_add,
    condition_resolve,
    encounter_cancel,
    encounter_close,
    encounter_open,
    encounter_record,
    observation_record,
    vitals_check,
)
from bienestar.clinical.services.history import (
    allergy_add,
    allergy_set_status,
    immunization_record,
)

__all__ = [
    "DiagnosisInput",
    "allergy_add",
    "allergy_set_status",
    "condition_add",
    "condition_resolve",
    "encounter_cancel",
    "encounter_close",
    "encounter_open",
    "encounter_record",
    "immunization_record",
    "observation_record",
    "vitals_check",
]
