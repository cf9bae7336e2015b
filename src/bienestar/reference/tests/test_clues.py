"""The CLUES catalogue in its official layouts: CSV (67 columns), workbook with HORARIOS, keys list."""

from __future__ import annotations

import csv
import time as time_module
from datetime import time
from pathlib import Path

import openpyxl
import pytest
from django.db.models import Count

from bienestar.config.home import reference_dir
from bienestar.facilities.models import Facility, FacilityType, Institution, OpeningHours
from bienestar.reference.clues import facility_type, load_clues_keys
from bienestar.reference.core import FileResult
from bienestar.reference.services import reference_load
from bienestar.terminology.models import CluesKey
from bienestar.territories.models import Territory, TerritoryKind

pytestmark = pytest.mark.django_db

# The 67 columns of DGIS's ESTABLECIMIENTO_SALUD_YYYYMM, in order.
CLUES_COLUMNS = [
    "CLUES", "CLAVE DE LA INSTITUCION", "NOMBRE DE LA INSTITUCION", "CLAVE DE LA ENTIDAD", "ENTIDAD",
    "CLAVE DEL MUNICIPIO", "MUNICIPIO", "CLAVE DE LA LOCALIDAD", "LOCALIDAD", "CLAVE DE LA JURISDICCION",
    "JURISDICCION", "CLAVE DEL TIPO ESTABLECIMIENTO", "NOMBRE TIPO ESTABLECIMIENTO", "CLAVE DE TIPOLOGIA",
    "NOMBRE DE TIPOLOGIA", "CLAVE DE SUBTIPOLOGIA", "NOMBRE DE SUBTIPOLOGIA", "NOMBRE DE LA UNIDAD",
    "NOMBRE COMERCIAL", "CLAVE TIPO DE VIALIDAD", "TIPO DE VIALIDAD", "VIALIDAD", "NUMERO EXTERIOR",
    "NUMERO INTERIOR", "CLAVE TIPO DE ASENTAMIENTO", "TIPO DE ASENTAMIENTO", "ASENTAMIENTO", "CODIGO POSTAL",
    "OBSERVACIONES DE LA DIRECCION", "CLAVE ESTATUS DE OPERACION", "ESTATUS DE OPERACION",
    "RFC DEL ESTABLECIMIENTO", "TELEFONO 1 DEL ESTABLECIMIENTO", "EXTENSION TELEFONICA 1 DEL ESTABLECIMIENTO",
    "TELEFONO 2 DEL ESTABLECIMIENTO", "EXTENSION TELEFONICA 2 DEL ESTABLECIMIENTO", "FECHA DE CONSTRUCCION",
    "FECHA DE INICIO DE OPERACION", "CLAVE UNIDAD MOVIL MARCA", "UNIDAD MOVIL MARCA",
    "UNIDAD MOVIL MARCA ESPECIFICA", "UNIDAD MOVIL MODELO", "CLAVE UNIDAD MOVIL PROGRAMA",
    "UNIDAD MOVIL PROGRAMA", "CLAVE UNIDAD MOVIL TIPO", "UNIDAD MOVIL TIPO", "CLAVE UNIDAD MOVIL TIPOLOGIA",
    "UNIDAD MOVIL TIPOLOGIA", "CLAVE DE LA INS ADM", "NOMBRE DE LA INS ADM", "CLAVE NIVEL ATENCION",
    "NIVEL ATENCION", "CLAVE ESTRATO UNIDAD", "ESTRATO UNIDAD", "CLAVE TIPO OBRA", "TIPO OBRA",
    "CLAVE PROPIEDAD DEL INMUEBLE", "PROPIEDAD DEL INMUEBLE", "LATITUD", "LONGITUD", "CLAVE ULTIMO MOVIMIENTO",
    "ULTIMO MOVIMIENTO", "FECHA ULTIMO MOVIMIENTO", "COMENTARIOS DE LA VALIDACION", "CLAVE MOTIVO BAJA",
    "MOTIVO BAJA", "FECHA EFECTIVA DE BAJA",
]  # fmt: skip
HIDALGO_CSV = "clues/clues_202501_hidalgo_imss_bienestar_consulta_externa.csv"
WORKBOOK = "clues/CLUES_IMSS_DavMC86.xlsx"
KEYS_CSV = "clues/clues_keys_202604_from_horarios_sheet.csv"
DAYS = [
    "DOMINGO",
    "LUNES",
    "MARTES",
    "MIERCOLES",
    "JUEVES",
    "VIERNES",
    "SABADO",
    "HORA INICIO",
    "HORA FIN",
]


