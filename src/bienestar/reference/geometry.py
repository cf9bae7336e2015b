"""Centroids of GeoJSON polygons, so territories carry a representative point without GIS libraries."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bienestar.reference.core import SIX_PLACES, RowError


def _ring_moments(ring: list[list[float]]) -> tuple[float, float, float]:
    """Signed area and first moments of one closed ring (shoelace formula)."""
    area = cx = cy = 0.0
    for (x0, y0, *_), (x1, y1, *_) in zip(ring, ring[1:] + ring[:1], strict=True):
        cross = x0 * y1 - x1 * y0
        area += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    return area / 2, cx / 6, cy / 6


def centroid(geometry: dict[str, Any] | None) -> tuple[Decimal, Decimal]:
    """(latitude, longitude) of the area-weighted centroid of a Polygon or MultiPolygon.

    Computed on the longitude/latitude plane: for a city district or a municipality the error
    against a projected centroid is far below what a map pin needs."""
    if not geometry or geometry.get("type") not in {"Polygon", "MultiPolygon"}:
        raise RowError("la geometría no es Polygon ni MultiPolygon")
    polygons = (
        [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    )
    total = mx = my = 0.0
    try:
        for polygon in polygons:
            for index, ring in enumerate(polygon):
                area, cx, cy = _ring_moments(ring)
                # Outer ring adds, holes subtract, whatever the winding order of the file.
                sign = 1 if index == 0 else -1
                if (area < 0) == (sign > 0):
                    area, cx, cy = -area, -cx, -cy
                total += area
                mx += cx
                my += cy
    except (TypeError, ValueError) as exc:
        raise RowError(f"coordenadas inválidas: {exc}") from exc
    if total == 0:
        raise RowError("la geometría tiene área cero")
    lon, lat = mx / total, my / total
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise RowError(
            "el centroide está fuera de rango; ¿coordenadas proyectadas en vez de WGS84?"
        )
    return Decimal(repr(lat)).quantize(SIX_PLACES), Decimal(repr(lon)).quantize(SIX_PLACES)
