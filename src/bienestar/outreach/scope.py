"""Who may see which households in the field: role and territory, narrowed to the worker's sectors.

A worker (OUTREACH_FIELD) sees a household only if it lies in the caller's territory (the rule of
every household read, `households_visible_to`) AND in a sector currently assigned to a team the
worker currently belongs to. Nothing here is audited: the selectors that disclose rows do it.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from bienestar.access.actor import Actor
from bienestar.access.errors import OutOfScope
from bienestar.access.permissions import require
from bienestar.access.roles import Permission
from bienestar.households.models import Household
from bienestar.households.selectors import households_visible_to
from bienestar.outreach.models import Sector, TeamMember, TeamSector


def worker_sector_ids(actor: Actor) -> QuerySet[TeamSector, Any]:
    """Ids of the sectors the worker's current teams hold now (a subquery)."""
    teams = TeamMember.objects.filter(
        user=actor.user, until__isnull=True, team__active=True
    ).values("team_id")
    return TeamSector.objects.filter(team_id__in=teams, until__isnull=True).values("sector_id")


def worker_sectors(actor: Actor) -> QuerySet[Sector]:
    require(actor, Permission.OUTREACH_FIELD)
    return (
        Sector.objects.filter(id__in=worker_sector_ids(actor))
        .select_related("territory")
        .defer("geometry")
    )


def field_households(actor: Actor) -> QuerySet[Household]:
    require(actor, Permission.OUTREACH_FIELD)
    return households_visible_to(actor).filter(
        territory__outreach_sector__id__in=worker_sector_ids(actor)
    )


def field_household(actor: Actor, *, public_id: Any) -> Household:
    """One household the worker may work on; anything else is the same 404 as a missing one."""
    household = (
        field_households(actor)
        .select_related("territory__outreach_sector")
        .filter(public_id=public_id)
        .first()
    )
    if household is None:
        raise OutOfScope()
    return household
