"""Code systems: CIE-10, the medicine catalogue, the vaccination schedule and LOINC."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from importlib import resources
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from bienestar.reference.core import (
    FileResult,
    Issues,
    Mode,
    RowError,
    progress,
    read_csv,
    required_int,
    sync_rows,
    text,
    unique_by,
    validate_rows,
)
from bienestar.reference.mexico import PACKAGE_DATA
from bienestar.terminology.models import Icd10Code, LoincCode, Medicine, VaccineScheduleEntry

SOURCE_CIE10_WHO = "OMS, CIE-10 (textos en español de GNU Health)"
SOURCE_CIE10_PACKAGE = "CIE-10 en español (paquete PyPI cie, MIT)"
SOURCE_MEDICINES = "IMSS, Cuadro Básico de Medicamentos 2019"
SOURCE_MEDICINES_PACKAGE = "Bienestar: claves básicas de primer nivel (IMSS CBM 2019)"
SOURCE_VACCINES = "SSA, Programa de Vacunación Universal 2026 (0 a 9 años)"
SOURCE_LOINC = "LOINC (Regenstrief Institute), códigos usados en la red"

ICD10_RE = re.compile(r"^[A-Z][0-9]{2}(\.[0-9A-Z]{1,2})?$")
MEDICINE_KEY_RE = re.compile(r"^\d{3}\.\d{3}\.\d{4}\.\d{2}$")
LOINC_RE = re.compile(r"^\d{1,7}-\d$")
ICD10_FIELDS = [
    "code_nodot",
    "level",
    "description_es",
    "description_en",
    "chapter",
    "group",
    "source",
]


# --- CIE-10 ---------------------------------------------------------------------------------------


def _package_cie10_rows() -> list[dict[str, str]]:
    """The CSV inside the `cie` package (MIT): code, code_0…code_4 (ancestors), description, level."""
    with (
        resources.files("cie").joinpath("data/cie-10.zip").open("rb") as handle,
        zipfile.ZipFile(handle) as archive,
    ):
        data = archive.read("cie-10.csv").decode("utf-8")
    return list(csv.DictReader(io.StringIO(data)))


def _package_cie10_spanish() -> dict[str, str]:
    """Spanish descriptions by dotless code, to complete the few codes another source lacks."""
    return {
        row["code"].strip(): " ".join(row["description"].split())
        for row in _package_cie10_rows()
        if "-" not in row["code"]
    }


def load_cie10(path: Path, result: FileResult) -> None:
    """WHO ICD-10 with Spanish and English texts (GNU Health layout: code, code_nodot, level,
    description_es, description_en, group_es, chapter_es). A code without Spanish text takes it
    from the `cie` package, else the English text, so no code is left without a description."""
    issues = Issues(result.label)
    rows = list(
        read_csv(
            path,
            result.label,
            [
                "code",
                "code_nodot",
                "level",
                "description_es",
                "description_en",
                "group_es",
                "chapter_es",
            ],
            issues,
        )
    )
    spanish: dict[str, str] | None = None
    completed = 0

    def parse(row: dict[str, str]) -> dict[str, Any]:
        nonlocal spanish, completed
        code = text(row, "code", required=True).upper()
        if not ICD10_RE.match(code):
            raise RowError(_("código CIE-10 inválido: %(value)r") % {"value": code})
        nodot = text(row, "code_nodot", required=True).upper()
        if nodot != code.replace(".", ""):
            raise RowError(_("code_nodot %(a)r no corresponde a %(b)s") % {"a": nodot, "b": code})
        level = required_int(row["level"], "level")
        if level != (3 if len(nodot) == 3 else 4):
            raise RowError(
                _("nivel %(level)d no corresponde al código %(code)s")
                % {"level": level, "code": code}
            )
        description_es = text(row, "description_es", max_length=300)
        description_en = text(row, "description_en", max_length=300)
        if not description_es:
            if spanish is None:
                spanish = _package_cie10_spanish()
            description_es = spanish.get(nodot, "") or description_en
            completed += 1
        if not description_es:
            raise RowError(_("el código %(code)s no tiene descripción") % {"code": code})
        return {
            "code": code,
            "code_nodot": nodot,
            "level": level,
            "description_es": description_es[:300],
            "description_en": description_en,
            "chapter": text(row, "chapter_es", max_length=200),
            "group": text(row, "group_es", max_length=200),
            "source": SOURCE_CIE10_WHO,
        }

    records = validate_rows(progress(rows, result.label, len(rows)), issues, parse)
    unique_by(records, lambda r: r["code"], issues, _("código"))
    result.read = len(rows)
    issues.raise_if_any()
    if completed:
        result.notes.append(_("%(n)d códigos sin texto en español, completados") % {"n": completed})
    result.add(
        sync_rows(
            Icd10Code,
            [r for _w, r in records],
            key=["code"],
            fields=ICD10_FIELDS,
            label=result.label,
        )
    )


def load_cie10_package(result: FileResult) -> None:
    """CIE-10 in Spanish from the `cie` PyPI package (MIT): 3- and 4-character codes with their
    chapter and group. Its chapter and group ranges follow ICD-10-CM in places; its codes are WHO's."""
    rows = _package_cie10_rows()
    ranges = {
        row["code"].strip(): " ".join(row["description"].split())
        for row in rows
        if "-" in row["code"]
    }
    records = []
    for row in rows:
        code = row["code"].strip()
        if "-" in code or not re.fullmatch(r"[A-Z][0-9]{2}[0-9]?", code):
            continue  # chapters, groups and ICD-10-CM-only extensions
        ancestors = [row[f"code_{i}"].strip() for i in range(5) if row.get(f"code_{i}", "").strip()]
        groups = [a for a in ancestors if "-" in a]
        chapter = groups[0] if groups else ""
        group = groups[-1] if len(groups) > 1 else ""
        records.append(
            {
                "code": code if len(code) == 3 else f"{code[:3]}.{code[3:]}",
                "code_nodot": code,
                "level": len(code),
                "description_es": " ".join(row["description"].split())[:300],
                "description_en": "",
                "chapter": f"({chapter}) {ranges.get(chapter, '')}"[:200] if chapter else "",
                "group": f"({group}) {ranges.get(group, '')}"[:200] if group else "",
                "source": SOURCE_CIE10_PACKAGE,
            }
        )
    result.read = len(rows)
    result.skipped = len(rows) - len(records)
    result.add(sync_rows(Icd10Code, records, key=["code"], fields=ICD10_FIELDS, label=result.label))


