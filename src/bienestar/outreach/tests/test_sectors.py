from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from shapely.geometry import shape

from bienestar.outreach.models import Sector
from bienestar.synth.outreach_sectors import allocate, plan_sectors, split_equal_area
from bienestar.territories.models import Territory, TerritoryKind


@given(
    st.lists(st.floats(min_value=0.01, max_value=1000), min_size=1, max_size=40),
    st.integers(min_value=0, max_value=3),
    st.integers(min_value=0, max_value=500),
)
def test_allocate_gives_exactly_the_total_and_the_minimum(weights, minimum, extra):
    total = minimum * len(weights) + extra
    counts = allocate(weights, total, minimum)
    assert sum(counts) == total
    assert min(counts) >= minimum


def test_split_equal_area_gives_that_many_parts_covering_the_shape():
    square = shape({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]})
    parts = split_equal_area(square, 7, random.Random(1))
    assert len(parts) == 7
    assert all(abs(p.area - 1 / 7) < 1e-6 for p in parts)
    assert abs(sum(p.area for p in parts) - 1) < 1e-9


def test_plan_on_real_upz_is_1866_sectors_reproducible_and_inside_their_upz(bogota_dir):
    first = plan_sectors(bogota_dir, seed=1)
    again = plan_sectors(bogota_dir, seed=1)
    other = plan_sectors(bogota_dir, seed=2)
    assert len(first) == 1866
    rural = [p for p in first if p.area == "rural"]
    assert len(rural) == 66
    assert {p.localidad for p in rural} >= {"20", "05", "19"}  # Sumapaz, Usme, Ciudad Bolívar
    codes = [p.code for p in first]
    assert len(set(codes)) == 1866
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert [(p.code, p.path) for p in first] == [(p.code, p.path) for p in again]
    assert all(a.geometry.equals(b.geometry) for a, b in zip(first, again, strict=True))
    assert [p.code for p in other] != codes
    # Every urban sector lies inside the UPZ it is filed under.
    import json

    upz = {}
    for f in json.loads(
        (bogota_dir / "bogota/bogota_upz_sdp_rshiny_crimes_col.geojson").read_text()
    )["features"]:
        key = f"L{f['properties']['loc_codigo'].zfill(2)}.U{int(f['properties']['upz_codigo']):03d}"
        upz[key] = shape(f["geometry"]).buffer(1e-7)
    for p in first:
        if p.area == "urban":
            assert upz[p.parent_path.split("CO.11001.")[1]].contains(p.geometry)


def test_generated_sectors_are_cadastral_territories_under_upz_or_localidad(few_sectors):
    sectors = list(Sector.objects.select_related("territory__parent"))
    assert len(sectors) == 130
    assert {s.territory.kind for s in sectors} == {TerritoryKind.CADASTRAL_SECTOR}
    for s in sectors:
        parent_kind = s.territory.parent.kind
        assert parent_kind == (
            TerritoryKind.UPZ if s.area == "urban" else TerritoryKind.BOGOTA_LOCALIDAD
        )
        assert s.subnetwork_id == s.territory.parent.subnetwork_id is not None
        assert s.territory.path.endswith(".S" + s.code)
        assert s.geometry["type"] in {"Polygon", "MultiPolygon"}
    assert sum(1 for s in sectors if s.area == "rural") == 10


def test_regenerating_with_the_same_seed_changes_nothing(few_sectors, bogota):
    from bienestar.synth.outreach_sectors import generate_sectors

    before = list(Sector.objects.order_by("code").values())
    count = Territory.objects.count()
    generate_sectors(bogota, seed=3, total=130, rural_total=10)
    after = list(Sector.objects.order_by("code").values())
    assert Territory.objects.count() == count
    strip = lambda rows: [{k: v for k, v in r.items() if k != "updated_at"} for r in rows]  # noqa: E731
    assert strip(before) == strip(after)


@pytest.mark.django_db
def test_sector_indicator_out_of_range_is_refused_by_the_database(few_sectors):
    from django.db import IntegrityError, transaction

    sector = Sector.objects.first()
    with pytest.raises(IntegrityError), transaction.atomic():
        Sector.objects.filter(pk=sector.pk).update(poverty_share="1.5")