def unit(clues: str, **values: str) -> dict[str, str]:
    row = dict.fromkeys(CLUES_COLUMNS, "")
    row.update(
        {
            "CLUES": clues,
            "CLAVE DE LA INSTITUCION": clues[2:5],
            "CLAVE DE LA ENTIDAD": "13",
            "ENTIDAD": "HIDALGO",
            "CLAVE DEL MUNICIPIO": "48",
            "MUNICIPIO": "PACHUCA DE SOTO",
            "CLAVE DE LA LOCALIDAD": "1",
            "LOCALIDAD": "PACHUCA DE SOTO",
            "NOMBRE TIPO ESTABLECIMIENTO": "DE CONSULTA EXTERNA",
            "NOMBRE DE TIPOLOGIA": "URBANO DE 03 NÚCLEOS BÁSICOS",
            "NOMBRE DE LA UNIDAD": "CENTRO DE SALUD PACHUCA",
            "TIPO DE VIALIDAD": "CALLE",
            "VIALIDAD": "HIDALGO",
            "NUMERO EXTERIOR": "SIN NÚMERO",
            "TIPO DE ASENTAMIENTO": "COLONIA",
            "ASENTAMIENTO": "CENTRO",
            "CODIGO POSTAL": "42000.0",
            "ESTATUS DE OPERACION": "EN OPERACION",
            "CLAVE NIVEL ATENCION": "1",
            "LATITUD": "20.1220",
            "LONGITUD": "-98.7360",
        }
    )
    row.update(values)
    return row