# --- Medicines ------------------------------------------------------------------------------------


def load_medicines(path: Path, result: FileResult) -> None:
    """IMSS Cuadro Básico, one row per key (clave, grupo, medicamento, riesgo_embarazo)."""
    issues = Issues(result.label)
    rows = list(
        read_csv(path, result.label, ["clave", "grupo", "medicamento", "riesgo_embarazo"], issues)
    )

    def parse(row: dict[str, str]) -> dict[str, Any]:
        key = text(row, "clave", required=True)
        if not MEDICINE_KEY_RE.match(key):
            raise RowError(
                _("clave de medicamento inválida: %(value)r (formato 010.000.5165.00)")
                % {"value": key}
            )
        return {
            "key": key,
            "generic_name": text(row, "medicamento", required=True, max_length=250),
            "group": text(row, "grupo", max_length=120),
            "pregnancy_risk": text(row, "riesgo_embarazo", max_length=5),
            "source": SOURCE_MEDICINES,
        }

    records = validate_rows(rows, issues, parse)
    unique_by(records, lambda r: r["key"], issues, _("clave"))
    result.read = len(rows)
    issues.raise_if_any()
    fields = ["generic_name", "group", "pregnancy_risk", "source"]
    result.add(
        sync_rows(
            Medicine, [r for _w, r in records], key=["key"], fields=fields, label=result.label
        )
    )


def load_medicines_package(result: FileResult) -> None:
    """The core primary-care keys the project ships, with form and strength written by hand.
    Fills only what is empty, so the official catalogue's names are never overwritten."""
    issues = Issues(result.label)
    with (PACKAGE_DATA / "medicines_core.csv").open(encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))

    def parse(row: dict[str, str]) -> dict[str, Any]:
        if not MEDICINE_KEY_RE.match(row["key"]):
            raise RowError(_("clave de medicamento inválida: %(value)r") % {"value": row["key"]})
        return {
            "key": row["key"],
            "generic_name": text(row, "generic_name", required=True, max_length=250),
            "group": text(row, "group", max_length=120),
            "form": text(row, "form", max_length=120),
            "strength": text(row, "strength", max_length=120),
            "pregnancy_risk": text(row, "pregnancy_risk", max_length=5),
            "source": SOURCE_MEDICINES_PACKAGE,
        }

    records = validate_rows([(i + 2, row) for i, row in enumerate(table)], issues, parse)
    result.read = len(table)
    issues.raise_if_any()
    fields = ["generic_name", "group", "form", "strength", "pregnancy_risk"]
    result.add(
        sync_rows(
            Medicine,
            [r for _w, r in records],
            key=["key"],
            fields=fields,
            mode=Mode.FILL_BLANK,
            label=result.label,
        )
    )


