"""`bienestar load-reference`: fallback tables, refusal of malformed files, idempotency."""

from __future__ import annotations

import csv
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from bienestar.config.home import reference_dir
from bienestar.facilities.models import Facility
from bienestar.reference.services import reference_load
from bienestar.terminology.models import Icd10Code, LoincCode, Medicine, VaccineScheduleEntry
from bienestar.territories.models import PopulationDenominator, Subnetwork, Territory, TerritoryKind

pytestmark = pytest.mark.django_db

GNUHEALTH_HEADER = [
    "code", "code_nodot", "level", "description_es", "description_en", "group_id", "group_en",
    "group_es", "chapter_id", "chapter_en", "chapter_es", "description_es_source",
]  # fmt: skip


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("load_reference", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def icd_row(code: str, es: str, en: str = "", level: str | None = None) -> list[str]:
    nodot = code.replace(".", "")
    level = level or ("3" if len(nodot) == 3 else "4")
    return [
        code,
        nodot,
        level,
        es,
        en,
        "g",
        "(I10-I15) Hypertensive",
        "(I10-I15) Enfermedades hipertensivas",
        "c",
        "IX",
        "IX Circulatorio",
        "x",
    ]


def table_counts() -> dict[str, int]:
    return {
        "territories": Territory.objects.count(),
        "populations": PopulationDenominator.objects.count(),
        "subnetworks": Subnetwork.objects.count(),
        "icd10": Icd10Code.objects.count(),
        "medicines": Medicine.objects.count(),
        "vaccines": VaccineScheduleEntry.objects.count(),
        "loinc": LoincCode.objects.count(),
    }


def test_without_a_directory_the_shipped_tables_are_loaded_and_a_second_run_changes_nothing(
    monkeypatch,
):
    monkeypatch.delenv("BIENESTAR_REFERENCE_DIR", raising=False)
    monkeypatch.setattr(
        "bienestar.reference.management.commands.load_reference.reference_dir", lambda: None
    )

    out, _err = run()

    assert "tablas del paquete" in out
    states = Territory.objects.filter(kind=TerritoryKind.STATE)
    assert states.count() == 32
    assert sorted(states.values_list("abbreviation", flat=True))[:3] == ["AS", "BC", "BS"]
    oaxaca = Territory.objects.get(path="MX.20")
    assert (oaxaca.name, oaxaca.abbreviation, oaxaca.parent.path) == ("Oaxaca", "OC", "MX")
    census = PopulationDenominator.objects.get(territory=oaxaca, year=2020)
    assert (census.total, census.uninsured) == (4132148, 1215990)
    assert (
        PopulationDenominator.objects.filter(territory=oaxaca, year__in=[2024, 2025, 2026]).count()
        == 3
    )
    # CIE-10 from the `cie` package, the core medicine keys, the schedule, the vital-sign codes.
    assert Icd10Code.objects.count() > 10000
    assert Icd10Code.objects.get(code="E11.9").description_es.startswith("Diabetes mellitus")
    metformin = Medicine.objects.get(key="010.000.5165.00")
    assert (metformin.generic_name, metformin.strength) == ("METFORMINA", "850 mg")
    assert VaccineScheduleEntry.objects.filter(country="MX", vaccine="BCG", age_months=0).exists()
    assert (
        LoincCode.objects.filter(
            code__in=["8480-6", "8462-4", "29463-7", "8302-2", "2339-0"]
        ).count()
        == 5
    )
    # Bogotá: 20 localidades in their real subnetworks.
    localidades = Territory.objects.filter(kind=TerritoryKind.BOGOTA_LOCALIDAD)
    assert localidades.count() == 20
    assert Subnetwork.objects.count() == 4
    by_name = dict(localidades.values_list("name", "subnetwork__code"))
    assert by_name["Usme"] == by_name["Sumapaz"] == "SUR"
    assert by_name["Kennedy"] == by_name["Puente Aranda"] == "SUR_OCCIDENTE"
    assert by_name["La Candelaria"] == by_name["Rafael Uribe Uribe"] == "CENTRO_ORIENTE"
    assert by_name["Suba"] == by_name["Teusaquillo"] == "NORTE"

    before = table_counts()
    report = reference_load(directory=None)

    assert table_counts() == before
    assert all(r.created == 0 and r.updated == 0 for r in report.results)
    assert not report.refused


def test_a_file_with_a_malformed_row_is_refused_whole_with_file_and_line(tmp_path):
    write_csv(
        tmp_path / "cie10" / "cie10_oms_es_en_gnuhealth.csv",
        GNUHEALTH_HEADER,
        [
            icd_row("I10", "Hipertensión esencial (primaria)"),
            icd_row("I11.9", "Enfermedad cardíaca hipertensiva sin insuficiencia cardíaca"),
            icd_row("I1X", "código mal escrito"),
            icd_row("J00", "Rinofaringitis aguda"),
            icd_row("J02.9", "Faringitis aguda", level="3"),
        ],
    )

    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="rechazado"):
        call_command(
            "load_reference", "--dir", str(tmp_path), "--only", "cie10", stdout=out, stderr=err
        )

    assert "RECHAZADO" in out.getvalue()
    assert "cie10/cie10_oms_es_en_gnuhealth.csv:4: código CIE-10 inválido: 'I1X'" in err.getvalue()
    assert "cie10/cie10_oms_es_en_gnuhealth.csv:6: nivel 3 no corresponde" in err.getvalue()
    assert Icd10Code.objects.count() == 0


