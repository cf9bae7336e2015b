"""Outreach JSON API (issue 12): sectors with their explained score, priority schemes and rollout
plans. Schemas check shape only; every rule is in planning.py / plan_selectors.py."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from bienestar.access.api_auth import request_actor
from bienestar.access.scopes import reads, writes
from bienestar.core.api import MAX_LIMIT, MAX_OFFSET, NO_NUL, page
from bienestar.outreach import plan_selectors, planning
from bienestar.outreach.models import PriorityScheme
from bienestar.territories.api import PATH_PATTERN
from bienestar.territories.selectors import within

router = Router(tags=["outreach"])


class TermOut(Schema):
    indicator: str
    label: str
    value: Decimal
    normalised: Decimal
    weight: Decimal
    points: Decimal


class SectorOut(Schema):
    public_id: UUID
    code: str
    name: str
    path: str
    area: str
    subnetwork: str | None
    estimated_population: int
    estimated_households: int
    score: Decimal | None
    tier: str
    phase: int | None
    coverage_status: str


class SectorDetailOut(SectorOut):
    geometry: dict[str, Any]
    scheme: str | None
    explained_score: Decimal | None
    explained_tier: str | None
    terms: list[TermOut]
    plan_phase: int | None
    plan_rank: int | None
    plan_reason: str | None


class SectorPage(Schema):
    count: int | None
    limit: int
    offset: int
    next: str | None
    items: list[SectorOut]


def _sector_out(s: Any) -> dict[str, Any]:
    return {
        "public_id": s.public_id,
        "code": s.code,
        "name": s.name,
        "path": s.territory.path,
        "area": s.area,
        "subnetwork": s.subnetwork.code if s.subnetwork_id else None,
        "estimated_population": s.estimated_population,
        "estimated_households": s.estimated_households,
        "score": s.score,
        "tier": s.tier,
        "phase": s.phase,
        "coverage_status": s.coverage_status,
    }


@router.get(
    "/sectors/",
    response=SectorPage,
    summary="Sectors (cadastral sectors, AGEB)",
    openapi_extra=reads("Location"),
)
def sector_list(
    request: HttpRequest,
    territory: str | None = Query(None, max_length=120, pattern=PATH_PATTERN),
    tier: str | None = Query(None, pattern="^(high|medium|low)$"),
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> dict[str, Any]:
    qs = plan_selectors.sectors_readable(request_actor(request))
    if territory:
        qs = qs.filter(within(territory, "territory__path"))
    if tier:
        qs = qs.filter(tier=tier)
    qs = qs.order_by("territory__path")
    rows = list(qs[offset : offset + limit])
    return page(
        request, items=[_sector_out(s) for s in rows], limit=limit, offset=offset, count=qs.count()
    )


@router.get(
    "/sectors/{public_id}",
    response=SectorDetailOut,
    summary="A sector, its score explained",
    openapi_extra=reads("Location"),
)
def sector_detail(request: HttpRequest, public_id: UUID) -> dict[str, Any]:
    actor = request_actor(request)
    sector = plan_selectors.sector_get(actor, public_id=public_id)
    x = plan_selectors.sector_explain(actor, sector=sector)
    return {
        **_sector_out(sector),
        "geometry": sector.geometry,
        "scheme": str(x.scheme) if x.scheme else None,
        "explained_score": x.score.score if x.score else None,
        "explained_tier": x.score.tier if x.score else None,
        "terms": [
            {
                "indicator": t.key,
                "label": t.label,
                "value": t.value,
                "normalised": t.normalised,
                "weight": t.weight,
                "points": t.contribution,
            }
            for t in (x.score.terms if x.score else ())
        ],
        "plan_phase": x.plan_row.phase if x.plan_row else None,
        "plan_rank": x.plan_row.rank if x.plan_row else None,
        "plan_reason": x.plan_row.reason if x.plan_row else None,
    }


class SchemeIn(Schema):
    name: str = Field(min_length=1, max_length=80, pattern=NO_NUL)
    preset: str = Field(max_length=20)
    weights: dict[str, Decimal]
    high_cutoff: Decimal = Field(default=Decimal("50"), ge=0, le=100)
    medium_cutoff: Decimal = Field(default=Decimal("39"), ge=0, le=100)
    notes: str = Field(default="", max_length=2000, pattern=NO_NUL)


class SchemeOut(Schema):
    public_id: UUID
    name: str
    version: int
    preset: str
    weights: dict[str, str]
    high_cutoff: Decimal
    medium_cutoff: Decimal
    published_at: dt.datetime
    published_by: str


def _scheme_out(s: PriorityScheme) -> dict[str, Any]:
    return {
        "public_id": s.public_id,
        "name": s.name,
        "version": s.version,
        "preset": s.preset,
        "weights": s.weights,
        "high_cutoff": s.high_cutoff,
        "medium_cutoff": s.medium_cutoff,
        "published_at": s.published_at,
        "published_by": s.published_by,
    }


@router.get(
    "/schemes/",
    response=list[SchemeOut],
    summary="Published priority schemes",
    openapi_extra=reads("PlanDefinition"),
)
def scheme_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [_scheme_out(s) for s in plan_selectors.schemes_list(request_actor(request))]


@router.post(
    "/schemes/",
    response={201: SchemeOut},
    summary="Publish a new scheme version",
    openapi_extra=writes("PlanDefinition"),
)
def scheme_publish(request: HttpRequest, payload: SchemeIn) -> Status[dict[str, Any]]:
    scheme = planning.scheme_publish(
        request_actor(request),
        name=payload.name,
        preset=payload.preset,
        weights=payload.weights,
        high_cutoff=payload.high_cutoff,
        medium_cutoff=payload.medium_cutoff,
        notes=payload.notes,
    )
    return Status(201, _scheme_out(scheme))


class PlanIn(Schema):
    territory: str = Field(max_length=120, pattern=PATH_PATTERN)
    scheme: UUID
    teams: int = Field(ge=1, le=5000)
    households_per_team_week: int = Field(ge=1, le=10000)
    start_date: dt.date
    name: str = Field(default="", max_length=120, pattern=NO_NUL)
    adopt: bool = False


class PhaseOut(Schema):
    phase: int
    sectors: int
    rural: int
    high: int
    population: int
    households: int
    first_week: int
    last_week: int
    characterised: int
    coverage_percent: Decimal


class PlanOut(Schema):
    public_id: UUID
    name: str
    territory: str
    scheme: str
    teams: int
    households_per_team_week: int
    start_date: dt.date
    phases: list[PhaseOut]


def _plan_out(request: HttpRequest, plan: Any) -> dict[str, Any]:
    phases = plan_selectors.plan_phases(request_actor(request), plan=plan)
    return {
        "public_id": plan.public_id,
        "name": plan.name,
        "territory": plan.territory.path,
        "scheme": str(plan.scheme),
        "teams": plan.teams,
        "households_per_team_week": plan.households_per_team_week,
        "start_date": plan.start_date,
        "phases": [{**p.__dict__, "coverage_percent": p.coverage} for p in phases],
    }


@router.post(
    "/plans/",
    response={201: PlanOut},
    summary="Make a rollout plan from a scheme",
    openapi_extra=writes("PlanDefinition"),
)
def plan_create(request: HttpRequest, payload: PlanIn) -> Status[dict[str, Any]]:
    actor = request_actor(request)
    scheme = plan_selectors.scheme_get(actor, public_id=payload.scheme)
    plan = planning.plan_create(
        actor,
        territory_path=payload.territory,
        scheme=scheme,
        teams=payload.teams,
        households_per_team_week=payload.households_per_team_week,
        start_date=payload.start_date,
        name=payload.name,
        adopt=payload.adopt,
    )
    return Status(201, _plan_out(request, plan))


@router.get(
    "/plans/{public_id}",
    response=PlanOut,
    summary="A rollout plan by phase",
    openapi_extra=reads("PlanDefinition"),
)
def plan_detail(request: HttpRequest, public_id: UUID) -> dict[str, Any]:
    plan = plan_selectors.plan_get(request_actor(request), public_id=public_id)
    return _plan_out(request, plan)


def _field_routes() -> None:
    from bienestar.outreach.field_api import router as field_router

    router.add_router("", field_router)


_field_routes()