KEY_IN_TEXT_RE = re.compile(r"\d{3}\.\d{3}\.\d{4}\.\d{2}")
# Runs of upper-case words; a capital that starts a lower-case word ("Cada") ends the run.
UPPER_RUN_RE = re.compile(
    r"[A-ZÁÉÍÓÚÜÑ]{2,}(?![a-záéíóúüñ])(?:[ ,/]+[A-ZÁÉÍÓÚÜÑ]+(?![a-záéíóúüñ]))*"
)
DANGLING_RE = re.compile(r"(?:[ ,/]+(?:O|U|Y|E|DE|DEL|CON|PARA|EN|AL|A|LA|LAS|LOS))+$")
FORM_HEADS = (
    "TABLETA", "CÁPSULA", "COMPRIMIDO", "GRAGEA", "SOLUCIÓN", "SOLUCION", "SUSPENSIÓN", "SUSPENSION",
    "EMULSIÓN", "EMULSION", "JARABE", "ELÍXIR", "POLVO", "CREMA", "UNGÜENTO", "GEL", "PASTA",
    "SUPOSITORIO", "ÓVULO", "PARCHE", "IMPLANTE", "INYECTABLE", "AEROSOL", "LOCIÓN", "ESPUMA",
    "GRANULADO", "LÍQUIDO", "GOTAS", "SHAMPOO", "LACA",
)  # fmt: skip


def _forms_by_key(description: str) -> dict[str, str]:
    """The pharmaceutical form for each key in a CBM description: the last form phrase (TABLETA,
    SOLUCIÓN INYECTABLE…) written before the key. Descriptions were extracted from a two-column
    PDF and interleave text, so only phrases that start with a known form word are trusted, and
    strength is not guessed at all (a wrong strength is worse than none)."""
    forms: dict[str, str] = {}
    previous_end = 0
    current = ""
    for match in KEY_IN_TEXT_RE.finditer(description):
        segment = description[previous_end : match.start()]
        for phrase in UPPER_RUN_RE.findall(segment):
            phrase = DANGLING_RE.sub("", phrase.strip(" ,/"))
            if phrase.startswith(FORM_HEADS):
                current = phrase
        if current:
            forms.setdefault(match.group(), current[:1] + current[1:].lower())
        previous_end = match.end()
    return forms


def load_medicine_forms(path: Path, result: FileResult) -> None:
    """Pharmaceutical forms from the CBM descriptions (Grupo, Medicamento, Claves, Descripcion…),
    for the keys that have none yet."""
    issues = Issues(result.label)
    rows = list(
        read_csv(
            path, result.label, ["Medicamento", "Claves", "Descripcion_Indicaciones_Dosis"], issues
        )
    )
    forms: dict[str, str] = {}
    for where, row in rows:
        keys = [k.strip() for k in row["Claves"].split(";") if k.strip()]
        bad = [k for k in keys if not MEDICINE_KEY_RE.match(k)]
        if bad:
            issues.add(where, _("clave de medicamento inválida: %(value)r") % {"value": bad[0]})
            continue
        found = _forms_by_key(row["Descripcion_Indicaciones_Dosis"])
        for key in keys:
            if key in found:
                forms.setdefault(key, found[key][:120])
    result.read = len(rows)
    issues.raise_if_any()
    known = set(Medicine.objects.filter(key__in=list(forms)).values_list("key", flat=True))
    result.skipped = len(forms) - len(known)
    rows_out = [{"key": k, "form": v} for k, v in forms.items() if k in known]
    result.add(
        sync_rows(
            Medicine,
            rows_out,
            key=["key"],
            fields=["form"],
            mode=Mode.FILL_BLANK,
            create=False,
            label=result.label,
        )
    )


