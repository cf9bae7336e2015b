"""Factories and reference rows for the clinical tests (the codes a test needs, created in it)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from bienestar.access.models import AuditEvent
from bienestar.clinical.models import (
    AllergyIntolerance,
    Condition,
    Encounter,
    Immunization,
    Observation,
)
from bienestar.terminology.models import Icd10Code, Medicine, VaccineScheduleEntry

ICD10 = [
    ("E10", 3, "Diabetes mellitus tipo 1"),
    ("E11", 3, "Diabetes mellitus tipo 2"),
    ("E11.9", 4, "Diabetes mellitus tipo 2, sin mención de complicación"),
    ("E11.2", 4, "Diabetes mellitus tipo 2, con complicaciones renales"),
    ("O24", 3, "Diabetes mellitus en el embarazo"),
    ("I10", 3, "Hipertensión esencial (primaria)"),
    ("I15", 3, "Hipertensión secundaria"),
    ("J00", 3, "Rinofaringitis aguda [resfriado común]"),
    ("E66", 3, "Obesidad"),
]

# A slice of the 2026 national schedule (vaccination/mx_pvu2026_esquema_0a9_anios.csv).
SCHEDULE = [
    (0, "Nacimiento", "BCG", "unica", "universal"),
    (0, "Nacimiento", "Anti hepatitis B", "nacimiento", "universal"),
    (2, "2 meses", "Hexavalente acelular", "1", "universal"),
    (4, "4 meses", "Hexavalente acelular", "2", "universal"),
    (6, "6 meses", "Hexavalente acelular", "3", "universal"),
    (6, "6 meses", "Anti influenza estacional", "1", "temporada invernal"),
    (12, "12 meses", "SRP (triple viral)", "1", "universal"),
    (18, "18 meses", "SRP (triple viral)", "2", "nacidos a partir de julio 2020"),
    (60, "A partir de 5 anios", "Anti influenza estacional", "anual", "comorbilidad de riesgo"),
    (72, "6 anios", "SRP (triple viral)", "2", "nacidos antes de julio 2020"),
]


def icd10_codes() -> dict[str, Icd10Code]:
    out = {}
    for code, level, description in ICD10:
        out[code] = Icd10Code.objects.create(
            code=code,
            code_nodot=code.replace(".", ""),
            level=level,
            description_es=description,
            source="test",
        )
    return out


def schedule_entries() -> list[VaccineScheduleEntry]:
    return [
        VaccineScheduleEntry.objects.create(
            country="MX",
            age_months=m,
            age_label=label,
            vaccine=v,
            dose=d,
            condition=c,
            source="test",
        )
        for m, label, v, d, c in SCHEDULE
    ]


def metformin() -> Medicine:
    return Medicine.objects.create(
        key="010.000.5165.00",
        generic_name="Metformina",
        form="Tableta",
        strength="850 mg",
        source="test",
    )


def months_ago(months: int, today: dt.date | None = None) -> dt.date:
    from bienestar.clinical.schedule import add_months

    return add_months(today or dt.date.today(), -months)


def vitals(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"systolic": 130, "diastolic": 85, "weight": "80.0", "height": "170"}
    base.update(overrides)
    return base


def clinical_counts() -> dict[str, int]:
    return {
        "encounters": Encounter.objects.count(),
        "conditions": Condition.objects.count(),
        "observations": Observation.objects.count(),
        "allergies": AllergyIntolerance.objects.count(),
        "immunizations": Immunization.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


def an_hour_ago() -> dt.datetime:
    return timezone.now() - dt.timedelta(hours=1)
