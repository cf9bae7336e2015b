"""Small helpers shared by the people tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.forms.models import model_to_dict

from bienestar.access.models import AuditEvent
from bienestar.people.curp import check_digit
from bienestar.people.models import Person, PersonChange, PersonIdentifier
from bienestar.people.services import IdentifierInput, PersonInput


def make_curp(first17: str) -> str:
    """A structurally valid CURP with the right check digit (synthetic, for tests only)."""
    return first17 + check_digit(first17)


CURP_JOSE = make_curp("LOHJ800517HOCPRS0")
CURP_ANA = make_curp("PEGA920101MOCRRN0")


def person_input(
    territory_path: str = "MX.20.067", *, curp: str | None = CURP_ANA, **overrides: Any
) -> PersonInput:
    data: dict[str, Any] = {
        "given_names": "Ana",
        "first_surname": "Pérez",
        "second_surname": "García",
        "sex": "F",
        "birth_date": dt.date(1992, 1, 1),
        "territory_path": territory_path,
        "identifiers": [IdentifierInput(system="curp", value=curp)] if curp else [],
    }
    data.update(overrides)
    return PersonInput(**data)


def snapshot(person: Person) -> dict[str, Any]:
    """Everything observable about a person and the logs around it, to compare before/after a refusal."""
    row = Person.objects.get(pk=person.pk)
    return {
        "row": {**model_to_dict(row), "updated_at": row.updated_at, "status": row.status},
        "changes": PersonChange.objects.filter(person=person).count(),
        "identifiers": list(
            PersonIdentifier.objects.filter(person=person).values_list("system", "value")
        ),
        "audit": AuditEvent.objects.count(),
    }


def counts() -> dict[str, int]:
    return {
        "persons": Person.objects.count(),
        "identifiers": PersonIdentifier.objects.count(),
        "changes": PersonChange.objects.count(),
        "audit": AuditEvent.objects.count(),
    }
