"""Which units a caller may see or manage for scheduling. One place for every door."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.access.errors import Forbidden, OutOfScope
from bienestar.access.permissions import require
from bienestar.access.roles import Permission, Role
from bienestar.facilities.models import Facility


def _uuid(value: Any) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        return None


def key_or_404(value: Any) -> uuid.UUID:
    """The opaque id named, or the 404 of a missing record when it is not one."""
    key = _uuid(value)
    if key is None:
        raise OutOfScope()
    return key


def facilities_in_scope(actor: Actor, permission: Permission) -> QuerySet[Facility]:
    require(actor, permission)
    scope = actor.scope_path
    if scope is None:
        return Facility.objects.none()
    return Facility.objects.select_related("territory").filter(
        Q(territory__path=scope) | Q(territory__path__startswith=scope + ".")
    )


def facility_visible(
    actor: Actor, facility: Facility | uuid.UUID | str, permission: Permission
) -> Facility:
    """The unit if it lies in the caller's territory (404 otherwise, as for a missing one)."""
    qs = facilities_in_scope(actor, permission)
    if isinstance(facility, Facility):
        found = qs.filter(pk=facility.pk).first()
    else:
        key = _uuid(facility)
        found = qs.filter(public_id=key).first() if key else None
    if found is None:
        raise OutOfScope()
    return found


def facility_managed(actor: Actor, facility: Facility | uuid.UUID | str) -> Facility:
    """A unit whose agendas the caller may change: their own unit (clinician, director)."""
    found = facility_visible(actor, facility, Permission.SCHEDULE_MANAGE)
    own = actor.user.facility_id if actor.user is not None else None
    if actor.role not in (Role.FACILITY_DIRECTOR, Role.CLINICIAN) or own != found.pk:
        raise Forbidden(_("Solo puede organizar las agendas de su propio establecimiento."))
    return found
