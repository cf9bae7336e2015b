"""Shapes of the workforce API. Built from rows already loaded; nothing here queries."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from ninja import Schema

from bienestar.facilities.schemas import FacilityRef
from bienestar.workforce.models import Position, Practitioner, Specialty
from bienestar.workforce.selectors import StaffingLine


class SpecialtyOut(Schema):
    public_id: UUID
    code: str
    name: str
    name_en: str
    is_core: bool
    is_medical: bool


class SpecialtyRef(Schema):
    code: str
    name: str


class PractitionerOut(Schema):
    public_id: UUID
    given_names: str
    first_surname: str
    second_surname: str
    licence_number: str
    active: bool
    specialties: list[SpecialtyRef]


class PractitionerRef(Schema):
    public_id: UUID
    name: str
    licence_number: str


class PractitionerPage(Schema):
    count: int | None
    limit: int
    offset: int
    next: str | None
    items: list[PractitionerOut]


class PositionOut(Schema):
    public_id: UUID
    specialty: SpecialtyRef
    practitioner: PractitionerRef | None
    filled: bool
    since: dt.date
    shift: str


class StaffingLineOut(Schema):
    specialty: SpecialtyRef
    goal: int | None
    positions: int
    filled: int
    vacant: int
    gap: int | None


class StaffingOut(Schema):
    facility: FacilityRef
    goal: int
    filled: int
    lines: list[StaffingLineOut]


def specialty_out(s: Specialty) -> dict[str, Any]:
    return {
        "public_id": s.public_id,
        "code": s.code,
        "name": s.name,
        "name_en": s.name_en,
        "is_core": s.is_core,
        "is_medical": s.is_medical,
    }


def specialty_ref(s: Specialty) -> dict[str, Any]:
    return {"code": s.code, "name": s.name}


def practitioner_out(p: Practitioner) -> dict[str, Any]:
    return {
        "public_id": p.public_id,
        "given_names": p.given_names,
        "first_surname": p.first_surname,
        "second_surname": p.second_surname,
        "licence_number": p.licence_number,
        "active": p.active,
        # Prefetched by the selector.
        "specialties": [specialty_ref(s) for s in p.specialties.all()],
    }


def position_out(p: Position) -> dict[str, Any]:
    practitioner = p.practitioner
    return {
        "public_id": p.public_id,
        "specialty": specialty_ref(p.specialty),
        "practitioner": (
            {
                "public_id": practitioner.public_id,
                "name": str(practitioner),
                "licence_number": practitioner.licence_number,
            }
            if practitioner is not None
            else None
        ),
        "filled": practitioner is not None,
        "since": p.since,
        "shift": p.shift,
    }


def staffing_line_out(line: StaffingLine) -> dict[str, Any]:
    return {
        "specialty": specialty_ref(line.specialty),
        "goal": line.goal,
        "positions": line.positions,
        "filled": line.filled,
        "vacant": line.vacant,
        "gap": line.gap,
    }
