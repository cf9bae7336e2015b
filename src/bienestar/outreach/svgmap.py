"""Sector shapes as SVG paths, drawn on the server (no tile server, no script, no CDN).

Longitude/latitude are projected equirectangularly around the shapes' mean latitude, which for a
city is indistinguishable from a proper projection at screen size.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

WIDTH = 1000.0


@dataclass(frozen=True)
class MapShape:
    key: str
    label: str
    href: str
    css: str
    d: str


def _rings(geometry: dict[str, Any]) -> list[list[list[float]]]:
    if geometry.get("type") == "Polygon":
        return list(geometry["coordinates"])
    if geometry.get("type") == "MultiPolygon":
        return [ring for polygon in geometry["coordinates"] for ring in polygon]
    return []


def render(
    items: Iterable[tuple[str, str, str, str, dict[str, Any]]],
) -> tuple[list[MapShape], str]:
    """(key, label, href, css class, GeoJSON geometry) → shapes with SVG path data, and the viewBox."""
    items = list(items)
    points = [p for *_r, g in items for ring in _rings(g) for p in ring]
    if not points:
        return [], "0 0 100 100"
    min_lon = min(p[0] for p in points)
    max_lon = max(p[0] for p in points)
    min_lat = min(p[1] for p in points)
    max_lat = max(p[1] for p in points)
    kx = math.cos(math.radians((min_lat + max_lat) / 2))
    span = max((max_lon - min_lon) * kx, max_lat - min_lat, 1e-9)
    scale = WIDTH / span
    height = (max_lat - min_lat) * scale

    def xy(p: list[float]) -> str:
        return f"{(p[0] - min_lon) * kx * scale:.1f} {(max_lat - p[1]) * scale:.1f}"

    shapes = []
    for key, label, href, css, geometry in items:
        d = " ".join(
            "M" + " L".join(xy(p) for p in ring[:-1]) + " Z" for ring in _rings(geometry) if ring
        )
        shapes.append(MapShape(key=key, label=label, href=href, css=css, d=d))
    return shapes, f"0 0 {(max_lon - min_lon) * kx * scale:.0f} {height:.0f}"
