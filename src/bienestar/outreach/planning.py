"""Writes of the planning side: publish a priority scheme (a new version, never an edit), make a
rollout plan from it, and adopt a plan (the sectors take its score, tier and phase).

Sectors carry no personal data; these services check OUTREACH_PLAN and that the plan's territory
is inside the caller's, and leave an audit row so that who changed the city's plan is on record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.access.audit import audit_record
from bienestar.access.errors import OutOfScope
from bienestar.access.models import AuditAction
from bienestar.access.permissions import require
from bienestar.access.roles import Permission
from bienestar.core.errors import ValidationFailed
from bienestar.outreach import priority
from bienestar.outreach.models import PlanSector, PriorityScheme, RolloutPlan, Sector
from bienestar.outreach.models.planning import SchemePreset
from bienestar.territories.models import Territory
from bienestar.territories.selectors import within

MAX_TEAMS = 5_000
MAX_CAPACITY = 10_000


def _in_scope(actor: Actor, path: str) -> bool:
    scope = actor.scope_path
    return scope is not None and (path == scope or path.startswith(scope + "."))


@transaction.atomic
def scheme_publish(
    actor: Actor,
    *,
    name: str,
    preset: str,
    weights: Mapping[str, object],
    high_cutoff: Decimal = priority.DEFAULT_HIGH_CUTOFF,
    medium_cutoff: Decimal = priority.DEFAULT_MEDIUM_CUTOFF,
    notes: str = "",
) -> PriorityScheme:
    """Publish the next version of scheme `name`. Published versions are never edited: plans and
    sectors keep pointing to the version they were computed with."""
    require(actor, Permission.OUTREACH_PLAN)
    name = " ".join(name.split())
    if not name or len(name) > 80:
        raise ValidationFailed(_("Escriba un nombre de 1 a 80 caracteres."), field="name")
    if preset not in SchemePreset.values:
        raise ValidationFailed(_("Regla de fases desconocida."), field="preset")
    try:
        clean = priority.validate_weights(weights)
    except ValueError as exc:
        raise ValidationFailed(str(exc), field="weights") from None
    if not (Decimal(0) <= medium_cutoff <= high_cutoff <= Decimal(100)):
        raise ValidationFailed(
            _("Los cortes van de 0 a 100 y el medio no supera al alto."), field="high_cutoff"
        )
    # Lock the name's versions so that two publications cannot take the same number.
    list(PriorityScheme.objects.select_for_update().filter(name=name).values_list("id"))
    last = PriorityScheme.objects.filter(name=name).aggregate(v=Max("version"))["v"] or 0
    scheme = PriorityScheme.objects.create(
        name=name,
        version=last + 1,
        preset=preset,
        weights={k: str(v) for k, v in clean.items()},
        high_cutoff=high_cutoff,
        medium_cutoff=medium_cutoff,
        published_at=timezone.now(),
        published_by=actor.username,
        notes=notes.strip()[:2000],
    )
    audit_record(
        actor,
        action=AuditAction.CREATE,
        resource_type="PriorityScheme",
        resource_id=str(scheme.public_id),
        query={"name": name, "version": scheme.version},
    )
    return scheme


def scheme_weights(scheme: PriorityScheme) -> dict[str, Decimal]:
    return {k: Decimal(v) for k, v in scheme.weights.items()}


def sector_values(sector: Sector) -> dict[str, Decimal]:
    return {key: getattr(sector, key) for key in priority.INDICATOR_KEYS}


def score_for(sector: Sector, scheme: PriorityScheme) -> priority.Score:
    return priority.score_sector(
        sector_values(sector),
        scheme_weights(scheme),
        high_cutoff=scheme.high_cutoff,
        medium_cutoff=scheme.medium_cutoff,
    )


@transaction.atomic
def plan_create(
    actor: Actor,
    *,
    territory_path: str,
    scheme: PriorityScheme,
    teams: int,
    households_per_team_week: int,
    start_date: dt.date,
    name: str = "",
    adopt: bool = False,
) -> RolloutPlan:
    """Rank every sector under `territory_path` with `scheme`, place it in a phase and a projected
    week, and store the plan with each sector's reason. `adopt`: the sectors take the plan's score,
    tier, phase and scheme (what the map and the work lists show)."""
    require(actor, Permission.OUTREACH_PLAN)
    territory = Territory.objects.filter(path=territory_path).first()
    if territory is None:
        raise ValidationFailed(_("Territorio desconocido."), field="territory")
    if not _in_scope(actor, territory.path):
        raise OutOfScope()
    if not 1 <= teams <= MAX_TEAMS:
        raise ValidationFailed(_("Indique de 1 a 5,000 equipos."), field="teams")
    if not 1 <= households_per_team_week <= MAX_CAPACITY:
        raise ValidationFailed(
            _("La capacidad va de 1 a 10,000 hogares por equipo y semana."),
            field="households_per_team_week",
        )
    sectors = list(Sector.objects.filter(within(territory.path, "territory__path")))
    if not sectors:
        raise ValidationFailed(_("No hay sectores en este territorio."), field="territory")
    scores = {s.id: score_for(s, scheme) for s in sectors}
    placements = priority.plan_rollout(
        [
            priority.SectorInput(
                sector_id=s.id,
                code=s.code,
                rural=s.area == "rural",
                households=s.estimated_households,
                score=scores[s.id].score,
                tier=scores[s.id].tier,
            )
            for s in sectors
        ],
        preset=scheme.preset,
        teams=teams,
        households_per_team_week=households_per_team_week,
    )
    plan = RolloutPlan.objects.create(
        name=(" ".join(name.split()) or f"{territory.name} · {scheme}")[:120],
        territory=territory,
        scheme=scheme,
        teams=teams,
        households_per_team_week=households_per_team_week,
        start_date=start_date,
        created_by=actor.user,
    )
    PlanSector.objects.bulk_create(
        [
            PlanSector(
                plan=plan,
                sector_id=p.sector_id,
                rank=p.rank,
                phase=p.phase,
                score=scores[p.sector_id].score,
                tier=scores[p.sector_id].tier,
                reason=p.reason,
                team_number=p.team_number,
                start_week=p.start_week,
                end_week=p.end_week,
            )
            for p in placements
        ],
        batch_size=2000,
    )
    if adopt:
        by_id = {s.id: s for s in sectors}
        for p in placements:
            s = by_id[p.sector_id]
            s.score, s.tier = scores[s.id].score, scores[s.id].tier
            s.phase, s.scheme = p.phase, scheme
        Sector.objects.bulk_update(sectors, ["score", "tier", "phase", "scheme"], batch_size=2000)
    audit_record(
        actor,
        action=AuditAction.CREATE,
        resource_type="RolloutPlan",
        resource_id=str(plan.public_id),
        query={"territory": territory.path, "scheme": str(scheme), "adopt": adopt},
    )
    return plan
