"""Shapes of the facilities API. Built from rows already loaded; nothing here queries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from uuid import UUID

from ninja import Schema

from bienestar.facilities.models import Facility, OpeningHours


class TerritoryRef(Schema):
    path: str
    name: str


class FacilityRef(Schema):
    public_id: UUID
    clues: str | None
    name: str


class FacilityOut(Schema):
    public_id: UUID
    clues: str | None
    other_code: str
    name: str
    institution: str
    facility_type: str
    level_of_care: int
    territory: TerritoryRef
    parent: FacilityRef | None
    latitude: Decimal | None
    longitude: Decimal | None
    beds: int
    consulting_rooms: int
    operating_rooms: int
    delivery_rooms: int
    open_24_hours: bool
    open_7_days: bool
    in_operation: bool


class OpeningHoursOut(Schema):
    weekday: int
    opens: dt.time
    closes: dt.time


class FacilityDetailOut(FacilityOut):
    address: str
    opening_hours: list[OpeningHoursOut]
    source: str
    updated_at: dt.datetime


class FacilityPage(Schema):
    count: int | None
    limit: int
    offset: int
    next: str | None
    items: list[FacilityOut]


def facility_ref(f: Facility) -> dict[str, Any]:
    return {"public_id": f.public_id, "clues": f.clues, "name": f.name}


def facility_out(f: Facility) -> dict[str, Any]:
    return {
        "public_id": f.public_id,
        "clues": f.clues,
        "other_code": f.other_code,
        "name": f.name,
        "institution": f.institution,
        "facility_type": f.facility_type,
        "level_of_care": f.level_of_care,
        "territory": {"path": f.territory.path, "name": f.territory.name},
        "parent": facility_ref(f.parent) if f.parent else None,
        "latitude": f.latitude,
        "longitude": f.longitude,
        "beds": f.beds,
        "consulting_rooms": f.consulting_rooms,
        "operating_rooms": f.operating_rooms,
        "delivery_rooms": f.delivery_rooms,
        "open_24_hours": f.open_24_hours,
        "open_7_days": f.open_7_days,
        "in_operation": f.in_operation,
    }


def opening_hours_out(h: OpeningHours) -> dict[str, Any]:
    return {"weekday": h.weekday, "opens": h.opens, "closes": h.closes}


def facility_detail_out(f: Facility) -> dict[str, Any]:
    return {
        **facility_out(f),
        "address": f.address,
        "source": f.source,
        "updated_at": f.updated_at,
        # Loaded by the selector's prefetch; `.all()` reuses it.
        "opening_hours": [opening_hours_out(h) for h in f.opening_hours.all()],
    }
