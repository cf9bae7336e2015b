"""Choropleth maps of states and municipalities drawn on the server as SVG (no JS, no tiles).

Boundaries come from the reference directory (`geo_mexico/`: INEGI's state outlines and the 2020
municipal outlines, simplified); without it there is no map and the page says so. Coordinates are
projected equirectangularly around the shown area's mean latitude and fitted to the view box;
vertices closer than half a pixel are dropped. Parsed shapes are cached per process.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from bienestar.config.home import reference_dir

STATES_FILE = "geo_mexico/mexico_estados_00ent_simplified.geojson"
MUNICIPALITIES_FILE = "geo_mexico/mexico_municipios_2020_mxmaps_simplified.geojson"
WIDTH, HEIGHT, PAD = 640, 420, 8
# Five classes, light to dark (the page's CSS repeats no colour: they are inline fills).
PALETTE = ("#edf8e9", "#bae4b3", "#74c476", "#31a354", "#006d2c")
MISSING = "#d9d9d9"

Ring = list[tuple[float, float]]


@dataclass(frozen=True)
class Shape:
    path: str  # territory path, e.g. MX.13 or MX.13.048
    name: str
    rings: tuple[tuple[tuple[float, float], ...], ...]  # lon/lat


@dataclass(frozen=True)
class MapArea:
    path: str
    name: str
    d: str
    fill: str
    label: str
    href: str


@dataclass(frozen=True)
class ChoroplethMap:
    areas: list[MapArea]
    legend: list[tuple[str, str]]
    width: int = WIDTH
    height: int = HEIGHT


def _rings(geometry: dict) -> Iterable[Ring]:  # type: ignore[type-arg]
    if geometry["type"] == "Polygon":
        polygons = [geometry["coordinates"]]
    elif geometry["type"] == "MultiPolygon":
        polygons = geometry["coordinates"]
    else:
        return []
    return [[(float(x), float(y)) for x, y, *_ in ring] for poly in polygons for ring in poly]


@functools.lru_cache(maxsize=4)
def _load(relative: str) -> tuple[Shape, ...]:
    directory = reference_dir()
    if directory is None or not (Path(directory) / relative).is_file():
        return ()
    data = json.loads((Path(directory) / relative).read_text(encoding="utf-8"))
    shapes = []
    for feature in data.get("features", []):
        props = feature.get("properties") or {}
        if "cve_geo" in props:
            path, name = f"MX.{props['cve_geo']}", props.get("nombre_estado", "")
        elif "cvegeo" in props:
            key = str(props["cvegeo"]).zfill(5)
            path, name = f"MX.{key[:2]}.{key[2:]}", props.get("nom_mun", "")
        else:
            continue
        rings = tuple(tuple(r) for r in _rings(feature.get("geometry") or {}))
        if rings:
            shapes.append(Shape(path, name, rings))
    return tuple(shapes)


def shapes_for(parent: str) -> list[Shape]:
    """The states (parent "MX") or the municipalities of a state (parent "MX.13")."""
    if parent == "MX":
        return list(_load(STATES_FILE))
    if parent.count(".") == 1:
        return [s for s in _load(MUNICIPALITIES_FILE) if s.path.startswith(parent + ".")]
    return []


def _project(shapes: Sequence[Shape]) -> list[str]:
    points = [p for s in shapes for ring in s.rings for p in ring]
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    k = math.cos(math.radians((min(lats) + max(lats)) / 2))
    x0, x1 = min(lons) * k, max(lons) * k
    y0, y1 = min(lats), max(lats)
    scale = min((WIDTH - 2 * PAD) / ((x1 - x0) or 1), (HEIGHT - 2 * PAD) / ((y1 - y0) or 1))
    ox = PAD + ((WIDTH - 2 * PAD) - (x1 - x0) * scale) / 2
    oy = PAD + ((HEIGHT - 2 * PAD) - (y1 - y0) * scale) / 2
    out = []
    for shape in shapes:
        parts = []
        for ring in shape.rings:
            last: tuple[float, float] | None = None
            coords = []
            for lon, lat in ring:
                x = ox + (lon * k - x0) * scale
                y = oy + (y1 - lat) * scale
                if last is None or abs(x - last[0]) + abs(y - last[1]) >= 0.5:
                    coords.append(f"{x:.1f},{y:.1f}")
                    last = (x, y)
            if len(coords) >= 3:
                parts.append("M" + "L".join(coords) + "Z")
        out.append("".join(parts))
    return out


def classes(values: Sequence[Decimal]) -> list[Decimal]:
    """Upper bounds of up to five equal-count classes (quantiles) of the values."""
    ordered = sorted(values)
    if not ordered:
        return []
    n = len(PALETTE)
    bounds = [
        ordered[min(len(ordered) - 1, math.ceil(len(ordered) * (i + 1) / n) - 1)] for i in range(n)
    ]
    return sorted(set(bounds))


def choropleth(
    parent: str,
    values: dict[str, Decimal | None],
    *,
    label: Callable[[Decimal | None], str],
    href: Callable[[str], str],
    allowed: Callable[[str], bool],
) -> ChoroplethMap | None:
    """The map of `parent`'s children coloured by `values` (territory path → value; None or
    absent: no data). Only children for which `allowed(path)` holds are drawn."""
    shapes = [s for s in shapes_for(parent) if allowed(s.path)]
    if not shapes:
        return None
    known = [v for v in values.values() if v is not None]
    bounds = classes(known)
    ds = _project(shapes)
    areas = []
    for shape, d in zip(shapes, ds, strict=True):
        value = values.get(shape.path)
        if value is None:
            fill = MISSING
        else:
            index = next((i for i, b in enumerate(bounds) if value <= b), len(bounds) - 1)
            fill = PALETTE[index + len(PALETTE) - len(bounds)]
        areas.append(MapArea(shape.path, shape.name, d, fill, label(value), href(shape.path)))
    legend = [
        (PALETTE[i + len(PALETTE) - len(bounds)], f"≤ {label(b)}") for i, b in enumerate(bounds)
    ]
    return ChoroplethMap(areas, legend)
