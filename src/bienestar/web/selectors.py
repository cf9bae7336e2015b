"""Reads that compose several apps for the pages: scoped by the actor's territory, audited where they
show personal data. `web` sits on top of the domain apps, so it may read households and people together."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.utils import timezone

from bienestar.access.actor import Actor
from bienestar.access.audit import audit_record
from bienestar.access.errors import OutOfScope
from bienestar.access.models import AuditAction
from bienestar.access.permissions import require
from bienestar.access.roles import Permission
from bienestar.facilities.models import Facility
from bienestar.households.models import Household, HouseholdMember
from bienestar.households.selectors import households_visible_to
from bienestar.people.models import Person, PersonStatus
from bienestar.people.selectors import persons_visible_to
from bienestar.prescribing.models import Prescription
from bienestar.prescribing.selectors import (
    DispenseView,
    FillRate,
    dispense_get,
    fill_rate,
    prescription_dispenses,
    prescription_refetch,
)
from bienestar.territories.models import Territory
from bienestar.territories.selectors import within


@dataclass(frozen=True)
class TerritorySummary:
    """Aggregate counts only: no row of personal data leaves this function, so nothing is audited."""

    territory: Territory | None
    persons: int
    households: int
    facilities: int


def territory_summary(actor: Actor) -> TerritorySummary:
    """Active persons, households and facilities in operation inside the actor's territory."""
    require(actor, Permission.PERSON_READ)
    require(actor, Permission.HOUSEHOLD_READ)
    require(actor, Permission.REGISTRY_READ)
    scope = actor.scope_path
    if scope is None or actor.user is None:
        return TerritorySummary(territory=None, persons=0, households=0, facilities=0)
    return TerritorySummary(
        territory=actor.user.territory,
        persons=persons_visible_to(actor).filter(status=PersonStatus.ACTIVE).count(),
        households=households_visible_to(actor).count(),
        facilities=Facility.objects.filter(
            within(scope, "territory__path"), in_operation=True
        ).count(),
    )


@dataclass(frozen=True)
class HouseholdMemberView:
    relationship: str
    relationship_label: str
    # None when the member lives outside what the actor may see: the page then shows only the relationship.
    person: Person | None


@dataclass(frozen=True)
class PersonHousehold:
    household: Household
    relationship_label: str
    members: list[HouseholdMemberView]


def person_household(actor: Actor, *, person: Person) -> PersonHousehold | None:
    """The current household of a person already read through `person_get`, with its other members.

    Other members are named only when the actor may see them (the others appear by relationship
    only). One audit row, as `households.selectors.household_get` writes: the household, and in
    `result_ids` every person disclosed by name."""
    require(actor, Permission.HOUSEHOLD_READ)
    visible = persons_visible_to(actor)
    if not visible.filter(pk=person.pk).exists():
        raise OutOfScope()
    membership = (
        HouseholdMember.objects.select_related("household", "household__territory")
        .filter(person=person, until__isnull=True)
        .first()
    )
    if membership is None:
        return None
    others = list(
        HouseholdMember.objects.select_related("person")
        .filter(household=membership.household, until__isnull=True)
        .exclude(person=person)
        .order_by("relationship", "person__birth_date")
    )
    visible_ids = set(
        visible.filter(pk__in=[m.person_id for m in others]).values_list("pk", flat=True)
    )
    audit_record(
        actor,
        action=AuditAction.READ,
        resource_type="Household",
        resource_id=str(membership.household.public_id),
        person_id=person.id,
        query={"via": "person"},
        result_ids=[str(m.person.public_id) for m in others if m.person_id in visible_ids],
        person_ids=[m.person_id for m in others if m.person_id in visible_ids],
    )
    return PersonHousehold(
        household=membership.household,
        relationship_label=membership.get_relationship_display(),
        members=[
            HouseholdMemberView(
                relationship=m.relationship,
                relationship_label=m.get_relationship_display(),
                person=m.person if m.person_id in visible_ids else None,
            )
            for m in others
        ],
    )


# --- Pharmacy pages -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DispenseReceipt:
    prescription: Prescription
    dispense: DispenseView

    @property
    def pending_units(self) -> int:
        return sum(item.line.unfilled_quantity for item in self.dispense.lines)


def dispense_receipt(actor: Actor, *, public_id: uuid.UUID) -> DispenseReceipt:
    """One dispense as its receipt: what was handed over (with the lots) and what stays pending.
    Who may read it is `prescribing.selectors.dispenses_visible_to`; otherwise 404. One audit row
    (read)."""
    dispense = dispense_get(actor, public_id=public_id, via="receipt")
    prescription = prescription_refetch(dispense.prescription)
    views = prescription_dispenses(actor, prescription=prescription)
    view = next(v for v in views if v.dispense.pk == dispense.pk)
    return DispenseReceipt(prescription=prescription, dispense=view)


@dataclass(frozen=True)
class MonthlyFillRate:
    month: dt.date  # the first day of the month
    rate: FillRate


def monthly_fill_rates(
    actor: Actor, *, facility: Facility, months: int = 6, today: dt.date | None = None
) -> list[MonthlyFillRate]:
    """The facility's fill rate (the one definition, `prescribing.fill_rate`) for the current month
    and the `months - 1` before it, newest first. One query per month; aggregates only, so not
    audited. Raises Forbidden when the actor may not read this facility's indicators."""
    today = today or timezone.localdate()
    first = today.replace(day=1)
    out = []
    for _i in range(max(1, months)):
        last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        out.append(
            MonthlyFillRate(
                month=first,
                rate=fill_rate(
                    actor, date_from=first, date_to=last, facility=facility, today=today
                ),
            )
        )
        first = (first - dt.timedelta(days=1)).replace(day=1)
    return out
