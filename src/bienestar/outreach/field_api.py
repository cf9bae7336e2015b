"""Outreach JSON API for field work: the work list, a household's file, visits, screenings,
characterisation, and teams. Same services and selectors as the pages (one rule, one place)."""

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
from bienestar.core.errors import ValidationFailed
from bienestar.outreach import field as services
from bienestar.outreach import field_selectors as selectors
from bienestar.outreach.scope import field_household

router = Router(tags=["outreach"])


class TaskOut(Schema):
    id: UUID
    kind: str
    rule: str
    rule_version: int
    flag: str
    priority_score: int
    status: str
    due_date: dt.date
    window_end: dt.date
    person: UUID | None
    sector: str
    overdue: bool


class WorkHouseholdOut(Schema):
    household: UUID
    address: str
    sector: str
    latitude: Decimal | None
    longitude: Decimal | None
    overdue: bool
    tasks: list[TaskOut]


class WorkListOut(Schema):
    total_tasks: int
    truncated: bool
    households: list[WorkHouseholdOut]


def _task(t: Any, today: dt.date) -> dict[str, Any]:
    return {
        "id": t.public_id,
        "kind": t.kind,
        "rule": t.rule_code,
        "rule_version": t.rule_version,
        "flag": t.flag,
        "priority_score": t.priority_score,
        "status": t.status,
        "due_date": t.due_date,
        "window_end": t.window_end,
        "person": t.person.public_id if t.person_id else None,
        "sector": t.sector.code,
        "overdue": t.due_date < today,
    }


@router.get(
    "/worklist",
    response=WorkListOut,
    summary="The caller's work list (urgent, overdue, priority; grouped by household)",
    openapi_extra=reads("Task"),
)
def worklist(
    request: HttpRequest,
    sector: str = Query("", max_length=10, pattern=r"^[0-9A-Za-z]*$"),
    kind: str = Query("", max_length=30, pattern=r"^[a-z_]*$"),
    route: bool = False,
) -> dict[str, Any]:
    from django.utils import timezone

    today = timezone.localdate()
    work = selectors.worklist(request_actor(request), sector_code=sector, kind=kind, route=route)
    return {
        "total_tasks": work.total_tasks,
        "truncated": work.truncated,
        "households": [
            {
                "household": i.household.public_id,
                "address": i.household.address_line,
                "sector": i.tasks[0].sector.code,
                "latitude": i.household.latitude,
                "longitude": i.household.longitude,
                "overdue": i.overdue,
                "tasks": [_task(t, today) for t in i.tasks],
            }
            for i in work.items
        ],
    }


class ScreeningOut(Schema):
    id: UUID
    person: UUID
    kind: str
    scoring_version: str
    inputs: dict[str, Any]
    result: dict[str, Any]
    flag: str
    device_time: dt.datetime
    server_time: dt.datetime


class VisitOut(Schema):
    id: UUID
    setting: str
    outcome: str
    device_time: dt.datetime
    server_time: dt.datetime


class MemberOut(Schema):
    person: UUID
    given_names: str
    first_surname: str
    relationship: str


class HouseholdFileOut(Schema):
    id: UUID
    address: str
    sector: str
    consent: str
    characterisation_missing: list[str]
    partial: bool
    members: list[MemberOut]
    visits: list[VisitOut]
    screenings: list[ScreeningOut]
    tasks: list[TaskOut]


def _screening(s: Any) -> dict[str, Any]:
    return {
        "id": s.public_id,
        "person": s.person.public_id,
        "kind": s.kind,
        "scoring_version": s.scoring_version,
        "inputs": s.inputs,
        "result": s.result,
        "flag": s.flag,
        "device_time": s.device_time,
        "server_time": s.server_time,
    }


def _visit(v: Any) -> dict[str, Any]:
    return {
        "id": v.public_id,
        "setting": v.setting,
        "outcome": v.outcome,
        "device_time": v.device_time,
        "server_time": v.server_time,
    }