def test_allow_refused_reports_the_refusal_but_exits_cleanly(tmp_path):
    write_csv(
        tmp_path / "cie10" / "cie10_oms_es_en_gnuhealth.csv",
        GNUHEALTH_HEADER,
        [icd_row("I10", "Hipertensión esencial"), icd_row("I1X", "mal")],
    )

    out, err = run("--dir", str(tmp_path), "--only", "cie10", "--allow-refused")

    assert "RECHAZADO" in out
    assert "cie10_oms_es_en_gnuhealth.csv:3" in err
    assert "1 archivo(s) rechazado(s)" in err
    assert Icd10Code.objects.count() == 0


def test_refusal_names_every_bad_line(tmp_path):
    path = write_csv(
        tmp_path / "cie10" / "cie10_oms_es_en_gnuhealth.csv",
        GNUHEALTH_HEADER,
        [
            icd_row("I10", "Hipertensión esencial"),
            icd_row("I1X", "mal"),
            icd_row("J02.9", "Faringitis", level="3"),
        ],
    )
    with path.open("a", encoding="utf-8") as handle:
        handle.write("J03,J03,3,Amigdalitis aguda\n")  # too few fields

    report = reference_load(directory=tmp_path, only=["cie10"])

    [result] = report.refused
    where = [issue.where for issue in result.issues]
    assert where == [
        "cie10/cie10_oms_es_en_gnuhealth.csv:3",
        "cie10/cie10_oms_es_en_gnuhealth.csv:4",
        "cie10/cie10_oms_es_en_gnuhealth.csv:5",
    ]
    assert "I1X" in str(result.issues[0])
    assert "campos" in result.issues[2].reason
    assert Icd10Code.objects.count() == 0


def test_a_missing_column_refuses_the_file_at_line_1(tmp_path):
    write_csv(
        tmp_path / "vaccination" / "mx_pvu2026_esquema_0a9_anios.csv",
        ["edad_meses", "vacuna", "dosis"],
        [["0", "BCG", "unica"]],
    )

    report = reference_load(directory=tmp_path, only=["vaccination"])

    [result] = report.refused
    assert result.issues[0].where.endswith("mx_pvu2026_esquema_0a9_anios.csv:1")
    assert "edad_etiqueta" in result.issues[0].reason
    assert VaccineScheduleEntry.objects.count() == 0


