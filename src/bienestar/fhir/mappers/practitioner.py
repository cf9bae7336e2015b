"""Practitioner ↔ workforce.Practitioner, and PractitionerRole ↔ workforce.Position (read only)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bienestar.fhir import systems
from bienestar.fhir.mappers.common import (
    coding,
    concept,
    date,
    derived_version,
    human_name,
    meta,
    reference,
)
from bienestar.workforce.models import Position, Practitioner, Specialty


def specialty_concept(specialty: Specialty) -> dict[str, Any]:
    return concept(coding(systems.SPECIALTY, specialty.code, specialty.name), text=specialty.name)


def practitioner_to_fhir(
    practitioner: Practitioner, *, specialties: Sequence[Specialty]
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Practitioner",
        "id": str(practitioner.public_id),
        "meta": meta(derived_version(practitioner.updated_at), practitioner.updated_at),
        "identifier": [
            {
                "use": "official",
                "system": systems.PROFESSIONAL_LICENCE,
                "value": practitioner.licence_number,
            }
        ],
        "active": practitioner.active,
        "name": [
            human_name(
                practitioner.given_names, practitioner.first_surname, practitioner.second_surname
            )
        ],
    }
    if specialties:
        resource["qualification"] = [{"code": specialty_concept(s)} for s in specialties]
    return resource


def position_to_fhir(position: Position) -> dict[str, Any]:
    """A position (plaza) at a facility: filled (active, with its practitioner) or vacant."""
    resource: dict[str, Any] = {
        "resourceType": "PractitionerRole",
        "id": str(position.public_id),
        "meta": meta(derived_version(position.updated_at), position.updated_at),
        "active": position.practitioner_id is not None,
        "period": {"start": date(position.since)},
    }
    if position.practitioner is not None:
        resource["practitioner"] = reference(
            "Practitioner", position.practitioner.public_id, str(position.practitioner)
        )
    resource["organization"] = reference(
        "Organization", position.facility.public_id, position.facility.name
    )
    resource["specialty"] = [specialty_concept(position.specialty)]
    resource["location"] = [
        reference("Location", position.facility.public_id, position.facility.name)
    ]
    return resource