def write_catalogue(path: Path, rows: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CLUES_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def test_catalogue_csv_creates_facilities_under_their_locality_and_reloads_unchanged(tmp_path):
    write_catalogue(
        tmp_path / HIDALGO_CSV,
        [
            unit("HGIMB000011"),
            unit(
                "HGIMB000023",
                **{
                    "NOMBRE TIPO ESTABLECIMIENTO": "DE HOSPITALIZACIÓN",
                    "NOMBRE DE TIPOLOGIA": "HOSPITAL INTEGRAL (COMUNITARIO)",
                    "NOMBRE DE LA UNIDAD": "HOSPITAL INTEGRAL ZIMAPÁN",
                    "CLAVE DEL MUNICIPIO": "84",
                    "MUNICIPIO": "ZIMAPAN",
                    "CLAVE DE LA LOCALIDAD": "12",
                    "LOCALIDAD": "EL DETHI",
                    "CLAVE NIVEL ATENCION": "2",
                    "ESTATUS DE OPERACION": "FUERA DE OPERACION",
                },
            ),
            unit(
                "HGIMB000035",
                **{"NOMBRE DE TIPOLOGIA": "UNIDAD MÓVIL", "NOMBRE DE LA UNIDAD": "UNIDAD MÓVIL 1"},
            ),
        ],
    )

    first = reference_load(directory=tmp_path, only=["clues"])

    assert not first.refused
    centre = Facility.objects.get(clues="HGIMB000011")
    assert (centre.institution, centre.facility_type, centre.level_of_care) == (
        Institution.IMSS_BIENESTAR,
        FacilityType.HEALTH_CENTRE,
        1,
    )
    assert centre.territory.path == "MX.13.048.0001"
    assert centre.territory.kind == TerritoryKind.LOCALITY
    assert centre.territory.parent.path == "MX.13.048"
    assert str(centre.latitude) == "20.122000"
    assert centre.address == "CALLE HIDALGO S/N, COLONIA CENTRO, C.P. 42000"
    hospital = Facility.objects.get(clues="HGIMB000023")
    assert (hospital.facility_type, hospital.level_of_care, hospital.in_operation) == (
        FacilityType.RURAL_HOSPITAL,
        2,
        False,
    )
    assert hospital.territory.path == "MX.13.084.0012"
    assert Facility.objects.get(clues="HGIMB000035").facility_type == FacilityType.OTHER

    territories = Territory.objects.count()
    second = reference_load(directory=tmp_path, only=["clues"])

    assert Facility.objects.count() == 3
    assert Territory.objects.count() == territories
    assert all(r.created == r.updated == 0 for r in second.results)


def test_catalogue_with_malformed_rows_is_refused_whole_with_lines(tmp_path):
    write_catalogue(
        tmp_path / HIDALGO_CSV,
        [
            unit("HGIMB000011"),
            unit("HGIMB00001X"),
            unit("HGIMB000023", LATITUD="norte"),
            unit("HGIMB000035", **{"CLAVE DE LA ENTIDAD": "20"}),
            unit("HGIMB000011", **{"NOMBRE DE LA UNIDAD": "OTRA VEZ"}),
        ],
    )

    report = reference_load(directory=tmp_path, only=["clues"])

    [result] = report.refused
    assert [str(issue).split(":")[1] for issue in result.issues] == ["3", "4", "5", "6"]
    assert "HGIMB00001X" in result.issues[0].reason
    assert "LATITUD" in result.issues[1].reason
    assert "CLAVE DE LA ENTIDAD" in result.issues[2].reason
    assert "repetida" in result.issues[3].reason
    assert Facility.objects.count() == 0
    assert not Territory.objects.filter(kind=TerritoryKind.LOCALITY).exists()


def write_workbook(path: Path, units: list[dict[str, str]], hours: list[list[object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "CLUES_202604"
    columns = [
        c for c in CLUES_COLUMNS if c not in {"CLAVE DE LA INSTITUCION", "CLAVE DE LA ENTIDAD"}
    ]
    sheet.append(columns)
    for row in units:
        sheet.append([row.get(c, "") for c in columns])
    horarios = workbook.create_sheet("HORARIOS_202604")
    horarios.append(["CLUES", *DAYS, *DAYS])
    for row in hours:
        horarios.append(row)
    workbook.save(path)


def test_workbook_loads_units_and_opening_hours_from_the_horarios_sheet(tmp_path):
    oaxaca = {
        "ENTIDAD": "OAXACA",
        "CLAVE DEL MUNICIPIO": "067",
        "MUNICIPIO": "OAXACA DE JUAREZ",
        "LOCALIDAD": "OAXACA DE JUAREZ",
    }
    write_workbook(
        tmp_path / WORKBOOK,
        [
            unit("OCIMS000013", **oaxaca, **{"NOMBRE DE TIPOLOGIA": "UNIDAD DE MEDICINA FAMILIAR"}),
            unit(
                "OCIMS000042",
                **oaxaca,
                **{
                    "NOMBRE TIPO ESTABLECIMIENTO": "DE HOSPITALIZACIÓN",
                    "NOMBRE DE TIPOLOGIA": "HOSPITAL GENERAL DE ZONA",
                },
            ),
        ],
        [
            # Weekdays 08:00-16:00 and Saturday 08:00-13:00 (two groups of days).
            [
                "OCIMS000013",
                "NO",
                "SI",
                "SI",
                "SI",
                "SI",
                "SI",
                "NO",
                "08:00",
                "16:00",
                "NO",
                "NO",
                "NO",
                "NO",
                "NO",
                "NO",
                "SI",
                "08:00",
                "13:00",
            ],
            ["OCIMS000042", "SI", "SI", "SI", "SI", "SI", "SI", "SI", "00:00", "23:59"],
            [
                "ASCIJ000012",
                "NO",
                "SI",
                "SI",
                "SI",
                "SI",
                "SI",
                "NO",
                "08:00",
                "19:30",
            ],  # not loaded: skipped
        ],
    )

    first = reference_load(directory=tmp_path, only=["clues"])

    assert not first.refused
    family = Facility.objects.get(clues="OCIMS000013")
    assert family.institution == Institution.IMSS
    assert family.territory.path == "MX.20.067.0001"
    hours = set(
        OpeningHours.objects.filter(facility=family).values_list("weekday", "opens", "closes")
    )
    assert hours == {*((d, time(8), time(16)) for d in range(5)), (5, time(8), time(13))}
    assert (family.open_7_days, family.open_24_hours) == (False, False)
    hospital = Facility.objects.get(clues="OCIMS000042")
    assert (hospital.facility_type, hospital.open_7_days, hospital.open_24_hours) == (
        FacilityType.GENERAL_HOSPITAL,
        True,
        True,
    )
    [horarios] = [r for r in first.results if "HORARIOS" in r.label]
    assert (horarios.read, horarios.created, horarios.skipped) == (3, 2, 1)

    second = reference_load(directory=tmp_path, only=["clues"])

    assert OpeningHours.objects.count() == 6 + 7
    assert all(r.created == r.updated == 0 for r in second.results)


def test_a_bad_time_in_horarios_refuses_the_sheet_and_sets_no_hours(tmp_path):
    write_workbook(
        tmp_path / WORKBOOK,
        [unit("HGIMB000011")],
        [
            ["HGIMB000011", "NO", "SI", "SI", "SI", "SI", "SI", "NO", "08:00", "16:00"],
            ["HGIMB000023", "NO", "SI", "SI", "SI", "SI", "SI", "NO", "8 am", "16:00"],
        ],
    )

    report = reference_load(directory=tmp_path, only=["clues"])

    [refused] = report.refused
    assert refused.label.endswith("[HORARIOS_202604]")
    assert refused.issues[0].where.endswith("[HORARIOS_202604]:3")
    assert Facility.objects.filter(clues="HGIMB000011").exists()  # the CLUES sheet is its own file
    assert OpeningHours.objects.count() == 0


def test_keys_only_list_fills_the_registry_of_valid_keys(tmp_path):
    path = tmp_path / KEYS_CSV
    path.parent.mkdir(parents=True)
    keys = [f"OCIMB{n:06d}" for n in range(1, 3001)] + ["DFSMP000123", "HGSSA000016"]
    path.write_text(
        "CLUES,estado_abrev,institucion_codigo\n" + "".join(f"{k},{k[:2]},{k[2:5]}\n" for k in keys)
    )

    first = reference_load(directory=tmp_path, only=["clues"])
    second = reference_load(directory=tmp_path, only=["clues"])

    assert CluesKey.objects.count() == 3002
    key = CluesKey.objects.get(clues="HGSSA000016")
    assert (key.state_abbreviation, key.institution_code, key.edition) == ("HG", "SSA", "202604")
    assert [r.created for r in first.results if r.label == KEYS_CSV] == [3002]
    assert [r.unchanged for r in second.results if r.label == KEYS_CSV] == [3002]
    assert not Facility.objects.exists()  # keys are not facilities


def test_keys_list_with_a_mismatched_row_is_refused(tmp_path):
    path = tmp_path / KEYS_CSV
    path.parent.mkdir(parents=True)
    path.write_text(
        "CLUES,estado_abrev,institucion_codigo\nOCIMB000001,OC,IMB\nOCIMB000002,HG,IMB\nXXIMB000003,XX,IMB\n"
    )

    report = reference_load(directory=tmp_path, only=["clues"])

    [refused] = report.refused
    assert [i.where for i in refused.issues] == [f"{KEYS_CSV}:3", f"{KEYS_CSV}:4"]
    assert not CluesKey.objects.exists()


@pytest.mark.parametrize(
    ("kind", "typology", "name", "expected"),
    [
        (
            "DE CONSULTA EXTERNA",
            "RURAL DE 01 NÚCLEO BÁSICO",
            "SAN JUAN",
            FacilityType.HEALTH_CENTRE,
        ),
        ("DE CONSULTA EXTERNA", "UNIDAD MÉDICA RURAL", "UMR 12", FacilityType.HEALTH_CENTRE),
        ("DE CONSULTA EXTERNA", "BRIGADAS DE SALUD ", "BRIGADA 3", FacilityType.OTHER),
        ("DE HOSPITALIZACIÓN", "HOSPITAL RURAL", "HR 35", FacilityType.RURAL_HOSPITAL),
        ("DE HOSPITALIZACIÓN", "HOSPITAL GENERAL DE ZONA", "HGZ 1", FacilityType.GENERAL_HOSPITAL),
        ("DE HOSPITALIZACIÓN", "HOSPITAL DE ESPECIALIDADES", "HE", FacilityType.SPECIALTY_HOSPITAL),
        ("DE APOYO", "ALMACENES", "ALMACÉN DELEGACIONAL", FacilityType.WAREHOUSE),
        ("DE APOYO", "OFICINAS ADMINISTRATIVAS", "COORDINACIÓN ESTATAL", FacilityType.COORDINATION),
        ("DE ASISTENCIA SOCIAL", "CASA HOGAR", "CASA", FacilityType.OTHER),
    ],
)
def test_facility_type_from_the_catalogue_names(kind, typology, name, expected):
    assert facility_type(kind, typology, name) == expected


@pytest.mark.skipif(
    reference_dir() is None or not (reference_dir() / KEYS_CSV).is_file(),  # type: ignore[operator]
    reason="no reference directory with the national CLUES keys",
)
def test_the_national_keys_list_loads_in_bulk_and_reloads_unchanged():
    directory = reference_dir()
    assert directory is not None
    started = time_module.perf_counter()

    first = FileResult(label=KEYS_CSV)
    load_clues_keys(directory / KEYS_CSV, first)
    second = FileResult(label=KEYS_CSV)
    load_clues_keys(directory / KEYS_CSV, second)

    assert (first.read, first.created) == (63800, 63800)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 63800)
    by_institution = dict(
        CluesKey.objects.values_list("institution_code").annotate(n=Count("clues"))
    )
    assert (by_institution["IMB"], by_institution["IMS"], by_institution["SSA"]) == (
        10571,
        5868,
        20413,
    )
    assert time_module.perf_counter() - started < 30  # a bulk load, not one query per key
