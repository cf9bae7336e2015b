"""Bogotá: the district, its 20 localidades, 112 UPZ, the four subnetworks and DANE's projections.

Paths: `CO`, `CO.11001` (Bogotá, D.C., DANE municipal key), `CO.11001.L08` (localidad 08),
`CO.11001.L08.U080` (UPZ 80); cadastral sectors go below (`…U080.S0123`). The localidades, their
names and their subnetwork are stable public facts the project ships; the official files add the
shapes' centroids, the UPZ and the population.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _

from bienestar.reference.core import (
    FileResult,
    Issues,
    RowError,
    geojson_features,
    read_csv,
    required_int,
    sync_rows,
    text,
    title_es,
    unique_by,
    validate_rows,
    zero_padded,
)
from bienestar.reference.geometry import centroid
from bienestar.reference.mexico import PACKAGE_DATA, territory_ids
from bienestar.territories.models import PopulationDenominator, Subnetwork, Territory, TerritoryKind

DISTRICT_PATH = "CO.11001"
SOURCE_LOCALIDADES = (
    "Concejo de Bogotá, Acuerdo 117 de 2003; Secretaría Distrital de Salud (subredes)"
)
SOURCE_UPZ = "Secretaría Distrital de Planeación de Bogotá (UPZ)"
SOURCE_DANE = "DANE, proyecciones de población municipal (base CNPV 2018)"


def localidad_path(code: str) -> str:
    return f"{DISTRICT_PATH}.L{code}"


def upz_path(localidad: str, upz: int) -> str:
    return f"{localidad_path(localidad)}.U{upz:03d}"


def _package_csv(name: str) -> list[dict[str, str]]:
    with (PACKAGE_DATA / name).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def load_localidades(result: FileResult) -> None:
    """Colombia, Bogotá D.C., the four subnetworks and the 20 localidades assigned to them."""
    subnetworks = _package_csv("bogota_subnetworks.csv")
    localidades = _package_csv("bogota_localidades.csv")
    result.read = (
        len(subnetworks) + len(localidades) + 2
    )  # and the rows for Colombia and Bogotá D.C.
    issues = Issues(result.label)
    known = {row["code"] for row in subnetworks}
    for i, row in enumerate(localidades):
        if row["subnetwork"] not in known:
            issues.add(i + 2, _("subred desconocida: %(code)s") % {"code": row["subnetwork"]})
    issues.raise_if_any()

    result.add(
        sync_rows(
            Subnetwork,
            [{"code": r["code"], "name": r["name"]} for r in subnetworks],
            key=["code"],
            fields=["name"],
        )
    )
    subnetwork_ids = dict(Subnetwork.objects.values_list("code", "id"))
    fields = ["kind", "code", "name", "parent_id", "source"]
    result.add(
        sync_rows(
            Territory,
            [
                {
                    "path": "CO",
                    "kind": TerritoryKind.COUNTRY,
                    "code": "CO",
                    "name": "Colombia",
                    "parent_id": None,
                    "source": SOURCE_LOCALIDADES,
                }
            ],
            key=["path"],
            fields=fields,
        )
    )
    country = territory_ids(["CO"])["CO"]
    district = {
        "path": DISTRICT_PATH,
        "kind": TerritoryKind.DISTRICT,
        "code": "11001",
        "name": "Bogotá, D.C.",
        "parent_id": country,
        "source": SOURCE_LOCALIDADES,
    }
    result.add(sync_rows(Territory, [district], key=["path"], fields=fields))
    district_id = territory_ids([DISTRICT_PATH])[DISTRICT_PATH]
    rows = [
        {
            "path": localidad_path(r["code"]),
            "kind": TerritoryKind.BOGOTA_LOCALIDAD,
            "code": r["code"],
            "name": r["name"],
            "parent_id": district_id,
            "subnetwork_id": subnetwork_ids[r["subnetwork"]],
            "source": SOURCE_LOCALIDADES,
        }
        for r in localidades
    ]
    result.add(
        sync_rows(
            Territory, rows, key=["path"], fields=[*fields, "subnetwork_id"], label=result.label
        )
    )


def load_localidad_shapes(path: Path, result: FileResult) -> None:
    """IDECA's localidades (properties LocCodigo, LocNombre): sets each localidad's centroid."""
    issues = Issues(result.label)
    features = geojson_features(path, result.label)
    known = territory_ids(
        [localidad_path(r["code"]) for r in _package_csv("bogota_localidades.csv")]
    )

    def parse(feature: Any) -> dict[str, Any]:
        properties = feature.get("properties") or {}
        code = zero_padded(properties.get("LocCodigo"), "LocCodigo", 2)
        if localidad_path(code) not in known:
            raise RowError(_("localidad desconocida: %(code)s") % {"code": code})
        latitude, longitude = centroid(feature.get("geometry"))
        return {"path": localidad_path(code), "latitude": latitude, "longitude": longitude}

    records = validate_rows(
        [(f"feature {i + 1}", f) for i, f in enumerate(features)], issues, parse
    )
    unique_by(records, lambda r: r["path"], issues, _("localidad"))
    result.read = len(features)
    issues.raise_if_any()
    rows = [r for _w, r in records]
    result.add(
        sync_rows(
            Territory,
            rows,
            key=["path"],
            fields=["latitude", "longitude"],
            create=False,
            label=result.label,
        )
    )


def load_upz(path: Path, result: FileResult) -> None:
    """The UPZ (properties upz_codigo, upz_nombre, loc_codigo) under their localidad, with the
    localidad's subnetwork and the shape's centroid."""
    issues = Issues(result.label)
    features = geojson_features(path, result.label)
    localidades = {
        p: (pk, sub)
        for p, pk, sub in Territory.objects.filter(
            kind=TerritoryKind.BOGOTA_LOCALIDAD, path__startswith=DISTRICT_PATH + "."
        ).values_list("path", "id", "subnetwork_id")
    }

    def parse(feature: Any) -> dict[str, Any]:
        properties = feature.get("properties") or {}
        localidad = zero_padded(properties.get("loc_codigo"), "loc_codigo", 2)
        parent = localidades.get(localidad_path(localidad))
        if parent is None:
            raise RowError(_("localidad desconocida: %(code)s") % {"code": localidad})
        code = required_int(properties.get("upz_codigo"), "upz_codigo", minimum=1)
        if code > 999:
            raise RowError(_("upz_codigo fuera de rango: %(code)s") % {"code": code})
        name = text(
            {"upz_nombre": str(properties.get("upz_nombre") or "")},
            "upz_nombre",
            required=True,
            max_length=200,
        )
        latitude, longitude = centroid(feature.get("geometry"))
        return {
            "path": upz_path(localidad, code),
            "kind": TerritoryKind.UPZ,
            "code": str(code),
            "name": title_es(name),
            "parent_id": parent[0],
            "subnetwork_id": parent[1],
            "latitude": latitude,
            "longitude": longitude,
            "source": SOURCE_UPZ,
        }

    records = validate_rows(
        [(f"feature {i + 1}", f) for i, f in enumerate(features)], issues, parse
    )
    unique_by(records, lambda r: r["code"], issues, _("UPZ"))
    result.read = len(features)
    issues.raise_if_any()
    fields = [
        "kind",
        "code",
        "name",
        "parent_id",
        "subnetwork_id",
        "latitude",
        "longitude",
        "source",
    ]
    result.add(
        sync_rows(
            Territory, [r for _w, r in records], key=["path"], fields=fields, label=result.label
        )
    )


def _sync_district_population(result: FileResult, by_year: dict[int, dict[str, int]]) -> None:
    district = territory_ids([DISTRICT_PATH]).get(DISTRICT_PATH)
    if district is None:
        result.skipped += len(by_year)
        result.notes.append(_("Bogotá no está cargada"))
        return
    rows = [
        {
            "territory_id": district,
            "year": year,
            "total": v["male"] + v["female"],
            "male": v["male"],
            "female": v["female"],
            "source": SOURCE_DANE,
        }
        for year, v in sorted(by_year.items())
    ]
    result.add(
        sync_rows(
            PopulationDenominator,
            rows,
            key=["territory_id", "year", "source"],
            fields=["total", "male", "female"],
            scope=Q(territory_id=district, source=SOURCE_DANE),
            label=result.label,
        )
    )


def load_dane_population(path: Path, result: FileResult) -> None:
    """DANE projections by single year of age and sex (cod_mpio, anio, poblacion, sexo, edad),
    summed by year for Bogotá. Rows of other municipalities are skipped: only Bogotá is loaded."""
    issues = Issues(result.label)
    rows = list(
        read_csv(path, result.label, ["cod_mpio", "anio", "poblacion", "sexo", "edad"], issues)
    )
    by_year: dict[int, dict[str, int]] = defaultdict(lambda: {"male": 0, "female": 0})
    seen: dict[tuple[int, str, int], int | str] = {}
    sexes = {"Hombres": "male", "Mujeres": "female"}
    for where, row in rows:
        try:
            municipality = zero_padded(row["cod_mpio"], "cod_mpio", 5)
            year = required_int(row["anio"], "anio", minimum=1900)
            population = required_int(row["poblacion"], "poblacion")
            age = required_int(row["edad"], "edad")
            sex = sexes.get(row["sexo"].strip())
            if sex is None:
                raise RowError(_("sexo desconocido: %(value)r") % {"value": row["sexo"]})
        except RowError as exc:
            issues.add(where, str(exc))
            continue
        if municipality != "11001":
            result.skipped += 1
            continue
        if (year, sex, age) in seen:
            issues.add(
                where,
                _("fila repetida (ya en la línea %(first)s)") % {"first": seen[(year, sex, age)]},
            )
            continue
        seen[(year, sex, age)] = where
        by_year[year][sex] += population
    result.read = len(rows)
    issues.raise_if_any()
    _sync_district_population(result, by_year)


def load_dane_population_package(result: FileResult) -> None:
    issues = Issues(result.label)
    table = _package_csv("bogota_population.csv")
    by_year: dict[int, dict[str, int]] = {}
    for i, row in enumerate(table):
        try:
            by_year[required_int(row["year"], "year")] = {
                "male": required_int(row["male"], "male"),
                "female": required_int(row["female"], "female"),
            }
        except RowError as exc:
            issues.add(i + 2, str(exc))
    result.read = len(table)
    issues.raise_if_any()
    _sync_district_population(result, by_year)
