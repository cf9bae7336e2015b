"""Reads of households, scoped to the caller's territory and audited like persons.

A household's address and members are personal data: every read writes one audit row that lists
the persons disclosed (`result_ids`), as `person_search` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.access.audit import audit_record
from bienestar.access.errors import OutOfScope
from bienestar.access.models import AuditAction
from bienestar.access.permissions import require
from bienestar.access.roles import Permission
from bienestar.core.errors import ValidationFailed
from bienestar.households.models import Household, HouseholdMember
from bienestar.territories.selectors import within

LIST_LIMIT_MAX = 100


def households_visible_to(actor: Actor) -> QuerySet[Household]:
    """Every household inside the actor's territory. Checks HOUSEHOLD_READ first; not audited —
    callers that disclose rows audit them."""
    require(actor, Permission.HOUSEHOLD_READ)
    scope = actor.scope_path
    if scope is None:
        return Household.objects.none()
    return Household.objects.select_related("territory").filter(within(scope, "territory__path"))


def household_list(
    actor: Actor, *, territory_path: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[Household], int]:
    """One page of visible households (optionally inside `territory_path`) and the total.
    One audit row names every household returned."""
    if not 1 <= limit <= LIST_LIMIT_MAX or offset < 0:
        raise ValidationFailed(
            _("Use un límite de 1 a 100 y un desplazamiento no negativo."), field="limit"
        )
    qs = households_visible_to(actor)
    if territory_path:
        qs = qs.filter(within(territory_path, "territory__path"))
    qs = qs.order_by("territory__path", "id")
    total = qs.count()
    rows = list(qs[offset : offset + limit])
    audit_record(
        actor,
        action=AuditAction.SEARCH,
        resource_type="Household",
        query={"territory": territory_path, "limit": limit, "offset": offset},
        result_ids=[str(h.public_id) for h in rows],
    )
    return rows, total


@dataclass(frozen=True)
class HouseholdView:
    household: Household
    members: list[HouseholdMember]


def _members(actor: Actor, household: Household, *, include_past: bool) -> list[HouseholdMember]:
    scope = actor.scope_path or ""
    qs = (
        HouseholdMember.objects.filter(household=household)
        .select_related("person")
        # A member registered outside the caller's territory stays hidden, as it would be if
        # looked up directly.
        .filter(within(scope, "person__territory__path"))
        .order_by("until", "since", "id")
    )
    if not include_past:
        qs = qs.filter(until__isnull=True)
    return list(qs)


def household_get(actor: Actor, *, public_id: Any, include_past: bool = False) -> HouseholdView:
    """One household by opaque id with its members. Outside the territory → the same 404 as missing.
    One audit row: the household, and the persons disclosed as its members."""
    household = households_visible_to(actor).filter(public_id=public_id).first()
    if household is None:
        raise OutOfScope()
    members = _members(actor, household, include_past=include_past)
    audit_record(
        actor,
        action=AuditAction.READ,
        resource_type="Household",
        resource_id=str(household.public_id),
        query={"include_past": include_past},
        result_ids=[str(m.person.public_id) for m in members],
    )
    return HouseholdView(household=household, members=members)


def household_for_write(actor: Actor, *, public_id: Any) -> Household:
    """The visible household a write will target. Not audited here: the service that writes records
    the access together with the change."""
    household = households_visible_to(actor).filter(public_id=public_id).first()
    if household is None:
        raise OutOfScope()
    return household


def household_member_for_write(
    actor: Actor, *, household: Household, public_id: Any
) -> HouseholdMember:
    member = HouseholdMember.objects.filter(household=household, public_id=public_id).first()
    if member is None:
        raise OutOfScope()
    return member
