"""Population, Bogotá's geography, the specialty catalogue, and the small parsers behind them."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import pytest

from bienestar.reference.codes import _forms_by_key
from bienestar.reference.core import RowError
from bienestar.reference.geometry import centroid
from bienestar.reference.services import reference_load
from bienestar.territories.models import PopulationDenominator, Territory, TerritoryKind
from bienestar.workforce.models import Specialty

pytestmark = pytest.mark.django_db

CONAPO = "population/conapo_proyecciones_pob_estados_genero_1950_2070.csv"
CENSUS_MUNICIPALITIES = "population/censo2020_afiliacion_salud_municipios.csv"


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def square(lon: float, lat: float, size: float = 0.02) -> dict[str, object]:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def write_geojson(path: Path, features: list[tuple[dict[str, object], dict[str, object]]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": p, "geometry": g} for p, g in features],
    }
    path.write_text(json.dumps(data), encoding="utf-8")


def conapo_rows(key: str, name: str, year: int, total: int) -> list[list[object]]:
    male = total // 2
    return [
        [year, name, key, "Hombres", male, male],
        [year, name, key, "Mujeres", total - male, total - male],
        [year, name, key, "Total", total, total],
    ]


def test_conapo_keeps_2024_to_2026_and_the_nation(tmp_path):
    rows = [
        *conapo_rows("00", "Nacional", 2023, 131),
        *conapo_rows("00", "Nacional", 2025, 133_000_000),
        *conapo_rows("20", "Oaxaca", 2025, 4_339_377),
    ]
    write_csv(
        tmp_path / CONAPO,
        ["n_year", "nombre_estado", "cve_ent", "genero", "pob_start_year", "pob_mid_year"],
        rows,
    )

    report = reference_load(directory=tmp_path, only=["population"])

    assert not report.refused
    oaxaca = PopulationDenominator.objects.get(
        territory__path="MX.20", year=2025, source__startswith="CONAPO"
    )
    assert (oaxaca.total, oaxaca.male, oaxaca.female) == (4_339_377, 2_169_688, 2_169_689)
    assert PopulationDenominator.objects.get(territory__path="MX", year=2025).total == 133_000_000
    assert not PopulationDenominator.objects.filter(year=2023).exists()
    [result] = [r for r in report.results if r.label == CONAPO]
    assert (result.read, result.created, result.skipped) == (9, 2, 3)


def test_conapo_with_an_unknown_sex_is_refused(tmp_path):
    rows = [*conapo_rows("20", "Oaxaca", 2025, 100), [2025, "Oaxaca", "20", "Otro", 1, 1]]
    write_csv(
        tmp_path / CONAPO,
        ["n_year", "nombre_estado", "cve_ent", "genero", "pob_start_year", "pob_mid_year"],
        rows,
    )

    report = reference_load(directory=tmp_path, only=["population"])

    [refused] = report.refused
    assert refused.issues[0].where == f"{CONAPO}:5"
    assert not PopulationDenominator.objects.filter(
        source__startswith="CONAPO", year=2025, territory__path="MX.20", total=100
    ).exists()


def test_census_rows_of_municipalities_not_loaded_are_skipped_and_said(tmp_path):
    header = ["cvegeo", "state_id", "state", "municipality", "POBTOT", "PSINDER"]
    write_csv(
        tmp_path / CENSUS_MUNICIPALITIES,
        header,
        [["20067", 20, "Oaxaca", "Oaxaca de Juárez", 270955, 98262]],
    )

    report = reference_load(directory=tmp_path, only=["population"])

    [result] = [r for r in report.results if r.label == CENSUS_MUNICIPALITIES]
    assert (result.refused, result.skipped) == (False, 1)
    assert "MX.20.067" in result.notes[0]


def test_census_with_more_uninsured_than_people_is_refused(tmp_path):
    header = ["cvegeo", "state_id", "state", "municipality", "POBTOT", "PSINDER"]
    write_csv(
        tmp_path / CENSUS_MUNICIPALITIES,
        header,
        [["20067", 20, "Oaxaca", "Oaxaca de Juárez", 100, 101]],
    )

    report = reference_load(directory=tmp_path, only=["population"])

    [refused] = report.refused
    assert refused.issues[0].where == f"{CENSUS_MUNICIPALITIES}:2"
    assert "PSINDER" in refused.issues[0].reason


def test_bogota_upz_go_under_their_localidad_with_its_subnetwork(tmp_path):
    write_geojson(
        tmp_path / "bogota" / "bogota_localidades_ideca.geojson",
        [({"LocCodigo": "08", "LocNombre": "KENNEDY"}, square(-74.18, 4.60, 0.04))],
    )
    write_geojson(
        tmp_path / "bogota" / "bogota_upz_sdp_rshiny_crimes_col.geojson",
        [
            (
                {"upz_codigo": "80", "upz_nombre": "CORABASTOS", "loc_codigo": "08"},
                square(-74.17, 4.62),
            ),
            (
                {"upz_codigo": "16", "upz_nombre": "SANTA BARBARA", "loc_codigo": "01"},
                square(-74.05, 4.70),
            ),
        ],
    )
    write_csv(
        tmp_path / "bogota" / "dane_proyecciones_bogota_11001_edad_sexo.csv",
        ["cod_mpio", "anio", "poblacion", "sexo", "edad"],
        [
            [11001, 2025, 100, "Hombres", 0],
            [11001, 2025, 110, "Mujeres", 0],
            [11001, 2025, 90, "Hombres", 1],
            [5001, 2025, 7, "Hombres", 0],
        ],
    )

    first = reference_load(directory=tmp_path, only=["bogota"])
    second = reference_load(directory=tmp_path, only=["bogota"])

    assert not first.refused
    upz = Territory.objects.get(path="CO.11001.L08.U080")
    assert (upz.kind, upz.code, upz.name, upz.parent.name) == (
        TerritoryKind.UPZ,
        "80",
        "Corabastos",
        "Kennedy",
    )
    assert upz.subnetwork.code == "SUR_OCCIDENTE"
    assert (upz.latitude, upz.longitude) == (Decimal("4.630000"), Decimal("-74.160000"))
    assert Territory.objects.get(path="CO.11001.L01.U016").subnetwork.code == "NORTE"
    assert Territory.objects.get(path="CO.11001.L08").latitude == Decimal("4.620000")
    population = PopulationDenominator.objects.get(territory__path="CO.11001", year=2025)
    assert (population.total, population.male, population.female) == (300, 190, 110)
    assert all(r.created == r.updated == 0 for r in second.results)


def test_upz_of_an_unknown_localidad_refuses_the_file(tmp_path):
    write_geojson(
        tmp_path / "bogota" / "bogota_upz_sdp_rshiny_crimes_col.geojson",
        [
            (
                {"upz_codigo": "80", "upz_nombre": "CORABASTOS", "loc_codigo": "08"},
                square(-74.17, 4.62),
            ),
            (
                {"upz_codigo": "999", "upz_nombre": "NINGUNA", "loc_codigo": "42"},
                square(-74.17, 4.62),
            ),
        ],
    )

    report = reference_load(directory=tmp_path, only=["bogota"])

    [refused] = report.refused
    assert refused.issues[0].where == "bogota/bogota_upz_sdp_rshiny_crimes_col.geojson:feature 2"
    assert not Territory.objects.filter(kind=TerritoryKind.UPZ).exists()


def test_centroid_of_a_polygon_with_a_hole_and_of_a_multipolygon():
    outer = [[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]]
    hole = [[0, 0], [0, 2], [2, 2], [2, 0], [0, 0]]  # lower-left quarter removed
    assert centroid({"type": "Polygon", "coordinates": [outer, hole]}) == (
        Decimal("2.333333"),
        Decimal("2.333333"),
    )
    two = {
        "type": "MultiPolygon",
        "coordinates": [
            [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]],
            [[[2, 0], [3, 0], [3, 1], [2, 1], [2, 0]]],
        ],
    }
    assert centroid(two) == (Decimal("0.500000"), Decimal("1.500000"))
    with pytest.raises(RowError):
        centroid({"type": "Point", "coordinates": [0, 0]})


def test_forms_are_read_from_scrambled_descriptions_but_strength_is_not_guessed():
    text = (
        "TABLETA Diabetes mellitus tipo 2. Oral. Cada tableta contiene: Adultos: Clorhidrato de metformina 850 mg. "
        "010.000.5165.00 Envase con 30 tabletas. SOLUCIÓN INYECTABLE Cada ampolleta contiene: 010.000.9999.00 "
        "Envase con 5 ampolletas. 010.000.9999.01 Envase con 10 ampolletas."
    )
    assert _forms_by_key(text) == {
        "010.000.5165.00": "Tableta",
        "010.000.9999.00": "Solución inyectable",
        "010.000.9999.01": "Solución inyectable",
    }


def test_the_specialty_catalogue_is_seeded_with_the_six_core_specialties():
    core = set(Specialty.objects.filter(is_core=True).values_list("code", flat=True))
    assert core == {
        "general_surgery",
        "anaesthesiology",
        "paediatrics",
        "obstetrics_gynaecology",
        "internal_medicine",
        "emergency_medicine",
    }
    family = Specialty.objects.get(code="family_medicine")
    assert (family.name, family.name_en, family.is_medical) == (
        "Medicina familiar",
        "Family medicine",
        True,
    )
    assert Specialty.objects.get(code="nursing").is_medical is False
    for code in [
        "general_practice",
        "psychology",
        "nutrition",
        "dentistry",
        "rehabilitation_therapy",
        "environmental_engineering",
        "social_work",
        "pharmacy",
        "epidemiology",
    ]:
        assert Specialty.objects.filter(code=code).exists(), code
