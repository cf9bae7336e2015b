"""Synthetic cadastral sectors inside Bogotá's real UPZ shapes, and rural sectors in the rest of each
localidad (Sumapaz is wholly rural).

Bogotá's cadastral sectors are not published with the reference data, so this module cuts each UPZ
shape (SDP's file) into sectors by recursive bisection of equal area, and the part of each
localidad outside every UPZ (IDECA's file) into rural sectors. Codes keep the official format (6
characters, digits). Population, households and the indicators that feed the priority score are
drawn from a simple synthetic model: risk rises to the south and in rural land, with a random
effect per UPZ and per sector. Nothing here is an official figure.

Guarantees: the same seed and the same reference files give the same sectors, codes, shapes and
indicators (every draw comes from `random.Random(seed)`); re-running updates the rows in place
(keyed by territory path), so it is idempotent; all is written in one transaction.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import shapely
from django.db import transaction
from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry

from bienestar.outreach.models import Sector
from bienestar.reference.bogota import DISTRICT_PATH, localidad_path, upz_path
from bienestar.territories.models import Area, PopulationDenominator, Territory, TerritoryKind

TARGET_SECTORS = 1866
RURAL_SECTORS = 66
DISTRICT_POPULATION_FALLBACK = 7_968_095  # DANE projection for 2026 (used when not loaded)
RURAL_POPULATION = 17_000
SOURCE = "sintético (semilla {seed}) dentro de las UPZ de la SDP y las localidades de IDECA"
UPZ_FILE = "bogota/bogota_upz_sdp_rshiny_crimes_col.geojson"
LOCALIDADES_FILE = "bogota/bogota_localidades_ideca.geojson"
# km per degree at Bogotá's latitude, to turn degrees² into km² for allocation and density.
KM_PER_DEG_LAT = 110.57
KM_PER_DEG_LON = 111.32 * math.cos(math.radians(4.65))
MIN_RURAL_KM2 = 0.5  # smaller leftovers between the two files' boundaries are slivers, not land


@dataclass
class PlannedSector:
    path: str
    parent_path: str
    code: str
    name: str
    area: str
    geometry: BaseGeometry
    localidad: str


def _km2(geom: BaseGeometry) -> float:
    return float(geom.area) * KM_PER_DEG_LAT * KM_PER_DEG_LON


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    """Only the polygons of a clip result (clipping may leave lines or points on the cut)."""
    if isinstance(geom, Polygon | MultiPolygon):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if isinstance(g, Polygon) and not g.is_empty]
    return MultiPolygon(parts) if parts else Polygon()


def split_equal_area(geom: BaseGeometry, pieces: int, rng: random.Random) -> list[BaseGeometry]:
    """`pieces` parts of about equal area, by cutting across the longer side at the area
    quantile (bisection on the cut position); the cut direction of near-square parts is drawn."""
    if pieces <= 1:
        return [geom]
    first = pieces // 2
    minx, miny, maxx, maxy = geom.bounds
    width = (maxx - minx) * KM_PER_DEG_LON
    height = (maxy - miny) * KM_PER_DEG_LAT
    vertical_cut = (
        width > height if not 0.8 < width / max(height, 1e-9) < 1.25 else rng.random() < 0.5
    )
    target = geom.area * first / pieces
    lo, hi = (minx, maxx) if vertical_cut else (miny, maxy)

    def part_before(at: float) -> BaseGeometry:
        if vertical_cut:
            return _polygonal(shapely.clip_by_rect(geom, minx, miny, at, maxy))
        return _polygonal(shapely.clip_by_rect(geom, minx, miny, maxx, at))

    for _ in range(40):
        mid = (lo + hi) / 2
        if part_before(mid).area < target:
            lo = mid
        else:
            hi = mid
    cut = (lo + hi) / 2
    before = part_before(cut)
    after = _polygonal(
        shapely.clip_by_rect(geom, cut, miny, maxx, maxy)
        if vertical_cut
        else shapely.clip_by_rect(geom, minx, cut, maxx, maxy)
    )
    return split_equal_area(before, first, rng) + split_equal_area(after, pieces - first, rng)


def allocate(weights: list[float], total: int, minimum: int) -> list[int]:
    """Largest-remainder apportionment of `total` over `weights`, each at least `minimum`."""
    counts = [minimum] * len(weights)
    left = total - minimum * len(weights)
    whole = sum(weights)
    shares = [w / whole * left for w in weights]
    for i, share in enumerate(shares):
        counts[i] += int(share)
    remainder = total - sum(counts)
    order = sorted(range(len(weights)), key=lambda i: (-(shares[i] - int(shares[i])), i))
    for i in order[:remainder]:
        counts[i] += 1
    return counts


def _features(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return list(json.load(handle)["features"])


def _rounded(geom: BaseGeometry) -> dict[str, Any]:
    simplified = geom.simplify(0.00002, preserve_topology=True)
    if simplified.is_empty:
        simplified = geom
    data = mapping(simplified)

    def walk(value: Any) -> Any:
        if isinstance(value, list | tuple):
            if value and isinstance(value[0], float | int):
                return [round(float(v), 6) for v in value[:2]]
            return [walk(v) for v in value]
        return value

    return {"type": data["type"], "coordinates": walk(data["coordinates"])}


def plan_sectors(
    reference_dir: Path, seed: int, *, total: int = TARGET_SECTORS, rural_total: int = RURAL_SECTORS
) -> list[PlannedSector]:
    """The sectors' paths, codes, names and shapes (no database access)."""
    rng = random.Random(seed)
    upz_features = sorted(
        _features(reference_dir / UPZ_FILE),
        key=lambda f: (f["properties"]["loc_codigo"].zfill(2), int(f["properties"]["upz_codigo"])),
    )
    upz = [
        (
            f["properties"]["loc_codigo"].zfill(2),
            int(f["properties"]["upz_codigo"]),
            str(f["properties"]["upz_nombre"]).title(),
            shape(f["geometry"]).buffer(0),
        )
        for f in upz_features
    ]
    urban_union = shapely.union_all([g for *_rest, g in upz])
    rural: list[tuple[str, str, BaseGeometry]] = []
    for feature in sorted(
        _features(reference_dir / LOCALIDADES_FILE),
        key=lambda f: str(f["properties"]["LocCodigo"]).zfill(2),
    ):
        code = str(feature["properties"]["LocCodigo"]).zfill(2)
        rest = shape(feature["geometry"]).buffer(0).difference(urban_union)
        parts = [
            p
            for p in getattr(rest, "geoms", [rest])
            if isinstance(p, Polygon) and _km2(p) >= MIN_RURAL_KM2
        ]
        if parts:
            rural.append(
                (code, str(feature["properties"]["LocNombre"]).title(), MultiPolygon(parts))
            )

    urban_total = total - rural_total
    if urban_total < len(upz):
        raise ValueError(f"se necesitan al menos {len(upz)} sectores urbanos (uno por UPZ)")
    urban_counts = allocate(
        [_km2(g) for *_r, g in upz], urban_total, min(3, urban_total // len(upz))
    )
    rural_counts = allocate(
        [math.sqrt(_km2(g)) for *_r, g in rural],
        rural_total,
        min(2, rural_total // max(1, len(rural))),
    )
    urban_codes = sorted(rng.sample(range(1000, 10_000), sum(urban_counts)))
    rural_codes = sorted(rng.sample(range(1000, 10_000), sum(rural_counts)))

    planned: list[PlannedSector] = []
    codes = iter(urban_codes)
    for (localidad, upz_code, upz_name, geom), count in zip(upz, urban_counts, strict=True):
        for i, piece in enumerate(split_equal_area(geom, count, rng), start=1):
            code = f"{next(codes):06d}"
            parent = upz_path(localidad, upz_code)
            planned.append(
                PlannedSector(
                    path=f"{parent}.S{code}",
                    parent_path=parent,
                    code=code,
                    name=f"{upz_name} {i}",
                    area=Area.URBAN,
                    geometry=piece,
                    localidad=localidad,
                )
            )
    codes = iter(rural_codes)
    for (localidad, name, geom), count in zip(rural, rural_counts, strict=True):
        if count == 0:
            continue
        for i, piece in enumerate(split_equal_area(geom, count, rng), start=1):
            code = f"2{next(codes):05d}"
            parent = localidad_path(localidad)
            planned.append(
                PlannedSector(
                    path=f"{parent}.S{code}",
                    parent_path=parent,
                    code=code,
                    name=f"{name} rural {i}",
                    area=Area.RURAL,
                    geometry=piece,
                    localidad=localidad,
                )
            )
    return planned


def _clamp(value: float, low: float = 0.0, high: float = 1.0) -> float:
    return max(low, min(high, value))


def _share(value: float) -> Decimal:
    return Decimal(f"{_clamp(value):.4f}")


def _district_population() -> int:
    row = (
        PopulationDenominator.objects.filter(territory__path=DISTRICT_PATH)
        .order_by("-year")
        .values_list("total", flat=True)
        .first()
    )
    return int(row) if row else DISTRICT_POPULATION_FALLBACK


@transaction.atomic
def generate_sectors(
    reference_dir: Path,
    *,
    seed: int = 1,
    total: int = TARGET_SECTORS,
    rural_total: int = RURAL_SECTORS,
) -> int:
    """Write (or rewrite in place) the synthetic sectors under Bogotá's UPZ and localidades.
    Needs the localidades and UPZ loaded (`bienestar load-reference`). Returns how many."""
    planned = plan_sectors(reference_dir, seed, total=total, rural_total=rural_total)
    rng = random.Random(seed * 7919 + 1)
    parents = {
        t.path: t
        for t in Territory.objects.filter(path__in={p.parent_path for p in planned}).select_related(
            "subnetwork"
        )
    }
    missing = {p.parent_path for p in planned} - parents.keys()
    if missing:
        raise ValueError(f"faltan {len(missing)} UPZ o localidades; ejecute load-reference")
    upz_effect: dict[str, float] = {}
    drafts: list[dict[str, Any]] = []
    for p in planned:
        centre = p.geometry.representative_point()
        lat, lon = float(centre.y), float(centre.x)
        south = _clamp((4.72 - lat) / 0.22)
        effect = upz_effect.setdefault(p.parent_path, rng.gauss(0, 0.09))
        rural = p.area == Area.RURAL
        risk = _clamp(
            (0.4 if rural else 0.18 + 0.55 * south) + effect + rng.gauss(0, 0.12 if rural else 0.07)
        )
        density = 4_000 + 26_000 * rng.random() * (0.5 + risk)
        drafts.append(
            {
                "planned": p,
                "lat": lat,
                "lon": lon,
                "risk": risk,
                "weight": (_km2(p.geometry) * density) if not rural else _km2(p.geometry),
                "persons_per_household": 2.5 + 0.7 * risk,
            }
        )
    urban_total = _district_population() - RURAL_POPULATION
    for rural_flag, pool in ((False, urban_total), (True, RURAL_POPULATION)):
        group = [d for d in drafts if (d["planned"].area == Area.RURAL) == rural_flag]
        weights = [d["weight"] for d in group]
        for d, people in zip(group, allocate(weights, pool, 20), strict=True):
            d["population"] = people

    source = SOURCE.format(seed=seed)
    territory_rows: list[Territory] = []
    sector_rows: list[dict[str, Any]] = []
    for d in drafts:
        p = d["planned"]
        parent = parents[p.parent_path]
        risk = d["risk"]
        rural = p.area == Area.RURAL
        latitude, longitude = Decimal(f"{d['lat']:.6f}"), Decimal(f"{d['lon']:.6f}")
        territory_rows.append(
            Territory(
                path=p.path,
                kind=TerritoryKind.CADASTRAL_SECTOR,
                code=p.code,
                name=p.name,
                parent=parent,
                area=p.area,
                subnetwork=parent.subnetwork,
                latitude=latitude,
                longitude=longitude,
                source=source,
            )
        )
        sector_rows.append(
            {
                "path": p.path,
                "code": p.code,
                "name": p.name,
                "area": p.area,
                "subnetwork": parent.subnetwork,
                "geometry": _rounded(p.geometry),
                "latitude": latitude,
                "longitude": longitude,
                "estimated_population": d["population"],
                "estimated_households": max(1, round(d["population"] / d["persons_per_household"])),
                "poverty_share": _share(0.03 + 0.5 * risk + rng.gauss(0, 0.03)),
                "uninsured_share": _share(0.02 + 0.2 * risk + rng.gauss(0, 0.02)),
                "under5_share": _share(0.04 + 0.05 * risk + rng.gauss(0, 0.008)),
                "over60_share": _share(0.2 - 0.08 * risk + rng.gauss(0, 0.02)),
                "anc_gap_share": _share(0.04 + 0.45 * risk + rng.gauss(0, 0.04)),
                "chronic_share": _share(0.1 + 0.12 * risk + rng.gauss(0, 0.02)),
                "distance_km": Decimal(
                    f"{(3 + 35 * rng.random()) if rural else (0.3 + 2.5 * risk * rng.random()):.2f}"
                ),
                "source": source,
            }
        )
    territory_fields = [
        "kind",
        "code",
        "name",
        "parent",
        "area",
        "subnetwork",
        "latitude",
        "longitude",
        "source",
    ]
    # One statement per batch whether the rows are new or regenerated (keyed by path).
    Territory.objects.bulk_create(
        territory_rows,
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["path"],
        update_fields=territory_fields,
    )
    ids = dict(
        Territory.objects.filter(path__in=[t.path for t in territory_rows]).values_list(
            "path", "id"
        )
    )
    sectors = [Sector(territory_id=ids[row.pop("path")], **row) for row in sector_rows]
    Sector.objects.bulk_create(
        sectors,
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["territory"],
        update_fields=[f for f in sector_rows[0] if f != "path"] if sector_rows else ["code"],
    )
    return len(sectors)


def publish_default_schemes() -> list[Any]:
    """Version 1 of the two published presets with the default weights, if not there yet."""
    from django.utils import timezone

    from bienestar.outreach import priority
    from bienestar.outreach.models import PriorityScheme

    weights = {k: str(v) for k, v in priority.validate_weights(priority.DEFAULT_WEIGHTS).items()}
    out = []
    for name, preset in (
        ("Rural y riesgo alto primero", priority.RURAL_HIGH_FIRST),
        ("Índice compuesto", priority.COMPOSITE),
    ):
        scheme, _created = PriorityScheme.objects.get_or_create(
            name=name,
            version=1,
            defaults={
                "preset": preset,
                "weights": weights,
                "high_cutoff": priority.DEFAULT_HIGH_CUTOFF,
                "medium_cutoff": priority.DEFAULT_MEDIUM_CUTOFF,
                "published_at": timezone.now(),
                "published_by": "<synth>",
                "notes": "Pesos por omisión publicados con los sectores sintéticos.",
            },
        )
        out.append(scheme)
    return out
