"""Reads of the workforce. Specialties are a registry (REGISTRY_READ); practitioners and positions
are professional data (WORKFORCE_READ)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.db.models import Count, Q, QuerySet

from bienestar.access.actor import Actor
from bienestar.access.errors import OutOfScope
from bienestar.access.permissions import require
from bienestar.access.roles import Permission
from bienestar.facilities.models import Facility
from bienestar.facilities.selectors import facility_get
from bienestar.territories.selectors import unaccent_contains
from bienestar.workforce.models import Position, Practitioner, Specialty, StaffingGoal


def specialties_list(actor: Actor, *, core: bool | None = None) -> QuerySet[Specialty]:
    require(actor, Permission.REGISTRY_READ)
    qs = Specialty.objects.all()
    if core is not None:
        qs = qs.filter(is_core=core)
    return qs.order_by("name", "id")


def practitioners_list(
    actor: Actor,
    *,
    q: str | None = None,
    specialty_code: str | None = None,
    active: bool | None = None,
) -> QuerySet[Practitioner]:
    require(actor, Permission.WORKFORCE_READ)
    qs = Practitioner.objects.prefetch_related("specialties")
    if q:
        qs, surname = unaccent_contains(qs, "first_surname", q)
        qs, given = unaccent_contains(qs, "given_names", q)
        qs = qs.filter(surname | given | Q(licence_number=q))
    if specialty_code:
        qs = qs.filter(specialties__code=specialty_code)
    if active is not None:
        qs = qs.filter(active=active)
    return qs.order_by("first_surname", "second_surname", "given_names", "id").distinct()


def practitioner_get(actor: Actor, *, public_id: UUID) -> Practitioner:
    require(actor, Permission.WORKFORCE_READ)
    practitioner = (
        Practitioner.objects.prefetch_related("specialties").filter(public_id=public_id).first()
    )
    if practitioner is None:
        raise OutOfScope()
    return practitioner


def _facility(actor: Actor, key: str) -> Facility:
    # WORKFORCE_READ first, so a role without it learns nothing about which facilities exist.
    require(actor, Permission.WORKFORCE_READ)
    return facility_get(actor, key=key, with_opening_hours=False)


def facility_positions(actor: Actor, *, facility_key: str) -> tuple[Facility, list[Position]]:
    """A facility (by public_id or CLUES) and its positions, filled or vacant."""
    facility = _facility(actor, facility_key)
    return facility, list(
        Position.objects.filter(facility=facility)
        .select_related("specialty", "practitioner")
        .order_by("specialty__name", "since", "id")
    )


@dataclass(frozen=True)
class StaffingLine:
    specialty: Specialty
    goal: int | None
    positions: int
    filled: int

    @property
    def vacant(self) -> int:
        return self.positions - self.filled

    @property
    def gap(self) -> int | None:
        """Practitioners still missing to reach the goal (never negative); None without a goal."""
        return max(self.goal - self.filled, 0) if self.goal is not None else None


def facility_staffing(actor: Actor, *, facility_key: str) -> tuple[Facility, list[StaffingLine]]:
    """A facility and, per specialty, its staffing goal, positions and how many are filled.
    Constant number of queries, whatever the number of specialties or positions."""
    facility = _facility(actor, facility_key)
    counts: dict[int, dict[str, int]] = {
        row["specialty"]: {"positions": row["positions"], "filled": row["filled"]}
        for row in Position.objects.filter(facility=facility)
        .values("specialty")
        .annotate(positions=Count("id"), filled=Count("id", filter=Q(practitioner__isnull=False)))
    }
    goals = {
        g.specialty_id: g.goal
        for g in StaffingGoal.objects.filter(facility=facility).only("specialty_id", "goal")
    }
    ids = set(counts) | set(goals)
    specialties = (
        Specialty.objects.filter(id__in=ids).order_by("name") if ids else Specialty.objects.none()
    )
    return facility, [
        StaffingLine(
            specialty=s,
            goal=goals.get(s.id),
            positions=counts.get(s.id, {}).get("positions", 0),
            filled=counts.get(s.id, {}).get("filled", 0),
        )
        for s in specialties
    ]


def positions_list(actor: Actor) -> QuerySet[Position]:
    """Every position (filled or vacant) with its facility, specialty and practitioner loaded."""
    require(actor, Permission.WORKFORCE_READ)
    return Position.objects.select_related("facility", "specialty", "practitioner").order_by(
        "facility_id", "specialty__name", "id"
    )
