"""Medication ↔ a key of the national medicine catalogue (terminology.Medicine, read only).

The catalogue key (e.g. 010.000.5165.00) is both the Medication's id and its code in the
Cuadro Básico code system: it is public reference data, stable, and valid as a FHIR id.
"""

from __future__ import annotations

from typing import Any

from bienestar.fhir import systems
from bienestar.fhir.mappers.common import coding, concept, meta, reference
from bienestar.terminology.models import Medicine


def medicine_label(medicine: Medicine) -> str:
    return " ".join(p for p in (medicine.generic_name, medicine.strength, medicine.form) if p)


def medication_reference(medicine: Medicine) -> dict[str, Any]:
    return reference("Medication", medicine.key, medicine_label(medicine))


def medication_to_fhir(medicine: Medicine) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Medication",
        "id": medicine.key,
        # The catalogue has no change dates: it changes only when a new edition is loaded.
        "meta": meta("1", None),
        "code": concept(
            coding(systems.MEDICINE_CATALOGUE, medicine.key, medicine.generic_name),
            text=medicine_label(medicine),
        ),
        "status": "active",
    }
    if medicine.form:
        resource["form"] = {"text": medicine.form}
    return resource
