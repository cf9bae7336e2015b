"""The CLUES facility catalogue (DGIS, `ESTABLECIMIENTO_SALUD_YYYYMM`), in its official layouts.

- The catalogue as CSV (all 67 official columns) or as the official workbook (sheet `CLUES_YYYYMM`)
  becomes facilities, under the locality the row names (municipalities and localities that are not
  loaded yet are created from the row, and renamed later by INEGI's catalogue).
- The workbook's `HORARIOS_YYYYMM` sheet gives opening hours to the facilities that are loaded.
- The keys-only national list becomes the registry of valid CLUES keys (terminology.CluesKey):
  a referral or an import may name any of the ~64,000 establishments, but only the ones the network
  runs are facilities, so the rest are not turned into nameless facility stubs.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterator
from datetime import time
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from bienestar.facilities.models import (
    CLUES_INSTITUTION,
    CLUES_RE,
    Facility,
    FacilityType,
    Institution,
    LevelOfCare,
    OpeningHours,
)
from bienestar.reference.core import (
    Counts,
    FileRefused,
    FileResult,
    Issues,
    RowError,
    RowIssue,
    coordinate,
    progress,
    read_csv,
    sync_rows,
    text,
    unique_by,
    validate_rows,
    zero_padded,
)
from bienestar.reference.mexico import SOURCE_MUNICIPALITIES, clues_abbreviations, territory_ids
from bienestar.terminology.models import CluesKey
from bienestar.territories.models import Territory, TerritoryKind

# Columns every layout of the catalogue has (the 2025 CSV has 67, the 2026 workbook sheet 55).
REQUIRED_COLUMNS = [
    "CLUES",
    "CLAVE DEL MUNICIPIO",
    "MUNICIPIO",
    "CLAVE DE LA LOCALIDAD",
    "LOCALIDAD",
    "NOMBRE TIPO ESTABLECIMIENTO",
    "NOMBRE DE TIPOLOGIA",
    "NOMBRE DE LA UNIDAD",
    "ESTATUS DE OPERACION",
    "CLAVE NIVEL ATENCION",
    "LATITUD",
    "LONGITUD",
]
FACILITY_FIELDS = [
    "name",
    "institution",
    "facility_type",
    "level_of_care",
    "territory_id",
    "latitude",
    "longitude",
    "in_operation",
    "address",
    "source",
]
EDITION_RE = re.compile(r"(20\d{4})")
WEEKDAYS = ["LUNES", "MARTES", "MIERCOLES", "JUEVES", "VIERNES", "SABADO", "DOMINGO"]  # 0 = Monday


def edition_of(name: str) -> str:
    """The catalogue edition (AAAAMM) in a file or sheet name, e.g. ESTABLECIMIENTO_SALUD_202604."""
    match = EDITION_RE.search(name)
    return match.group(1) if match else ""


def source_for(edition: str) -> str:
    return f"DGIS, catálogo CLUES {edition}".strip()


def _plain(value: str) -> str:
    """Upper case without accents, for matching the catalogue's free-text type names."""
    return "".join(
        c for c in unicodedata.normalize("NFD", value.upper()) if unicodedata.category(c) != "Mn"
    )


def facility_type(kind: str, typology: str, name: str) -> FacilityType:
    """Map NOMBRE TIPO ESTABLECIMIENTO and NOMBRE DE TIPOLOGIA to the network's facility types.

    Mobile units and health brigades are outpatient care without a fixed site, so they are
    "other" rather than health centres; rural and community (integral) hospitals are the rural
    hospitals that must staff the six core specialties."""
    kind, typology, name = _plain(kind), _plain(typology), _plain(name)
    if "ALMACEN" in typology or "ALMACEN" in name:
        return FacilityType.WAREHOUSE
    if "FARMACIA" in typology:
        return FacilityType.PHARMACY
    if "HOSPITALIZACION" in kind:
        if any(w in typology for w in ("RURAL", "COMUNITARIO", "INTEGRAL")):
            return FacilityType.RURAL_HOSPITAL
        if any(
            w in typology
            for w in (
                "ESPECIALIDAD",
                "PSIQUIATR",
                "PEDIATR",
                "MATERN",
                "GINECO",
                "INSTITUTO",
                "ONCOLOG",
                "CARDIOLOG",
            )
        ):
            return FacilityType.SPECIALTY_HOSPITAL
        return FacilityType.GENERAL_HOSPITAL
    if "CONSULTA EXTERNA" in kind:
        if "MOVIL" in typology or "BRIGADA" in typology:
            return FacilityType.OTHER
        return FacilityType.HEALTH_CENTRE
    if "APOYO" in kind and "COORDINACION" in name:
        return FacilityType.COORDINATION
    return FacilityType.OTHER


