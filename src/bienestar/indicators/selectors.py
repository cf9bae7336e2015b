"""Reads of the materialised aggregates, scoped to the caller's territory.

Aggregates carry no personal data, but the network's units are scoped like everything else: a state
coordinator sees their state, its municipalities and its units, never another state's (asking for
one is answered "not found", so nothing tells them it exists). Every page, export and API door reads
through these functions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.access.errors import OutOfScope
from bienestar.access.permissions import require
from bienestar.access.roles import Permission
from bienestar.core.errors import NotFound, ValidationFailed
from bienestar.facilities.models import Facility
from bienestar.indicators.definitions import DEFINITIONS, Definition, Scale
from bienestar.indicators.models import Aggregate, Level
from bienestar.territories.models import Territory

CHILD_LEVEL = {
    Level.NATION: Level.STATE,
    Level.STATE: Level.MUNICIPALITY,
    Level.MUNICIPALITY: Level.UNIT,
}
_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class Area:
    """Where a figure is about: a territory (nation, state, municipality) or a unit."""

    level: str
    key: str  # territory path, or the facility's internal id as text (never shown)
    name: str
    path: str  # the territory path (for a unit: its facility's territory)
    public_id: str = ""  # a unit's public id, for URLs
    clues: str = ""

    @property
    def level_label(self) -> str:
        return str(Level(self.level).label)

    @property
    def url_param(self) -> str:
        return f"unidad={self.public_id}" if self.level == Level.UNIT else f"territorio={self.key}"


@dataclass(frozen=True)
class Figure:
    period: str
    numerator: int | None
    denominator: int | None
    scale: str

    @property
    def value(self) -> Decimal | None:
        """A proportion for ratios (None when the denominator is missing or zero), the count
        otherwise. Zero and missing differ: 0 is a zero, None is "no data"."""
        if self.scale == Scale.COUNT:
            return None if self.numerator is None else Decimal(self.numerator)
        if self.numerator is None or not self.denominator:
            return None
        return (Decimal(self.numerator) / Decimal(self.denominator)).quantize(
            _PLACES, rounding=ROUND_HALF_UP
        )


@dataclass
class Row:
    area: Area
    figure: Figure | None  # None: no row at all for this area and period ("sin datos")
    extra: dict[str, object] = field(default_factory=dict)


def definition_or_404(code: str) -> Definition:
    definition = DEFINITIONS.get(code)
    if definition is None:
        raise NotFound(_("No existe ese indicador."))
    return definition


def _inside(path: str, scope: str) -> bool:
    return path == scope or path.startswith(scope + ".")


def root_area(actor: Actor) -> Area:
    require(actor, Permission.INDICATOR_READ)
    scope = actor.scope_path
    if scope is None:
        raise OutOfScope()
    return territory_area(actor, scope)


def _level_of(territory: Territory) -> str:
    depth = territory.path.count(".")
    return {0: Level.NATION, 1: Level.STATE}.get(depth, Level.MUNICIPALITY)


def territory_area(actor: Actor, path: str) -> Area:
    """The territory at `path` if the actor may see it (nation, state or municipality)."""
    require(actor, Permission.INDICATOR_READ)
    scope = actor.scope_path
    if scope is None or not _inside(path, scope):
        raise OutOfScope()
    territory = Territory.objects.filter(path=path).first()
    if territory is None or territory.path.count(".") > 2:
        raise OutOfScope()
    return Area(_level_of(territory), territory.path, territory.name, territory.path)


def unit_area(actor: Actor, public_id: str) -> Area:
    require(actor, Permission.INDICATOR_READ)
    try:
        facility = Facility.objects.select_related("territory").filter(public_id=public_id).first()
    except (ValueError, ValidationFailed):
        facility = None
    scope = actor.scope_path
    if facility is None or scope is None or not _inside(facility.territory.path, scope):
        raise OutOfScope()
    return Area(
        Level.UNIT,
        str(facility.id),
        facility.name,
        facility.territory.path,
        public_id=str(facility.public_id),
        clues=facility.clues or "",
    )


def parent_chain(actor: Actor, area: Area) -> list[Area]:
    """The breadcrumbs from the actor's root to `area` (excluded)."""
    scope = actor.scope_path or ""
    parts = area.path.split(".")
    paths = [".".join(parts[:i]) for i in range(1, min(len(parts), 3) + 1)]
    if area.level != Level.UNIT:
        paths = [p for p in paths if p != area.key]
    paths = [p for p in paths if _inside(p, scope)]
    names = dict(Territory.objects.filter(path__in=paths).values_list("path", "name"))
    return [Area(_level_of_path(p), p, names.get(p, p), p) for p in paths if p in names]


