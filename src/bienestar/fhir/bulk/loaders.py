"""The loader of each resource type the bulk import writes (see rows.py for what every line goes
through), and the model whose public id tells that a line was imported already."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bienestar.clinical.models import (
    AllergyIntolerance,
    Condition,
    Encounter,
    Immunization,
    Observation,
)
from bienestar.fhir.bulk.load_clinical import load_conditions, load_encounters, load_observations
from bienestar.fhir.bulk.load_history import load_allergies, load_immunizations
from bienestar.fhir.bulk.load_patients import load_patients
from bienestar.fhir.bulk.rows import Batch, Item, Refused
from bienestar.people.models import Person

__all__ = ["LOADERS", "MODELS", "Batch", "Item", "Refused"]

LOADERS: dict[str, Callable[[Batch, list[Item]], None]] = {
    "Patient": load_patients,
    "Patient-merged": lambda batch, items: load_patients(batch, items, merged=True),
    "Encounter": load_encounters,
    "Condition": load_conditions,
    "Observation": load_observations,
    "AllergyIntolerance": load_allergies,
    "Immunization": load_immunizations,
}
MODELS: dict[str, Any] = {
    "Patient": Person,
    "Patient-merged": Person,
    "Encounter": Encounter,
    "Condition": Condition,
    "Observation": Observation,
    "AllergyIntolerance": AllergyIntolerance,
    "Immunization": Immunization,
}
