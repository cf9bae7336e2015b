"""Versioned task rules and their (idempotent) evaluation.

Each rule says when it applies (to which triggering event), the task's kind, flag, priority score,
due date and window, and when the task is resolved. A task's id is a UUIDv5 of (subject, rule,
triggering event), so recomputing — twice, from two workers, or on a device — yields the same id;
`INSERT … ON CONFLICT DO NOTHING` on the unique `public_id` keeps exactly one row.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bienestar.core.sql import insert_sql
from bienestar.households.models import Household, HouseholdMember
from bienestar.outreach import scoring
from bienestar.outreach.models import (
    HouseholdProfile,
    MemberProfile,
    Screening,
    Task,
    TaskEvent,
    TaskStatus,
    Visit,
)

TASK_NAMESPACE = uuid.UUID(
    "2f6c7a1e-8d3b-5c4a-9e1f-6b0d4a7c3e21"
)  # fixed forever: ids depend on it


def task_id(subject: str, rule_code: str, trigger: str) -> uuid.UUID:
    return uuid.uuid5(TASK_NAMESPACE, f"{subject}|{rule_code}|{trigger}")


TASK_KINDS = {
    "urgent_referral": _("Remitir hoy (urgente)"),
    "diabetes_referral": _("Remitir por riesgo de diabetes"),
    "bp_confirm": _("Confirmar la presión otro día"),
    "mental_health_followup": _("Seguimiento de salud mental"),
    "nutrition_followup": _("Seguimiento nutricional"),
    "anc_enrolment": _("Llevar a control prenatal"),
    "revisit": _("Volver a visitar"),
    "complete_characterisation": _("Completar la caracterización"),
}


@dataclass(frozen=True)
class Candidate:
    rule_code: str
    rule_version: int
    kind: str
    flag: str
    priority_score: int
    subject: str
    trigger: str
    person_id: int | None
    due_date: dt.date
    window_days: int


@dataclass
class Context:
    household: Household
    today: dt.date
    profile: HouseholdProfile | None
    members: list[HouseholdMember]
    member_profiles: dict[int, MemberProfile]
    screenings: list[Screening]  # oldest first
    visits: list[Visit]  # oldest first


@dataclass(frozen=True)
class Rule:
    code: str
    version: int
    candidates: Callable[[Context], Iterator[Candidate]]
    resolved: Callable[[Context, Task], bool]


def _never(_ctx: Context, _task: Task) -> bool:
    return False


def _later_screening_clears(ctx: Context, task: Task) -> bool:
    """Resolved when a later screening of the same person and kind no longer flags."""
    trigger = next((s for s in ctx.screenings if f"screening:{s.public_id}" == task.trigger), None)
    if trigger is None:
        return False
    return any(
        s.person_id == trigger.person_id
        and s.kind == trigger.kind
        and s.device_time > trigger.device_time
        and s.flag == scoring.ROUTINE
        for s in ctx.screenings
    )


def _screening_rule(
    code: str,
    kind: str,
    flag: str,
    score: int,
    days: int,
    window: int,
    test: Callable[[Screening], bool],
) -> Rule:
    def candidates(ctx: Context) -> Iterator[Candidate]:
        for s in ctx.screenings:
            if test(s):
                yield Candidate(
                    rule_code=code,
                    rule_version=1,
                    kind=kind,
                    flag=flag,
                    priority_score=score,
                    subject=str(s.person.public_id),
                    trigger=f"screening:{s.public_id}",
                    person_id=s.person_id,
                    due_date=s.device_time.date() + dt.timedelta(days=days),
                    window_days=window,
                )

    return Rule(code=code, version=1, candidates=candidates, resolved=_later_screening_clears)


def _anc(ctx: Context) -> Iterator[Candidate]:
    for member in ctx.members:
        p = ctx.member_profiles.get(member.person_id)
        if p is None or not p.pregnant or p.last_menstrual_period is None:
            continue
        due = scoring.antenatal_contacts_due(
            last_menstrual_period=p.last_menstrual_period, on=ctx.today
        )
        if (p.antenatal_contacts or 0) < max(due, 1):
            yield Candidate(
                rule_code="ANC-ENROL",
                rule_version=1,
                kind="anc_enrolment",
                flag=scoring.PRIORITY,
                priority_score=70,
                subject=str(member.person.public_id),
                trigger=f"pregnancy:{p.last_menstrual_period.isoformat()}",
                person_id=member.person_id,
                due_date=ctx.today + dt.timedelta(days=7),
                window_days=14,
            )


def _anc_resolved(ctx: Context, task: Task) -> bool:
    p = ctx.member_profiles.get(task.person_id or 0)
    if p is None or not p.pregnant or p.last_menstrual_period is None:
        return True
    due = scoring.antenatal_contacts_due(
        last_menstrual_period=p.last_menstrual_period, on=ctx.today
    )
    return (p.antenatal_contacts or 0) >= max(due, 1)


def _revisit(ctx: Context) -> Iterator[Candidate]:
    for v in ctx.visits:
        if v.outcome == "absent":
            yield Candidate(
                rule_code="REVISIT-ABSENT",
                rule_version=1,
                kind="revisit",
                flag=scoring.ROUTINE,
                priority_score=30,
                subject=str(ctx.household.public_id),
                trigger=f"visit:{v.public_id}",
                person_id=None,
                due_date=v.device_time.date() + dt.timedelta(days=2),
                window_days=14,
            )


def _revisit_resolved(ctx: Context, task: Task) -> bool:
    trigger = next((v for v in ctx.visits if f"visit:{v.public_id}" == task.trigger), None)
    return trigger is not None and any(
        v.device_time > trigger.device_time and v.outcome == "contacted" for v in ctx.visits
    )


PROFILE_FIELDS = (
    "ventilation_light",
    "overcrowding",
    "water_source",
    "excreta_disposal",
    "waste_disposal",
    "cooking_fuel",
    "family_apgar",
    "wellbeing_plan_agreed",
)


def profile_missing(profile: HouseholdProfile | None) -> list[str]:
    """The characterisation fields still empty (all of them when there is no profile)."""
    if profile is None:
        return [*PROFILE_FIELDS, "consent"]
    missing = [f for f in PROFILE_FIELDS if getattr(profile, f) in (None, "")]
    if profile.consent == "pending":
        missing.append("consent")
    return missing


def _characterise(ctx: Context) -> Iterator[Candidate]:
    contacted = [v for v in ctx.visits if v.outcome == "contacted"]
    if (
        contacted
        and profile_missing(ctx.profile)
        and (ctx.profile is None or ctx.profile.consent != "refused")
    ):
        yield Candidate(
            rule_code="CHARACTERISE",
            rule_version=1,
            kind="complete_characterisation",
            flag=scoring.ROUTINE,
            priority_score=20,
            subject=str(ctx.household.public_id),
            trigger=f"household:{ctx.household.public_id}",
            person_id=None,
            due_date=contacted[0].device_time.date() + dt.timedelta(days=14),
            window_days=30,
        )


def _characterised(ctx: Context, _task: Task) -> bool:
    return not profile_missing(ctx.profile) or (
        ctx.profile is not None and ctx.profile.consent == "refused"
    )


def _flag(kind: str, flag: str) -> Callable[[Screening], bool]:
    return lambda s: s.kind == kind and s.flag == flag


RULES: tuple[Rule, ...] = (
    _screening_rule(
        "URGENT-REFERRAL",
        "urgent_referral",
        scoring.URGENT,
        100,
        0,
        1,
        lambda s: s.flag == scoring.URGENT,
    ),
    _screening_rule(
        "FINDRISC-REFERRAL",
        "diabetes_referral",
        scoring.PRIORITY,
        60,
        7,
        30,
        lambda s: s.kind == "findrisc" and bool(s.result.get("referral")),
    ),
    _screening_rule(
        "BP-CONFIRM",
        "bp_confirm",
        scoring.PRIORITY,
        65,
        1,
        14,
        lambda s: s.kind == "blood_pressure" and bool(s.result.get("confirm_another_day")),
    ),
    _screening_rule(
        "PHQ2-FOLLOWUP",
        "mental_health_followup",
        scoring.PRIORITY,
        55,
        7,
        14,
        _flag("phq2", scoring.PRIORITY),
    ),
    _screening_rule(
        "GROWTH-FOLLOWUP",
        "nutrition_followup",
        scoring.PRIORITY,
        75,
        7,
        14,
        _flag("child_growth", scoring.PRIORITY),
    ),
    Rule(code="ANC-ENROL", version=1, candidates=_anc, resolved=_anc_resolved),
    Rule(code="REVISIT-ABSENT", version=1, candidates=_revisit, resolved=_revisit_resolved),
    Rule(code="CHARACTERISE", version=1, candidates=_characterise, resolved=_characterised),
)
RULES_BY_CODE = {r.code: r for r in RULES}


def _context(household: Household, today: dt.date) -> Context:
    members = list(
        HouseholdMember.objects.filter(household=household, until__isnull=True).select_related(
            "person"
        )
    )
    return Context(
        household=household,
        today=today,
        profile=HouseholdProfile.objects.filter(household=household).first(),
        members=members,
        member_profiles={
            p.person_id: p
            for p in MemberProfile.objects.filter(person_id__in=[m.person_id for m in members])
        },
        screenings=list(
            Screening.objects.filter(household=household)
            .select_related("person")
            .order_by("device_time", "id")
        ),
        visits=list(Visit.objects.filter(household=household).order_by("device_time", "id")),
    )


@dataclass(frozen=True)
class Recomputed:
    created: int
    resolved: int


@transaction.atomic
def tasks_recompute(
    *, household: Household, sector_id: int, by: Any = None, today: dt.date | None = None
) -> Recomputed:
    """Evaluate every rule on one household: insert the tasks that do not exist yet (by their
    deterministic id; a concurrent insert of the same task is skipped by the unique constraint)
    and complete the ready tasks whose resolved-if now holds, with a history row each. Running it
    again changes nothing."""
    today = today or timezone.localdate()
    ctx = _context(household, today)
    now = timezone.now()
    candidates = {
        task_id(c.subject, c.rule_code, c.trigger): c
        for rule in RULES
        for c in rule.candidates(ctx)
    }
    rows = [
        Task(
            public_id=tid,
            rule_code=c.rule_code,
            rule_version=c.rule_version,
            kind=c.kind,
            trigger=c.trigger,
            household=household,
            person_id=c.person_id,
            sector_id=sector_id,
            flag=c.flag,
            priority_score=c.priority_score,
            status=TaskStatus.READY,
            due_date=c.due_date,
            window_end=c.due_date + dt.timedelta(days=c.window_days),
        )
        for tid, c in candidates.items()
    ]
    inserted: list[int] = []
    if rows:
        sql, params = insert_sql(rows)
        with connection.cursor() as cursor:
            # Only the rows this call really inserted come back: a task computed before, or by a
            # concurrent recomputation, is skipped by the unique public_id and gets no new event.
            cursor.execute(sql + " ON CONFLICT (public_id) DO NOTHING RETURNING id", params)
            inserted = [r[0] for r in cursor.fetchall()]
    TaskEvent.objects.bulk_create(
        [
            TaskEvent(
                task_id=i, at=now, from_status="", to_status=TaskStatus.READY, by=by, reason="rule"
            )
            for i in inserted
        ]
    )
    resolved = 0
    for task in Task.objects.select_for_update().filter(
        household=household, status=TaskStatus.READY
    ):
        rule = RULES_BY_CODE.get(task.rule_code)
        if rule is not None and rule.resolved(ctx, task):
            task.status = TaskStatus.COMPLETED
            task.save(update_fields=["status", "updated_at"])
            TaskEvent.objects.create(
                task=task,
                at=now,
                from_status=TaskStatus.READY,
                to_status=TaskStatus.COMPLETED,
                by=by,
                reason=f"resolved-if {task.rule_code} v{rule.version}",
            )
            resolved += 1
    return Recomputed(created=len(inserted), resolved=resolved)
