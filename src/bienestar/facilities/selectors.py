"""Reads of facilities. Registries hold no personal data: any role with REGISTRY_READ may read them."""

from __future__ import annotations

import uuid

from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.access.errors import OutOfScope
from bienestar.access.permissions import require
from bienestar.access.roles import Permission
from bienestar.core.db_routing import lag_tolerant
from bienestar.core.errors import ValidationFailed
from bienestar.facilities.models import CLUES_RE, Facility, OpeningHours
from bienestar.territories.selectors import unaccent_contains, within


def _base() -> QuerySet[Facility]:
    return Facility.objects.select_related("territory", "parent")


def facilities_list(
    actor: Actor,
    *,
    institution: str | None = None,
    facility_type: str | None = None,
    territory_path: str | None = None,
    level_of_care: int | None = None,
    in_operation: bool | None = None,
    q: str | None = None,
) -> QuerySet[Facility]:
    """Facilities matching every given filter; `territory_path` includes everything inside it."""
    require(actor, Permission.REGISTRY_READ)
    qs = _base()
    if institution:
        qs = qs.filter(institution=institution)
    if facility_type:
        qs = qs.filter(facility_type=facility_type)
    if territory_path:
        qs = qs.filter(within(territory_path, "territory__path"))
    if level_of_care is not None:
        qs = qs.filter(level_of_care=level_of_care)
    if in_operation is not None:
        qs = qs.filter(in_operation=in_operation)
    if q:
        qs, name_matches = unaccent_contains(qs, "name", q)
        qs = qs.filter(name_matches | Q(clues=q.upper()))
    return lag_tolerant(qs.order_by("name", "id"))


def facility_get(actor: Actor, *, key: str, with_opening_hours: bool = True) -> Facility:
    """One facility by its opaque public_id or its CLUES (with its opening hours loaded unless
    told otherwise). Unknown → 404; a key that is neither → 422."""
    require(actor, Permission.REGISTRY_READ)
    key = (key or "").strip()
    qs = _base()
    if with_opening_hours:
        qs = qs.prefetch_related(
            Prefetch("opening_hours", queryset=OpeningHours.objects.order_by("weekday", "opens"))
        )
    try:
        public_id = uuid.UUID(key)
    except ValueError:
        clues = key.upper()
        if not CLUES_RE.match(clues):
            raise ValidationFailed(
                _("Use el identificador público (UUID) o la CLUES (p. ej. HGIMB000011)."),
                field="key",
            ) from None
        facility = qs.filter(clues=clues).first()
    else:
        facility = qs.filter(public_id=public_id).first()
    if facility is None:
        raise OutOfScope()
    return facility