# --- Vaccination ----------------------------------------------------------------------------------


def _vaccine_record(
    row: dict[str, str], columns: tuple[str, str, str, str, str, str], source: str
) -> dict[str, Any]:
    months, label, vaccine, dose, condition, note = columns
    age = required_int(row[months], months)
    if age > 1200:
        raise RowError(_("%(col)s fuera de rango: %(value)d") % {"col": months, "value": age})
    return {
        "country": "MX",
        "age_months": age,
        "age_label": text(row, label, required=True, max_length=60),
        "vaccine": text(row, vaccine, required=True, max_length=120),
        "dose": text(row, dose, required=True, max_length=40),
        "condition": text(row, condition, max_length=60),
        "note": text(row, note, max_length=300),
        "source": source,
    }


def _sync_vaccines(
    records: list[tuple[int | str, dict[str, Any]]], issues: Issues, result: FileResult
) -> None:
    unique_by(records, lambda r: (r["age_months"], r["vaccine"], r["dose"]), issues, _("dosis"))
    issues.raise_if_any()
    result.add(
        sync_rows(
            VaccineScheduleEntry,
            [r for _w, r in records],
            key=["country", "age_months", "vaccine", "dose"],
            fields=["age_label", "condition", "note", "source"],
            label=result.label,
        )
    )


def load_vaccination(path: Path, result: FileResult) -> None:
    """Mexico's universal schedule (edad_meses, edad_etiqueta, vacuna, dosis, condicion, nota)."""
    issues = Issues(result.label)
    columns = ("edad_meses", "edad_etiqueta", "vacuna", "dosis", "condicion", "nota")
    rows = list(read_csv(path, result.label, list(columns), issues))
    records = validate_rows(
        rows, issues, lambda row: _vaccine_record(row, columns, SOURCE_VACCINES)
    )
    result.read = len(rows)
    _sync_vaccines(records, issues, result)


def load_vaccination_package(result: FileResult) -> None:
    issues = Issues(result.label)
    columns = ("age_months", "age_label", "vaccine", "dose", "condition", "note")
    with (PACKAGE_DATA / "vaccination_mx.csv").open(encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    records = validate_rows(
        [(i + 2, row) for i, row in enumerate(table)],
        issues,
        lambda row: _vaccine_record(row, columns, SOURCE_VACCINES),
    )
    result.read = len(table)
    _sync_vaccines(records, issues, result)


# --- LOINC ----------------------------------------------------------------------------------------


def _loinc_record(row: dict[str, str], code: str, display: str, unit: str) -> dict[str, Any]:
    value = text(row, code, required=True)
    if not LOINC_RE.match(value):
        raise RowError(_("código LOINC inválido: %(value)r") % {"value": value})
    return {
        "code": value,
        "display": text(row, display, required=True, max_length=300),
        "unit": text(row, unit, max_length=40),
        "source": SOURCE_LOINC,
    }


def load_loinc(path: Path, result: FileResult) -> None:
    """LOINC codes in use (loinc_code, display, example_unit)."""
    issues = Issues(result.label)
    rows = list(read_csv(path, result.label, ["loinc_code", "display", "example_unit"], issues))
    records = validate_rows(
        rows, issues, lambda row: _loinc_record(row, "loinc_code", "display", "example_unit")
    )
    unique_by(records, lambda r: r["code"], issues, _("código"))
    result.read = len(rows)
    issues.raise_if_any()
    result.add(
        sync_rows(
            LoincCode,
            [r for _w, r in records],
            key=["code"],
            fields=["display", "unit", "source"],
            label=result.label,
        )
    )


def load_loinc_package(result: FileResult) -> None:
    """The vital signs and core laboratory codes the clinical record needs, always present.
    Fills only what is empty, so a fuller official list is never overwritten."""
    issues = Issues(result.label)
    with (PACKAGE_DATA / "loinc_core.csv").open(encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    records = validate_rows(
        [(i + 2, row) for i, row in enumerate(table)],
        issues,
        lambda row: _loinc_record(row, "code", "display", "unit"),
    )
    result.read = len(table)
    issues.raise_if_any()
    result.add(
        sync_rows(
            LoincCode,
            [r for _w, r in records],
            key=["code"],
            fields=["display", "unit"],
            mode=Mode.FILL_BLANK,
            label=result.label,
        )
    )