@router.get(
    "/households/{public_id}",
    response=HouseholdFileOut,
    summary="A household's outreach file",
    openapi_extra=reads("Group"),
)
def household_file(request: HttpRequest, public_id: UUID) -> dict[str, Any]:
    from django.utils import timezone

    x = selectors.household_file(request_actor(request), public_id=public_id)
    today = timezone.localdate()
    return {
        "id": x.household.public_id,
        "address": x.household.address_line,
        "sector": x.sector.code,
        "consent": x.profile.consent if x.profile else "pending",
        "characterisation_missing": x.missing,
        "partial": bool(x.missing),
        "members": [
            {
                "person": m.person.public_id,
                "given_names": m.person.given_names,
                "first_surname": m.person.first_surname,
                "relationship": m.relationship,
            }
            for m in x.members
        ],
        "visits": [_visit(v) for v in x.visits],
        "screenings": [_screening(s) for s in x.screenings],
        "tasks": [_task(t, today) for t in x.tasks],
    }


class VisitIn(Schema):
    id: UUID | None = Field(default=None, description="UUID generated by the device (retry-safe)")
    setting: str = Field(max_length=15)
    outcome: str = Field(max_length=10)
    device_time: dt.datetime


@router.post(
    "/households/{public_id}/visits",
    response={201: VisitOut},
    summary="Record a visit (idempotent by its UUID)",
    openapi_extra=writes("Encounter"),
)
def visit_create(request: HttpRequest, public_id: UUID, payload: VisitIn) -> Status[dict[str, Any]]:
    actor = request_actor(request)
    visit = services.visit_record(
        actor,
        household=field_household(actor, public_id=public_id),
        setting=payload.setting,
        outcome=payload.outcome,
        device_time=payload.device_time,
        public_id=payload.id,
    )
    return Status(201, _visit(visit))


class ScreeningIn(Schema):
    id: UUID | None = Field(default=None, description="UUID generated by the device (retry-safe)")
    person: UUID
    kind: str = Field(max_length=20)
    inputs: dict[str, Any]
    device_time: dt.datetime


@router.post(
    "/households/{public_id}/screenings",
    response={201: ScreeningOut},
    summary="Record a screening: scored, flagged, tasks recomputed",
    openapi_extra=writes("Observation"),
)
def screening_create(
    request: HttpRequest, public_id: UUID, payload: ScreeningIn
) -> Status[dict[str, Any]]:
    actor = request_actor(request)
    x = selectors.household_file(actor, public_id=public_id)
    person = next((m.person for m in x.members if m.person.public_id == payload.person), None)
    if person is None:
        raise ValidationFailed("person", field="person")
    screening = services.screening_record(
        actor,
        household=x.household,
        person=person,
        kind=payload.kind,
        inputs=payload.inputs,
        device_time=payload.device_time,
        public_id=payload.id,
    )
    return Status(201, _screening(screening))


class ProfileIn(Schema):
    consent: str | None = Field(default=None, max_length=10)
    ventilation_light: bool | None = None
    overcrowding: bool | None = None
    water_source: str = Field(default="", max_length=20)
    excreta_disposal: str = Field(default="", max_length=20)
    waste_disposal: str = Field(default="", max_length=20)
    cooking_fuel: str = Field(default="", max_length=20)
    family_apgar: int | None = Field(default=None, ge=0, le=20)
    wellbeing_plan_agreed: bool | None = None


class ProfileOut(Schema):
    consent: str
    missing: list[str]
    partial: bool


@router.patch(
    "/households/{public_id}/profile",
    response=ProfileOut,
    summary="Record (part of) a household's characterisation and consent",
    openapi_extra=writes("Group"),
)
def profile_update(request: HttpRequest, public_id: UUID, payload: ProfileIn) -> dict[str, Any]:
    from bienestar.outreach.rules import profile_missing

    actor = request_actor(request)
    sent = payload.model_dump(exclude_unset=True)
    data = services.ProfileInput(**sent, fields_sent=set(sent))
    profile = services.household_profile_record(
        actor, household=field_household(actor, public_id=public_id), data=data
    )
    missing = profile_missing(profile)
    return {"consent": profile.consent, "missing": missing, "partial": bool(missing)}
