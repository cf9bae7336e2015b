"""Reads for the field: the worker's work list (with a day's route) and one household's file.
Both disclose personal data and write one audit row naming what they showed."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Case, IntegerField, Q, Value, When
from django.utils import timezone

from bienestar.access.actor import Actor
from bienestar.access.audit import audit_record
from bienestar.access.models import AuditAction
from bienestar.households.models import Household, HouseholdMember
from bienestar.outreach.models import (
    Flag,
    HouseholdProfile,
    MemberProfile,
    Screening,
    Sector,
    Task,
    TaskStatus,
    Visit,
)
from bienestar.outreach.rules import TASK_KINDS, profile_missing
from bienestar.outreach.scope import field_household, field_households, worker_sectors

MAX_HOUSEHOLDS = 2_000


WORK_FIELDS = (
    "public_id",
    "kind",
    "rule_code",
    "rule_version",
    "flag",
    "priority_score",
    "status",
    "due_date",
    "window_end",
    "household_id",
    "household__public_id",
    "household__address_line",
    "household__latitude",
    "household__longitude",
    "household__territory__code",
    "person_id",
    "person__public_id",
    "person__given_names",
    "person__first_surname",
    "sector__code",
)


@dataclass(frozen=True)
class WorkCode:
    code: str


@dataclass(frozen=True)
class WorkPerson:
    public_id: Any
    given_names: str
    first_surname: str


@dataclass(frozen=True)
class WorkHousehold:
    id: int
    public_id: Any
    address_line: str
    latitude: Any
    longitude: Any
    territory: WorkCode


@dataclass(frozen=True)
class WorkTask:
    public_id: Any
    kind: str
    rule_code: str
    rule_version: int
    flag: str
    get_flag_display: str
    priority_score: int
    status: str
    due_date: dt.date
    window_end: dt.date
    person_id: int | None
    person: WorkPerson | None
    sector: WorkCode


@dataclass
class WorkItem:
    household: WorkHousehold
    tasks: list[WorkTask] = field(default_factory=list)
    overdue: bool = False
    best_flag: str = "routine"


@dataclass
class WorkList:
    items: list[WorkItem]
    sectors: list[Sector]
    kinds: dict[str, Any]
    total_tasks: int
    truncated: bool


def _urgency(today: dt.date) -> tuple[Any, Any]:
    flag_rank = Case(
        When(flag="urgent", then=Value(0)),
        When(flag="priority", then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    overdue = Case(
        When(due_date__lt=today, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    return flag_rank, overdue


def worklist(
    actor: Actor,
    *,
    sector_code: str = "",
    kind: str = "",
    route: bool = False,
    today: dt.date | None = None,
) -> WorkList:
    """Ready tasks of the worker's households: urgent first, then overdue, then by priority score
    (then due date); grouped by household in the order of each household's first task. `route`:
    households in nearest-neighbour order from the most urgent one instead."""
    today = today or timezone.localdate()
    households = field_households(actor)
    if sector_code:
        households = households.filter(territory__outreach_sector__code=sector_code)
    flag_rank, overdue = _urgency(today)
    tasks = (
        Task.objects.filter(status=TaskStatus.READY, household__in=households.values("id"))
        .annotate(flag_rank=flag_rank, overdue_rank=overdue)
        .order_by("flag_rank", "overdue_rank", "-priority_score", "due_date", "id")
    )
    if kind:
        tasks = tasks.filter(kind=kind)
    # Plain tuples, not model instances: a list of 2,000 households holds ~6,000 tasks, and
    # building five model objects per row was nine tenths of the time (bench worklist_p95_ms).
    rows = tasks.values_list(*WORK_FIELDS)
    flags = dict(Flag.choices)
    grouped: dict[int, WorkItem] = {}
    total = 0
    truncated = False
    for row in rows:
        r = dict(zip(WORK_FIELDS, row, strict=True))
        total += 1
        item = grouped.get(r["household_id"])
        if item is None:
            if len(grouped) >= MAX_HOUSEHOLDS:
                truncated = True
                continue
            item = grouped[r["household_id"]] = WorkItem(
                household=WorkHousehold(
                    id=r["household_id"],
                    public_id=r["household__public_id"],
                    address_line=r["household__address_line"],
                    latitude=r["household__latitude"],
                    longitude=r["household__longitude"],
                    territory=WorkCode(code=r["household__territory__code"]),
                ),
                best_flag=r["flag"],
            )
        person = (
            WorkPerson(
                public_id=r["person__public_id"],
                given_names=r["person__given_names"],
                first_surname=r["person__first_surname"],
            )
            if r["person_id"]
            else None
        )
        item.tasks.append(
            WorkTask(
                public_id=r["public_id"],
                kind=r["kind"],
                rule_code=r["rule_code"],
                rule_version=r["rule_version"],
                flag=r["flag"],
                get_flag_display=str(flags.get(r["flag"], r["flag"])),
                priority_score=r["priority_score"],
                status=r["status"],
                due_date=r["due_date"],
                window_end=r["window_end"],
                person_id=r["person_id"],
                person=person,
                sector=WorkCode(code=r["sector__code"]),
            )
        )
        item.overdue = item.overdue or r["due_date"] < today
    items = list(grouped.values())
    if route:
        items = route_order(items)
    audit_record(
        actor,
        action=AuditAction.SEARCH,
        resource_type="Household",
        query={"worklist": True, "sector": sector_code, "kind": kind, "route": route},
        result_ids=[str(i.household.public_id) for i in items]
        + sorted({str(t.person.public_id) for i in items for t in i.tasks if t.person is not None}),
    )
    return WorkList(
        items=items,
        sectors=list(worker_sectors(actor).order_by("code")),
        kinds=TASK_KINDS,
        total_tasks=total,
        truncated=truncated,
    )


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat = math.radians((a[0] + b[0]) / 2)
    return math.hypot((a[0] - b[0]) * 110.57, (a[1] - b[1]) * 111.32 * math.cos(lat))


def route_order(items: list[WorkItem]) -> list[WorkItem]:
    """Nearest neighbour from the first (most urgent) household; households without coordinates
    keep their order at the end."""
    located = [
        i for i in items if i.household.latitude is not None and i.household.longitude is not None
    ]
    unlocated = [i for i in items if i not in located]
    if not located:
        return items
    route = [located.pop(0)]
    while located:
        here = (float(route[-1].household.latitude or 0), float(route[-1].household.longitude or 0))
        nearest = min(
            range(len(located)),
            key=lambda k: _km(
                here,
                (
                    float(located[k].household.latitude or 0),
                    float(located[k].household.longitude or 0),
                ),
            ),
        )
        route.append(located.pop(nearest))
    return route + unlocated


@dataclass
class HouseholdFile:
    household: Household
    sector: Sector
    profile: HouseholdProfile | None
    missing: list[str]
    members: list[HouseholdMember]
    member_profiles: dict[int, MemberProfile]
    visits: list[Visit]
    screenings: list[Screening]
    tasks: list[Task]


def household_file(actor: Actor, *, public_id: Any) -> HouseholdFile:
    """One household with its characterisation (and what is missing), members, visits, screenings
    and tasks. One audit row names the household and every person shown."""
    household = field_household(actor, public_id=public_id)
    scope = actor.scope_path or "\x00"
    members = list(
        HouseholdMember.objects.filter(household=household, until__isnull=True)
        .filter(
            Q(person__territory__path=scope) | Q(person__territory__path__startswith=scope + ".")
        )
        .select_related("person")
        .order_by("since", "id")
    )
    person_ids = [m.person_id for m in members]
    profile = HouseholdProfile.objects.filter(household=household).first()
    result = HouseholdFile(
        household=household,
        sector=household.territory.outreach_sector,
        profile=profile,
        missing=profile_missing(profile),
        members=members,
        member_profiles={
            p.person_id: p for p in MemberProfile.objects.filter(person_id__in=person_ids)
        },
        visits=list(Visit.objects.filter(household=household).order_by("-device_time")[:20]),
        screenings=list(
            Screening.objects.filter(household=household, person_id__in=person_ids)
            .select_related("person")
            .order_by("-device_time")[:50]
        ),
        tasks=list(
            Task.objects.filter(household=household)
            .select_related("person")
            .order_by("status", "due_date", "id")[:50]
        ),
    )
    audit_record(
        actor,
        action=AuditAction.READ,
        resource_type="Household",
        resource_id=str(household.public_id),
        query={"outreach_file": True},
        result_ids=[str(m.person.public_id) for m in members],
    )
    return result
