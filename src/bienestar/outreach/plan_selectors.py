"""Reads of the planning side: sectors, schemes, plans, projected and actual coverage, the map.

Sectors hold no personal data (estimates and indicators): any role with REGISTRY_READ may read
them, like territories; plans need OUTREACH_PLAN. Actual coverage counts characterised households
(aggregates only, no row disclosed).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import TruncWeek
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.access.errors import OutOfScope
from bienestar.access.permissions import require
from bienestar.access.roles import Permission
from bienestar.core.errors import ValidationFailed
from bienestar.outreach import priority
from bienestar.outreach.models import (
    HouseholdProfile,
    PlanSector,
    PriorityScheme,
    RolloutPlan,
    Sector,
)
from bienestar.outreach.planning import score_for
from bienestar.territories.selectors import within


def sectors_readable(actor: Actor) -> QuerySet[Sector]:
    require(actor, Permission.REGISTRY_READ)
    return Sector.objects.select_related("territory", "subnetwork", "scheme")


def sectors_for_map(actor: Actor, *, localidad: str = "") -> QuerySet[Sector]:
    """Bogotá's sectors (or one localidad's, by its 2-digit code) with what the map draws."""
    from bienestar.reference.bogota import DISTRICT_PATH, localidad_path

    path = (
        localidad_path(localidad) if localidad.isdigit() and len(localidad) == 2 else DISTRICT_PATH
    )
    require(actor, Permission.REGISTRY_READ)
    return Sector.objects.filter(within(path, "territory__path")).only(
        "public_id", "code", "name", "tier", "coverage_status", "geometry"
    )


def sector_get(actor: Actor, *, public_id: Any) -> Sector:
    sector = sectors_readable(actor).filter(public_id=public_id).first()
    if sector is None:
        raise OutOfScope()
    return sector


@dataclass(frozen=True)
class SectorExplanation:
    sector: Sector
    scheme: PriorityScheme | None
    score: priority.Score | None
    plan_row: PlanSector | None
    reason: str


def sector_explain(actor: Actor, *, sector: Sector) -> SectorExplanation:
    """Each indicator times its weight = points, the tier the cut-offs give, and the phase with its reason
    in the latest plan that holds the sector."""
    scheme = sector.scheme or PriorityScheme.objects.order_by("-published_at").first()
    row = (
        PlanSector.objects.filter(sector=sector)
        .select_related("plan__scheme")
        .order_by("-plan__created_at")
        .first()
    )
    if row is not None:
        scheme = row.plan.scheme
    score = score_for(sector, scheme) if scheme is not None else None
    reason = str(priority.REASONS.get(row.reason, "")) if row is not None else ""
    return SectorExplanation(sector=sector, scheme=scheme, score=score, plan_row=row, reason=reason)


def schemes_list(actor: Actor) -> list[PriorityScheme]:
    require(actor, Permission.REGISTRY_READ)
    return list(PriorityScheme.objects.order_by("name", "-version"))


def scheme_get(actor: Actor, *, public_id: Any) -> PriorityScheme:
    require(actor, Permission.REGISTRY_READ)
    scheme = PriorityScheme.objects.filter(public_id=public_id).first()
    if scheme is None:
        raise ValidationFailed(_("Esquema desconocido."), field="scheme")
    return scheme


def plan_latest(actor: Actor, *, territory_path: str | None = None) -> RolloutPlan | None:
    require(actor, Permission.OUTREACH_PLAN)
    scope = actor.scope_path
    if scope is None:
        return None
    qs = RolloutPlan.objects.select_related("scheme", "territory").filter(
        within(scope, "territory__path")
    )
    if territory_path:
        qs = qs.filter(territory__path=territory_path)
    return qs.order_by("-created_at").first()


def plan_get(actor: Actor, *, public_id: Any) -> RolloutPlan:
    require(actor, Permission.OUTREACH_PLAN)
    scope = actor.scope_path or "\x00"
    plan = (
        RolloutPlan.objects.select_related("scheme", "territory")
        .filter(within(scope, "territory__path"), public_id=public_id)
        .first()
    )
    if plan is None:
        raise OutOfScope()
    return plan


@dataclass
class PhaseSummary:
    phase: int
    sectors: int = 0
    rural: int = 0
    high: int = 0
    population: int = 0
    households: int = 0
    first_week: int = 0
    last_week: int = 0
    characterised: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def coverage(self) -> Decimal:
        if not self.households:
            return Decimal(0)
        return (Decimal(self.characterised) * 100 / self.households).quantize(Decimal("0.1"))


def plan_phases(actor: Actor, *, plan: RolloutPlan) -> list[PhaseSummary]:
    """Per phase: sectors (rural, high), estimated people and households, the weeks it spans, and
    the households characterised so far (actual coverage)."""
    require(actor, Permission.OUTREACH_PLAN)
    phases: dict[int, PhaseSummary] = {}
    rows = PlanSector.objects.filter(plan=plan).values(
        "phase",
        "reason",
        "tier",
        "start_week",
        "end_week",
        "sector__area",
        "sector__estimated_population",
        "sector__estimated_households",
        "sector__territory_id",
    )
    territory_phase: dict[int, int] = {}
    for r in rows:
        p = phases.setdefault(
            r["phase"], PhaseSummary(phase=r["phase"], first_week=r["start_week"])
        )
        p.sectors += 1
        p.rural += r["sector__area"] == "rural"
        p.high += r["tier"] == "high"
        p.population += r["sector__estimated_population"]
        p.households += r["sector__estimated_households"]
        p.first_week = min(p.first_week, r["start_week"])
        p.last_week = max(p.last_week, r["end_week"])
        p.reasons[r["reason"]] = p.reasons.get(r["reason"], 0) + 1
        territory_phase[r["sector__territory_id"]] = r["phase"]
    counts = (
        HouseholdProfile.objects.filter(household__territory_id__in=territory_phase)
        .values("household__territory_id")
        .annotate(n=Count("id"))
    )
    for c in counts:
        phases[territory_phase[c["household__territory_id"]]].characterised += c["n"]
    return [phases[k] for k in sorted(phases)]


def plan_projection(actor: Actor, *, plan: RolloutPlan, weeks: int = 0) -> list[dict[str, Any]]:
    """Projected households covered per week (cumulative, by phase) against the households
    actually characterised by the end of each week."""
    require(actor, Permission.OUTREACH_PLAN)
    rows = list(
        PlanSector.objects.filter(plan=plan).values(
            "phase",
            "start_week",
            "end_week",
            "sector__estimated_households",
            "sector__territory_id",
        )
    )
    if not rows:
        return []
    horizon = weeks or max(r["end_week"] for r in rows)
    projected: dict[int, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    for r in rows:
        span = r["end_week"] - r["start_week"] + 1
        per_week = r["sector__estimated_households"] / span
        for w in range(r["start_week"], min(r["end_week"], horizon) + 1):
            projected[w][r["phase"]] += per_week
    actual_by_week: dict[int, int] = defaultdict(int)
    territories = {r["sector__territory_id"] for r in rows}
    start = plan.start_date
    for row in (
        HouseholdProfile.objects.filter(household__territory_id__in=territories)
        .annotate(week=TruncWeek("created_at"))
        .values("week")
        .annotate(n=Count("id"))
    ):
        week_date = row["week"].date() if isinstance(row["week"], dt.datetime) else row["week"]
        index = max(1, (week_date - start).days // 7 + 1)
        actual_by_week[index] += row["n"]
    out = []
    cumulative: dict[int, float] = defaultdict(float)
    actual = 0
    for w in range(1, horizon + 1):
        for phase, n in projected[w].items():
            cumulative[phase] += n
        actual += actual_by_week.get(w, 0)
        out.append(
            {
                "week": w,
                "date": start + dt.timedelta(weeks=w - 1),
                "projected": {p: round(v) for p, v in sorted(cumulative.items())},
                "projected_total": round(sum(cumulative.values())),
                "actual": actual,
            }
        )
    return out


def plan_rows(
    actor: Actor, *, plan: RolloutPlan, phase: int | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[PlanSector], int]:
    require(actor, Permission.OUTREACH_PLAN)
    qs = PlanSector.objects.filter(plan=plan).select_related("sector", "sector__territory__parent")
    if phase is not None:
        qs = qs.filter(phase=phase)
    return list(qs.order_by("rank")[offset : offset + limit]), qs.count()


def sector_totals(actor: Actor, *, territory_path: str) -> dict[str, Any]:
    require(actor, Permission.REGISTRY_READ)
    qs = Sector.objects.filter(within(territory_path, "territory__path"))
    return dict(
        qs.aggregate(
            sectors=Count("id"),
            population=Sum("estimated_population"),
            households=Sum("estimated_households"),
        )
    )
