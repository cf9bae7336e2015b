"""The coordinators' dashboard: headline indicators of their territory (used by the home pages
of `central` and `estatal` and by /indicadores/). Reads through selectors.py."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.indicators import selectors as sel
from bienestar.indicators.definitions import DEFINITIONS, Definition, Scale

TREND_MONTHS = 18


def fmt(value: Decimal | None, definition: Definition) -> str:
    """0.8125 → "81.3 %" for ratios, 1234 → "1,234" for counts (es-MX separators); None → "sin dato"."""
    if value is None:
        return _("sin dato")
    if definition.scale == Scale.PERCENT:
        return f"{number_format(value * 100, decimal_pos=1)} %"
    return str(number_format(int(value), force_grouping=True))


def link(code: str, area: sel.Area, period: str = "") -> str:
    query = area.url_param + (f"&{urlencode({'periodo': period})}" if period else "")
    return f"{reverse('indicator_detail', args=[code])}?{query}"


@dataclass
class Tile:
    definition: Definition
    area: sel.Area
    period: str | None
    value: Decimal | None
    text: str
    previous: str
    target: str
    meets: bool | None
    spark: str
    worst: list[tuple[str, str, str]]
    href: str


def _spark(values: list[Decimal | None]) -> str:
    """A polyline in a 120×32 box for the small trend line of a tile."""
    known = [(i, float(v)) for i, v in enumerate(values) if v is not None]
    if len(known) < 2:
        return ""
    lo, hi = min(v for _i, v in known), max(v for _i, v in known)
    span = (hi - lo) or 1.0
    n = max(len(values) - 1, 1)
    return " ".join(f"{2 + 116 * i / n:.1f},{30 - 28 * (v - lo) / span:.1f}" for i, v in known)


def dashboard(actor: Actor) -> list[Tile]:
    """The headline indicators of the actor's territory: latest complete month, trend, target, and
    the worst-performing areas one level down. Worst tile (furthest below target) first."""
    area = sel.root_area(actor)
    today = timezone.localdate()
    tiles = []
    for definition in DEFINITIONS.values():
        if not definition.headline:
            continue
        period = sel.latest_period(definition, area, today)
        series = [f for _c, f in sel.series(definition, area)][-TREND_MONTHS:]
        figures = {f.period: f for f in series}
        figure = figures.get(period) if period else None
        value = figure.value if figure else None
        periods = sorted(figures)
        before = (
            periods[periods.index(period) - 1]
            if period in periods and periods.index(period)
            else None
        )
        prev = figures[before].value if before else None
        target = definition.target
        meets = None
        if value is not None and target is not None:
            meets = value >= target if definition.higher_is_better else value <= target
        worst = [
            (
                row.area.name,
                fmt(row.figure.value if row.figure else None, definition),
                link(definition.code, row.area, period or ""),
            )
            for row in (sel.children(actor, definition, area, period) if period else [])[:3]
            if row.figure is not None
        ]
        tiles.append(
            Tile(
                definition=definition,
                area=area,
                period=period,
                value=value,
                text=fmt(value, definition),
                previous=fmt(prev, definition) if before else "",
                target=fmt(target, definition) if target is not None else "",
                meets=meets,
                spark=_spark([f.value for f in series]),
                worst=worst,
                href=link(definition.code, area),
            )
        )

    def gap(tile: Tile) -> tuple[int, Decimal]:
        if tile.value is None or tile.definition.target is None:
            return (1, Decimal(0))
        diff = tile.value - tile.definition.target
        return (0, diff if tile.definition.higher_is_better else -diff)

    return sorted(tiles, key=gap)