def _level_of_path(path: str) -> str:
    return {0: Level.NATION, 1: Level.STATE}.get(path.count("."), Level.MUNICIPALITY)


def series(
    definition: Definition, area: Area, *, period_type: str = "M", dimension: str = ""
) -> list[tuple[str, Figure]]:
    """The area's figures by period (and category when a dimension is asked), oldest first."""
    rows = Aggregate.objects.filter(
        indicator=definition.code,
        level=area.level,
        area=area.key,
        period_type=period_type,
        dimension=dimension,
    ).order_by("period", "category")
    return [
        (r.category, Figure(r.period, r.numerator, r.denominator, definition.scale)) for r in rows
    ]


def periods(definition: Definition, *, period_type: str = "M") -> list[str]:
    return list(
        Aggregate.objects.filter(indicator=definition.code, period_type=period_type, level="nation")
        .values_list("period", flat=True)
        .distinct()
        .order_by("period")
    )


def latest_period(definition: Definition, area: Area, today: dt.date) -> str | None:
    """The last complete month with a figure for the area (the current month is still running),
    or the current one when it is the only one."""
    current = f"{today:%Y-%m}"
    found = list(
        Aggregate.objects.filter(
            indicator=definition.code,
            level=area.level,
            area=area.key,
            period_type="M",
            dimension="",
        )
        .values_list("period", flat=True)
        .order_by("-period")[:2]
    )
    complete = [p for p in found if p < current]
    return complete[0] if complete else (found[0] if found else None)


def children(actor: Actor, definition: Definition, area: Area, period: str) -> list[Row]:
    """The areas one level down with their figure for `period`, worst first (no-data last). Every
    child inside the actor's scope is listed, with or without a figure."""
    level = CHILD_LEVEL.get(Level(area.level))
    if level is None:
        return []
    period_type = "M" if len(period) == 7 and "-" in period else ("Q" if "Q" in period else "Y")
    if level == Level.UNIT:
        facilities = Facility.objects.filter(
            territory__path__startswith=area.key + "."
        ) | Facility.objects.filter(territory__path=area.key)
        areas = [
            Area(
                Level.UNIT,
                str(f.id),
                f.name,
                area.path,
                public_id=str(f.public_id),
                clues=f.clues or "",
            )
            for f in facilities.order_by("name")
        ]
    else:
        depth = area.key.count(".") + 1
        territories = Territory.objects.filter(path__startswith=area.key + ".").filter(
            path__regex=r"^[^.]+" + r"\.[^.]+" * depth + "$"
        )
        areas = [
            Area(level, t.path, t.name, t.path)
            for t in territories.order_by("path")
            if _inside(t.path, actor.scope_path or "\0")
        ]
    values = {
        r.area: Figure(r.period, r.numerator, r.denominator, definition.scale)
        for r in Aggregate.objects.filter(
            indicator=definition.code,
            level=level,
            period_type=period_type,
            period=period,
            dimension="",
            area__in=[a.key for a in areas],
        )
    }
    rows = [Row(a, values.get(a.key)) for a in areas]
    if level == Level.UNIT:
        rows = [r for r in rows if r.figure is not None]

    def worst_first(row: Row) -> tuple[int, Decimal, str]:
        value = row.figure.value if row.figure is not None else None
        if value is None:
            return (1, Decimal(0), row.area.name)
        return (0, value if definition.higher_is_better else -value, row.area.name)

    return sorted(rows, key=worst_first)


def breakdown(definition: Definition, area: Area, period: str, dimension: str) -> list[Row]:
    """The area's figure for `period` by one disaggregation (sex, age group, category)."""
    period_type = "M" if "-" in period else ("Q" if "Q" in period else "Y")
    rows = Aggregate.objects.filter(
        indicator=definition.code,
        level=area.level,
        area=area.key,
        period_type=period_type,
        period=period,
        dimension=dimension,
    ).order_by("category")
    return [
        Row(
            area,
            Figure(r.period, r.numerator, r.denominator, definition.scale),
            {"category": r.category},
        )
        for r in rows
    ]
