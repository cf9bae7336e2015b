"""Shapes of the households API. Check shape only; nothing here queries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from uuid import UUID

from ninja import Field, Schema

from bienestar.core.api import NO_NUL
from bienestar.households.models import Household, HouseholdMember, Relationship
from bienestar.territories.api import PATH_PATTERN


class TerritoryRef(Schema):
    path: str
    name: str


class HouseholdOut(Schema):
    public_id: UUID
    territory: TerritoryRef
    address_line: str
    neighbourhood: str
    postal_code: str
    latitude: Decimal | None
    longitude: Decimal | None
    rooms: int | None
    dirt_floor: bool | None
    piped_water: bool | None
    drainage: bool | None
    electricity: bool | None
    monthly_income_band: str
    socioeconomic_stratum: int | None


class MemberOut(Schema):
    public_id: UUID
    person_public_id: UUID
    national_health_id: str
    full_name: str
    sex: str
    birth_date: dt.date
    relationship: Relationship
    since: dt.date | None
    until: dt.date | None


class HouseholdDetailOut(HouseholdOut):
    members: list[MemberOut]
    created_at: dt.datetime
    updated_at: dt.datetime


class HouseholdPage(Schema):
    count: int | None
    limit: int
    offset: int
    next: str | None
    items: list[HouseholdOut]


class HouseholdIn(Schema):
    territory: str = Field(..., max_length=120, pattern=PATH_PATTERN, examples=["MX.20.067"])
    address_line: str = Field("", max_length=250, pattern=NO_NUL)
    neighbourhood: str = Field("", max_length=120, pattern=NO_NUL)
    postal_code: str = Field("", max_length=10, pattern=NO_NUL)
    latitude: Decimal | None = Field(None, ge=-90, le=90, max_digits=9, decimal_places=6)
    longitude: Decimal | None = Field(None, ge=-180, le=180, max_digits=9, decimal_places=6)
    rooms: int | None = Field(None, ge=0, le=100)
    dirt_floor: bool | None = None
    piped_water: bool | None = None
    drainage: bool | None = None
    electricity: bool | None = None
    monthly_income_band: str = Field("", max_length=20, pattern=NO_NUL)
    socioeconomic_stratum: int | None = Field(None, ge=1, le=6)


class MemberIn(Schema):
    person: UUID = Field(..., description="public_id of the person")
    relationship: Relationship
    since: dt.date | None = None


class MemberEndIn(Schema):
    until: dt.date | None = None


def household_out(h: Household) -> dict[str, Any]:
    return {
        "public_id": h.public_id,
        "territory": {"path": h.territory.path, "name": h.territory.name},
        "address_line": h.address_line,
        "neighbourhood": h.neighbourhood,
        "postal_code": h.postal_code,
        "latitude": h.latitude,
        "longitude": h.longitude,
        "rooms": h.rooms,
        "dirt_floor": h.dirt_floor,
        "piped_water": h.piped_water,
        "drainage": h.drainage,
        "electricity": h.electricity,
        "monthly_income_band": h.monthly_income_band,
        "socioeconomic_stratum": h.socioeconomic_stratum,
    }


def member_out(m: HouseholdMember) -> dict[str, Any]:
    p = m.person
    return {
        "public_id": m.public_id,
        "person_public_id": p.public_id,
        "national_health_id": p.national_health_id,
        "full_name": p.full_name,
        "sex": p.sex,
        "birth_date": p.birth_date,
        "relationship": m.relationship,
        "since": m.since,
        "until": m.until,
    }
