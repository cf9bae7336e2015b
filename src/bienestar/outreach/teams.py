"""Teams: created by coordinators (OUTREACH_PLAN) inside their territory; members by role; sectors
assigned to one team at a time. Each change is audited."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.access.audit import audit_record
from bienestar.access.errors import OutOfScope
from bienestar.access.models import AuditAction, User
from bienestar.access.permissions import require
from bienestar.access.roles import Permission
from bienestar.core.errors import Conflict, ValidationFailed
from bienestar.outreach.models import MemberRole, Sector, Team, TeamMember, TeamSector
from bienestar.territories.models import Territory


def _inside(path: str, scope: str | None) -> bool:
    return scope is not None and (path == scope or path.startswith(scope + "."))


@transaction.atomic
def team_create(
    actor: Actor, *, code: str, name: str, territory_path: str, households_per_week: int = 60
) -> Team:
    require(actor, Permission.OUTREACH_PLAN)
    territory = Territory.objects.select_related("subnetwork").filter(path=territory_path).first()
    if territory is None:
        raise ValidationFailed(_("Territorio desconocido."), field="territory")
    if not _inside(territory.path, actor.scope_path):
        raise OutOfScope()
    if not 1 <= households_per_week <= 10_000:
        raise ValidationFailed(
            _("Capacidad de 1 a 10,000 hogares por semana."), field="households_per_week"
        )
    try:
        with transaction.atomic():
            team = Team.objects.create(
                code=code.strip()[:30],
                name=name.strip()[:120],
                territory=territory,
                subnetwork=territory.subnetwork,
                households_per_week=households_per_week,
            )
    except IntegrityError:
        raise Conflict(_("Ya existe un equipo con ese código."), field="code") from None
    audit_record(
        actor, action=AuditAction.CREATE, resource_type="Team", resource_id=str(team.public_id)
    )
    return team


@transaction.atomic
def team_member_add(
    actor: Actor, *, team: Team, user: User, role: str, since: dt.date | None = None
) -> TeamMember:
    require(actor, Permission.OUTREACH_PLAN)
    if not _inside(team.territory.path, actor.scope_path):
        raise OutOfScope()
    if role not in MemberRole.values:
        raise ValidationFailed(_("Perfil inválido."), field="role")
    if user.territory is None or not _inside(team.territory.path, user.territory.path):
        raise ValidationFailed(
            _("La persona usuaria no tiene alcance sobre el territorio del equipo."), field="user"
        )
    try:
        with transaction.atomic():
            member = TeamMember.objects.create(
                team=team, user=user, role=role, since=since or timezone.localdate()
            )
    except IntegrityError:
        raise Conflict(_("Ya es integrante del equipo."), field="user") from None
    audit_record(
        actor,
        action=AuditAction.UPDATE,
        resource_type="Team",
        resource_id=str(team.public_id),
        query={"member_added": user.get_username(), "role": role},
    )
    return member


@transaction.atomic
def team_sector_assign(
    actor: Actor, *, team: Team, sector: Sector, since: dt.date | None = None
) -> TeamSector:
    """Assign a sector to a team. A sector held by another team must be released first."""
    require(actor, Permission.OUTREACH_PLAN)
    if not _inside(team.territory.path, actor.scope_path):
        raise OutOfScope()
    if not _inside(sector.territory.path, team.territory.path):
        raise ValidationFailed(_("El sector no está en el territorio del equipo."), field="sector")
    current = (
        TeamSector.objects.select_for_update().filter(sector=sector, until__isnull=True).first()
    )
    if current is not None:
        if current.team_id == team.id:
            return current
        raise Conflict(_("Otro equipo tiene asignado este sector."), field="sector")
    try:
        with transaction.atomic():
            assignment = TeamSector.objects.create(
                team=team, sector=sector, since=since or timezone.localdate()
            )
    except IntegrityError:
        raise Conflict(_("Otro equipo tiene asignado este sector."), field="sector") from None
    audit_record(
        actor,
        action=AuditAction.UPDATE,
        resource_type="Team",
        resource_id=str(team.public_id),
        query={"sector_assigned": sector.code},
    )
    return assignment
