"""Small line charts drawn on the server as SVG geometry (no JavaScript, no chart library).

`line_chart` turns time series into coordinates inside a fixed view box; the template
`web/clinician/_line_chart.html` draws them. The SVG scales with its container (viewBox), so
the same numbers serve a tablet and a printout.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

WIDTH = 560
HEIGHT = 240
MARGIN_LEFT = 46
MARGIN_RIGHT = 16
MARGIN_TOP = 26
MARGIN_BOTTOM = 34
TARGET_TICKS = 5


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    at: dt.datetime
    value: Decimal


@dataclass(frozen=True)
class ChartSeries:
    key: str
    label: str
    points: list[ChartPoint]

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class LineChart:
    series: list[ChartSeries]
    y_ticks: list[Tick]
    x_ticks: list[tuple[float, dt.datetime]]
    unit: str
    width: int = WIDTH
    height: int = HEIGHT
    left: int = MARGIN_LEFT
    right: int = WIDTH - MARGIN_RIGHT
    top: int = MARGIN_TOP
    bottom: int = HEIGHT - MARGIN_BOTTOM

    @property
    def empty(self) -> bool:
        return not any(s.points for s in self.series)


def nice_step(span: float, ticks: int = TARGET_TICKS) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) giving about `ticks` intervals."""
    if span <= 0:
        return 1.0
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * power:
            return float(factor * power)
    return float(10 * power)  # pragma: no cover - the loop always returns


def _format_tick(value: float, step: float) -> str:
    if step >= 1 and abs(value - round(value)) < 1e-9:
        return str(round(value))
    decimals = max(0, -math.floor(math.log10(step))) if step < 1 else 1
    return f"{value:.{decimals}f}"


def y_axis(values: Sequence[float], *, floor: float | None = None) -> tuple[float, float, float]:
    """(low, high, step): a range that contains every value with round ends."""
    lo, hi = min(values), max(values)
    if floor is not None:
        lo = min(lo, floor)
    if math.isclose(lo, hi):
        pad = max(abs(hi) * 0.1, 1.0)
        lo, hi = lo - pad, hi + pad
    step = nice_step(hi - lo)
    low = math.floor(lo / step) * step
    high = math.ceil(hi / step) * step
    if math.isclose(low, high):
        high = low + step
    return low, high, step


def line_chart(
    rows: Sequence[tuple[dt.datetime, Sequence[Decimal | None]]],
    *,
    series: Sequence[tuple[str, str]],
    unit: str,
) -> LineChart:
    """A chart of one or more series sharing a time axis.

    `rows` are (moment, values) oldest first, one value per series (None where missing); `series`
    gives each series' (key, label). The x axis is proportional to time; a single moment sits in
    the middle. At most three dates are labelled (first, middle, last) so they never overlap."""
    left, right = MARGIN_LEFT, WIDTH - MARGIN_RIGHT
    top, bottom = MARGIN_TOP, HEIGHT - MARGIN_BOTTOM
    values = [float(v) for _, vs in rows for v in vs if v is not None]
    if not values:
        return LineChart([ChartSeries(k, label, []) for k, label in series], [], [], unit)
    low, high, step = y_axis(values)
    moments = [at for at, _ in rows]
    t0, t1 = min(moments), max(moments)
    span = (t1 - t0).total_seconds()

    def x_of(at: dt.datetime) -> float:
        if span <= 0:
            return (left + right) / 2
        return left + (right - left) * (at - t0).total_seconds() / span

    def y_of(value: float) -> float:
        return bottom - (bottom - top) * (value - low) / (high - low)

    out = []
    for index, (key, label) in enumerate(series):
        points = [
            ChartPoint(x_of(at), y_of(float(vs[index])), at, vs[index])  # type: ignore[arg-type]
            for at, vs in rows
            if index < len(vs) and vs[index] is not None
        ]
        out.append(ChartSeries(key, label, points))
    y_ticks = []
    count = round((high - low) / step)
    for i in range(count + 1):
        value = low + i * step
        y_ticks.append(Tick(y_of(value), _format_tick(value, step)))
    if span <= 0:
        x_ticks = [(x_of(t0), t0)]
    else:
        labelled = [t0, t0 + (t1 - t0) / 2, t1] if len(rows) > 2 else [t0, t1]
        x_ticks = [(x_of(at), at) for at in labelled]
    return LineChart(out, y_ticks, x_ticks, unit)
