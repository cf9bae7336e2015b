"""Shapes of the territories API. Built from rows already loaded; nothing here queries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from uuid import UUID

from ninja import Schema

from bienestar.territories.models import PopulationDenominator, Territory


class SubnetworkOut(Schema):
    code: str
    name: str


class TerritoryOut(Schema):
    public_id: UUID
    kind: str
    code: str
    name: str
    path: str
    parent_path: str | None
    abbreviation: str
    area: str
    subnetwork: SubnetworkOut | None
    latitude: Decimal | None
    longitude: Decimal | None
    risk_class: str
    rollout_phase: int | None


class PopulationOut(Schema):
    year: int
    total: int
    male: int | None
    female: int | None
    uninsured: int | None
    source: str


class TerritoryDetailOut(TerritoryOut):
    populations: list[PopulationOut]
    updated_at: dt.datetime


class TerritoryPage(Schema):
    count: int | None
    limit: int
    offset: int
    next: str | None
    items: list[TerritoryOut]


def territory_out(t: Territory) -> dict[str, Any]:
    # The parent's path is the own path minus its last segment: no join needed.
    parent_path = t.path.rsplit(".", 1)[0] if "." in t.path else None
    return {
        "public_id": t.public_id,
        "kind": t.kind,
        "code": t.code,
        "name": t.name,
        "path": t.path,
        "parent_path": parent_path,
        "abbreviation": t.abbreviation,
        "area": t.area,
        "subnetwork": {"code": t.subnetwork.code, "name": t.subnetwork.name}
        if t.subnetwork
        else None,
        "latitude": t.latitude,
        "longitude": t.longitude,
        "risk_class": t.risk_class,
        "rollout_phase": t.rollout_phase,
    }


def population_out(p: PopulationDenominator) -> dict[str, Any]:
    return {
        "year": p.year,
        "total": p.total,
        "male": p.male,
        "female": p.female,
        "uninsured": p.uninsured,
        "source": p.source,
    }