def _cell(value: Any) -> str:
    """A workbook cell as the text a CSV export would hold."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _address(row: dict[str, str]) -> str:
    street = " ".join(p for p in (text(row, "TIPO DE VIALIDAD"), text(row, "VIALIDAD")) if p)
    number = text(row, "NUMERO EXTERIOR")
    if number and _plain(number) in {"SIN NUMERO", "S/N", "SN"}:
        number = "S/N"
    settlement = " ".join(
        p for p in (text(row, "TIPO DE ASENTAMIENTO"), text(row, "ASENTAMIENTO")) if p
    )
    postcode = text(row, "CODIGO POSTAL").removesuffix(".0")
    parts = [" ".join(p for p in (street, number) if p), settlement]
    if postcode and postcode != "99999":
        parts.append(f"C.P. {postcode}")
    return ", ".join(p for p in parts if p)[:300]


def _level(row: dict[str, str]) -> int:
    raw = text(row, "CLAVE NIVEL ATENCION").removesuffix(".0")
    if raw in {"1", "2", "3"}:
        return int(raw)
    if raw and not raw.isdigit():
        raise RowError(_("CLAVE NIVEL ATENCION no es numérica: %(value)r") % {"value": raw})
    # "6 NO APLICA" (offices, warehouses) and blanks: the model has no "not applicable" level.
    return LevelOfCare.FIRST


def load_catalogue_rows(
    rows: list[tuple[int | str, dict[str, str]]],
    result: FileResult,
    edition: str,
    issues: Issues | None = None,
) -> None:
    """Facilities from catalogue rows (CSV or workbook sheet, same column names)."""
    issues = issues or Issues(result.label)
    states = clues_abbreviations()
    source = source_for(edition)
    state_ids = territory_ids([f"MX.{key}" for key in states.values()])

    def parse(row: dict[str, str]) -> dict[str, Any]:
        clues = text(row, "CLUES", required=True).upper()
        if not CLUES_RE.match(clues):
            raise RowError(_("CLUES inválida: %(value)r") % {"value": clues})
        state = states.get(clues[:2])
        if state is None:
            raise RowError(
                _("abreviatura de estado desconocida en la CLUES: %(value)s") % {"value": clues[:2]}
            )
        if f"MX.{state}" not in state_ids:
            raise RowError(_("la entidad %(key)s no está cargada") % {"key": state})
        declared_state = text(row, "CLAVE DE LA ENTIDAD")
        if declared_state and zero_padded(declared_state, "CLAVE DE LA ENTIDAD", 2) != state:
            raise RowError(
                _("CLAVE DE LA ENTIDAD %(a)s no corresponde a la CLUES %(b)s")
                % {"a": declared_state, "b": clues}
            )
        institution_code = clues[2:5]
        declared_institution = text(row, "CLAVE DE LA INSTITUCION")
        if declared_institution and declared_institution.upper() != institution_code:
            raise RowError(
                _("CLAVE DE LA INSTITUCION %(a)s no corresponde a la CLUES %(b)s")
                % {"a": declared_institution, "b": clues}
            )
        municipality = zero_padded(
            text(row, "CLAVE DEL MUNICIPIO", required=True), "CLAVE DEL MUNICIPIO", 3
        )
        locality = zero_padded(
            text(row, "CLAVE DE LA LOCALIDAD", required=True), "CLAVE DE LA LOCALIDAD", 4
        )
        name = text(row, "NOMBRE DE LA UNIDAD", required=True, max_length=250)
        status = _plain(text(row, "ESTATUS DE OPERACION", required=True))
        return {
            "clues": clues,
            "name": name,
            "institution": CLUES_INSTITUTION.get(institution_code, Institution.OTHER),
            "facility_type": facility_type(
                text(row, "NOMBRE TIPO ESTABLECIMIENTO"), text(row, "NOMBRE DE TIPOLOGIA"), name
            ),
            "level_of_care": _level(row),
            "latitude": coordinate(row["LATITUD"], "LATITUD", 14.0, 33.0),
            "longitude": coordinate(row["LONGITUD"], "LONGITUD", -118.5, -86.0),
            "in_operation": status.startswith("EN OPERACION"),
            "address": _address(row),
            "source": source,
            # Where the facility sits; resolved to a territory below.
            "_municipality": (
                f"MX.{state}.{municipality}",
                text(row, "MUNICIPIO", required=True, max_length=200),
            ),
            "_locality": (
                f"MX.{state}.{municipality}.{locality}",
                text(row, "LOCALIDAD", required=True, max_length=200),
            ),
        }

    records = validate_rows(progress(rows, result.label, len(rows)), issues, parse)
    unique_by(records, lambda r: r["clues"], issues, "CLUES")
    result.read = len(rows)
    issues.raise_if_any()

    # Municipalities and localities that are not loaded yet are created from the catalogue's
    # names; INEGI's catalogue (loaded as territories) owns municipality names and renames them.
    municipalities = {r["_municipality"][0]: r["_municipality"][1] for _w, r in reversed(records)}
    localities = {r["_locality"][0]: r["_locality"][1] for _w, r in reversed(records)}
    new_municipalities = sync_rows(
        Territory,
        [
            {
                "path": p,
                "kind": TerritoryKind.MUNICIPALITY,
                "code": p.rsplit(".", 1)[1],
                "name": n,
                "parent_id": state_ids[p.rsplit(".", 1)[0]],
                "source": SOURCE_MUNICIPALITIES,
            }
            for p, n in municipalities.items()
        ],
        key=["path"],
        fields=[],
        label=result.label,
    )
    municipality_ids = territory_ids(list(municipalities))
    new_localities = sync_rows(
        Territory,
        [
            {
                "path": p,
                "kind": TerritoryKind.LOCALITY,
                "code": p.rsplit(".", 1)[1],
                "name": n,
                "parent_id": municipality_ids[p.rsplit(".", 1)[0]],
                "source": source,
            }
            for p, n in localities.items()
        ],
        key=["path"],
        fields=[],
        label=result.label,
    )
    if new_municipalities.created or new_localities.created:
        result.notes.append(
            _("creados desde el catálogo: %(m)d municipios, %(l)d localidades")
            % {"m": new_municipalities.created, "l": new_localities.created}
        )
    locality_ids = territory_ids(list(localities))
    facilities = []
    for _where, record in records:
        row = {k: v for k, v in record.items() if not k.startswith("_")}
        row["territory_id"] = locality_ids[record["_locality"][0]]
        facilities.append(row)
    result.add(
        sync_rows(Facility, facilities, key=["clues"], fields=FACILITY_FIELDS, label=result.label)
    )


def load_catalogue_csv(path: Path, result: FileResult) -> None:
    issues = Issues(result.label)
    rows: list[tuple[int | str, dict[str, str]]] = list(
        read_csv(path, result.label, REQUIRED_COLUMNS, issues)
    )
    load_catalogue_rows(rows, result, edition_of(path.name), issues)


def _open_sheet(path: Path, prefix: str, label: str) -> tuple[str, Iterator[tuple[Any, ...]]]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a file that is not a workbook
        raise FileRefused(
            [RowIssue(f"{label}:1", _("no es un libro xlsx legible: %(err)s") % {"err": exc})]
        ) from exc
    for sheet in workbook.worksheets:
        if sheet.title.upper().startswith(prefix):
            return sheet.title, sheet.iter_rows(values_only=True)
    raise FileRefused(
        [RowIssue(f"{label}:1", _("no tiene una hoja %(prefix)s_AAAAMM") % {"prefix": prefix})]
    )


def load_catalogue_workbook(path: Path, result: FileResult) -> None:
    """The CLUES sheet of the official workbook (same columns as the CSV)."""
    sheet, rows_iter = _open_sheet(path, "CLUES", result.label)
    result.label = f"{result.label}[{sheet}]"
    header = [_cell(h).strip() for h in next(rows_iter, ())]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise FileRefused(
            [
                RowIssue(
                    f"{result.label}:1",
                    _("faltan columnas: %(cols)s") % {"cols": ", ".join(missing)},
                )
            ]
        )
    rows: list[tuple[int | str, dict[str, str]]] = []
    for number, values in enumerate(rows_iter, start=2):
        if not any(v not in (None, "") for v in values):
            continue
        rows.append((number, {h: _cell(v) for h, v in zip(header, values, strict=False)}))
    load_catalogue_rows(rows, result, edition_of(sheet) or edition_of(path.name))


def _time(value: Any, where: str) -> time | None:
    raw = _cell(value).strip()
    if not raw:
        return None
    match = re.fullmatch(r"(\d{1,2}):(\d{2})(?::\d{2})?", raw)
    if not match or int(match.group(1)) > 24 or int(match.group(2)) > 59:
        raise RowError(_("hora inválida en %(where)s: %(value)r") % {"where": where, "value": raw})
    hours, minutes = int(match.group(1)), int(match.group(2))
    return time(23, 59) if hours == 24 else time(hours, minutes)


def _parse_hours(values: tuple[Any, ...], header: list[str]) -> set[tuple[int, time, time]]:
    """One HORARIOS row: up to 14 groups of (DOMINGO … SABADO flags, HORA INICIO, HORA FIN)."""
    intervals: set[tuple[int, time, time]] = set()
    for start in range(1, len(header) - 8, 9):
        group = values[start : start + 9]
        if len(group) < 9 or all(v in (None, "") for v in group):
            continue
        days = header[start : start + 7]
        flags = [_cell(v).strip().upper() for v in group[:7]]
        for flag in flags:
            if flag not in {"SI", "NO", ""}:
                raise RowError(
                    _("indicador de día inválido: %(value)r (se espera SI o NO)") % {"value": flag}
                )
        opens = _time(group[7], header[start + 7])
        closes = _time(group[8], header[start + 8])
        if opens is None or closes is None:
            continue  # a group without hours says nothing about when the unit is open
        for day, flag in zip(days, flags, strict=True):
            if flag == "SI":
                intervals.add((WEEKDAYS.index(_plain(day)), opens, closes))
    return intervals


def load_opening_hours(path: Path, result: FileResult) -> None:
    """Opening hours (HORARIOS sheet) for the facilities that are loaded; other keys are skipped."""
    sheet, rows_iter = _open_sheet(path, "HORARIOS", result.label)
    result.label = f"{result.label}[{sheet}]"
    issues = Issues(result.label)
    header = [_plain(_cell(h).strip()) for h in next(rows_iter, ())]
    if (
        not header
        or header[0] != "CLUES"
        or any(_plain(h) not in WEEKDAYS for h in header[1:8])
        or header[8:10] != ["HORA INICIO", "HORA FIN"]
    ):
        raise FileRefused(
            [
                RowIssue(
                    f"{result.label}:1",
                    _(
                        "encabezado inesperado; se espera CLUES, DOMINGO…SABADO, HORA INICIO, HORA FIN"
                    ),
                )
            ]
        )
    facilities = dict(Facility.objects.exclude(clues=None).values_list("clues", "id"))
    wanted: dict[int, set[tuple[int, time, time]]] = {}
    seen: dict[str, int] = {}
    read = 0
    for number, values in enumerate(progress(rows_iter, result.label, None), start=2):
        if not values or values[0] in (None, ""):
            continue
        read += 1
        clues = _cell(values[0]).strip().upper()
        try:
            if not CLUES_RE.match(clues):
                raise RowError(_("CLUES inválida: %(value)r") % {"value": clues})
            if clues in seen:
                raise RowError(
                    _("CLUES %(key)s repetida (ya en la línea %(first)s)")
                    % {"key": clues, "first": seen[clues]}
                )
            seen[clues] = number
            intervals = _parse_hours(values, header)
        except RowError as exc:
            issues.add(number, str(exc))
            continue
        if clues in facilities:
            wanted[facilities[clues]] = intervals
    result.read = read
    issues.raise_if_any()
    result.skipped = read - len(wanted)
    if result.skipped:
        result.notes.append(
            _("%(n)d claves sin establecimiento cargado (omitidas)") % {"n": result.skipped}
        )
    _sync_hours(wanted, result)


def _sync_hours(wanted: dict[int, set[tuple[int, time, time]]], result: FileResult) -> None:
    stored: dict[int, set[tuple[int, time, time]]] = defaultdict(set)
    for facility_id, weekday, opens, closes in OpeningHours.objects.filter(
        facility_id__in=list(wanted)
    ).values_list("facility_id", "weekday", "opens", "closes"):
        stored[facility_id].add((weekday, opens, closes))
    counts = Counts()
    replace = {fid for fid, intervals in wanted.items() if stored.get(fid, set()) != intervals}
    for facility_id in wanted:
        if facility_id not in replace:
            counts.unchanged += 1
        elif stored.get(facility_id):
            counts.updated += 1
        else:
            counts.created += 1
    OpeningHours.objects.filter(facility_id__in=list(replace)).delete()
    OpeningHours.objects.bulk_create(
        [
            OpeningHours(facility_id=fid, weekday=w, opens=o, closes=c)
            for fid in replace
            for (w, o, c) in sorted(wanted[fid])
        ],
        batch_size=2000,
    )
    flags = []
    for facility_id, intervals in wanted.items():
        days = {w for w, _o, _c in intervals}
        all_day = {w for w, o, c in intervals if o <= time(0, 1) and c >= time(23, 59)}
        flags.append(
            {"id": facility_id, "open_7_days": len(days) == 7, "open_24_hours": len(all_day) == 7}
        )
    # The flags follow from the intervals, so they change only when the intervals do.
    sync_rows(
        Facility,
        flags,
        key=["id"],
        fields=["open_7_days", "open_24_hours"],
        create=False,
        label=result.label,
    )
    result.add(counts)


def load_clues_keys(path: Path, result: FileResult) -> None:
    """The national list of CLUES keys (CLUES, estado_abrev, institucion_codigo) → CluesKey."""
    issues = Issues(result.label)
    rows = list(
        read_csv(path, result.label, ["CLUES", "estado_abrev", "institucion_codigo"], issues)
    )
    states = clues_abbreviations()
    edition = edition_of(path.name)
    source = source_for(edition)

    def parse(row: dict[str, str]) -> dict[str, Any]:
        clues = row["CLUES"].strip().upper()
        if not CLUES_RE.match(clues):
            raise RowError(_("CLUES inválida: %(value)r") % {"value": clues})
        state = row["estado_abrev"].strip().upper()
        institution = row["institucion_codigo"].strip().upper()
        if state not in states:
            raise RowError(_("abreviatura de estado desconocida: %(value)r") % {"value": state})
        if clues[:2] != state or clues[2:5] != institution:
            raise RowError(
                _("estado o institución no corresponden a la CLUES %(key)s") % {"key": clues}
            )
        return {
            "clues": clues,
            "state_abbreviation": state,
            "institution_code": institution,
            "edition": edition,
            "source": source,
        }

    records = validate_rows(progress(rows, result.label, len(rows)), issues, parse)
    unique_by(records, lambda r: r["clues"], issues, "CLUES")
    result.read = len(rows)
    issues.raise_if_any()
    rows_out = [r for _w, r in records]
    result.add(
        sync_rows(
            CluesKey,
            rows_out,
            key=["clues"],
            fields=["state_abbreviation", "institution_code", "edition", "source"],
            label=result.label,
        )
    )