def test_a_refused_file_does_not_stop_the_others(tmp_path):
    write_csv(
        tmp_path / "vaccination" / "mx_pvu2026_esquema_0a9_anios.csv",
        ["edad_meses", "edad_etiqueta", "vacuna", "dosis", "condicion", "nota"],
        [
            ["0", "Nacimiento", "BCG", "unica", "universal", ""],
            ["dos", "2 meses", "Hexavalente", "1", "universal", ""],
        ],
    )
    write_csv(
        tmp_path / "cie10" / "cie10_oms_es_en_gnuhealth.csv",
        GNUHEALTH_HEADER,
        [icd_row("I10", "Hipertensión esencial")],
    )

    report = reference_load(directory=tmp_path, only=["vaccination", "cie10"])

    assert [r.label for r in report.refused] == ["vaccination/mx_pvu2026_esquema_0a9_anios.csv"]
    assert report.refused[0].issues[0].where.endswith(":3")
    assert VaccineScheduleEntry.objects.count() == 0
    assert list(Icd10Code.objects.values_list("code", flat=True)) == ["I10"]


def test_a_code_without_spanish_text_is_completed_not_refused(tmp_path):
    write_csv(
        tmp_path / "cie10" / "cie10_oms_es_en_gnuhealth.csv",
        GNUHEALTH_HEADER,
        [
            icd_row("I10", "Hipertensión esencial"),
            icd_row("U85", "", "Resistance to antineoplastic drugs"),
        ],
    )

    report = reference_load(directory=tmp_path, only=["cie10"])

    assert not report.refused
    assert Icd10Code.objects.get(code="U85").description_es  # from the `cie` package, else English


def test_official_medicines_keep_the_curated_form_and_strength_and_reload_unchanged(tmp_path):
    write_csv(
        tmp_path / "medicines" / "imss_cbm_2019_claves_tidy.csv",
        ["clave", "grupo_num", "grupo", "medicamento", "riesgo_embarazo", "prefijo"],
        [
            ["010.000.5165.00", "5", "Endocrinología y Metabolismo", "METFORMINA", "D", "010"],
            ["010.000.0104.00", "1", "Analgesia", "PARACETAMOL", "B", "010"],
            ["010.000.9999.00", "1", "Analgesia", "NUEVO", "", "010"],
        ],
    )

    first = reference_load(directory=tmp_path, only=["medicines"])
    counts = Medicine.objects.count()
    second = reference_load(directory=tmp_path, only=["medicines"])

    metformin = Medicine.objects.get(key="010.000.5165.00")
    assert (metformin.form, metformin.strength, metformin.source) == (
        "Tableta",
        "850 mg",
        "IMSS, Cuadro Básico de Medicamentos 2019",
    )
    assert Medicine.objects.get(key="010.000.9999.00").generic_name == "NUEVO"
    assert not first.refused
    assert Medicine.objects.count() == counts
    assert all(r.created == r.updated == 0 for r in second.results)


@pytest.mark.skipif(reference_dir() is None, reason="no reference directory (../shared/data)")
def test_real_reference_directory_territories_cie10_medicines_load_and_reload_unchanged():
    directory = reference_dir()
    assert directory is not None

    first = reference_load(directory=directory, only=["territories", "cie10", "medicines"])
    counts = table_counts()
    second = reference_load(directory=directory, only=["territories", "cie10", "medicines"])

    assert not first.refused and not second.refused
    assert Territory.objects.filter(kind=TerritoryKind.MUNICIPALITY).count() == 2478
    assert Territory.objects.get(path="MX.20.067").name == "Oaxaca de Juárez"
    assert Territory.objects.get(path="MX.20.067").latitude is not None
    assert Icd10Code.objects.count() == 14416
    assert Icd10Code.objects.get(code="I10").description_en == "Essential (primary) hypertension"
    assert Medicine.objects.count() == 1212
    assert Medicine.objects.get(key="010.000.5165.00").generic_name == "METFORMINA"
    assert table_counts() == counts
    assert all(r.created == 0 and r.updated == 0 for r in second.results), [
        (r.label, r.created, r.updated) for r in second.results
    ]


def test_unknown_dataset_and_missing_directory_are_clear_errors(tmp_path):
    with pytest.raises(CommandError, match="desconocido"):
        run("--packaged", "--only", "clues,planets")
    with pytest.raises(CommandError, match="no existe"):
        run("--dir", str(tmp_path / "nowhere"))
    assert Facility.objects.count() == 0
