"""Invariants of the clinical record for `bienestar verify` (wired in by ops/checks.py).

Plain SQL, so they scale to national tables and catch rows written around the services. Each check
returns a list of problems, empty when the invariant holds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connection

MAX_REPORTED = 20


def _rows(sql: str, params: list[Any] | None = None) -> list[tuple[object, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, [*(params or []), MAX_REPORTED])
        return list(cursor.fetchall())


def bmi_consistent() -> list[str]:
    """Every computed BMI equals the latest weight ÷ (latest height in metres)² of its encounter."""
    # `wrong` is MATERIALIZED so that the LIMIT does not reach the joins: with it the planner
    # expects mismatches at once and nests loops over the CTE (minutes on 30,000 encounters).
    sql = """
    WITH latest AS (
        SELECT DISTINCT ON (encounter_id, code) encounter_id, code, value
        FROM clinical_observation
        WHERE code IN ('29463-7', '8302-2') AND status = 'final' AND encounter_id IS NOT NULL
        ORDER BY encounter_id, code, effective_at DESC, id DESC
    )
    , wrong AS MATERIALIZED (
        SELECT b.public_id, b.value AS bmi, w.value AS weight, h.value AS height
        FROM clinical_observation b
        LEFT JOIN latest w ON w.encounter_id = b.encounter_id AND w.code = '29463-7'
        LEFT JOIN latest h ON h.encounter_id = b.encounter_id AND h.code = '8302-2'
        WHERE b.code = '39156-5' AND b.status = 'final' AND b.encounter_id IS NOT NULL
          AND (w.value IS NULL OR h.value IS NULL
               OR b.value <> round(w.value / ((h.value / 100) * (h.value / 100)), 1))
    )
    SELECT public_id, bmi, weight, height FROM wrong LIMIT %s
    """
    return [
        f"observation {pid}: BMI {bmi} does not match weight {w} kg and height {h} cm of its encounter"
        for pid, bmi, w, h in _rows(sql)
    ]


def blood_pressure_consistent() -> list[str]:
    """Systolic and diastolic rows hang from a panel of the same person, diastolic below systolic."""
    problems = [
        f"observation {pid}: blood pressure component outside a panel of the same person"
        for (pid,) in _rows(
            """SELECT c.public_id FROM clinical_observation c
               LEFT JOIN clinical_observation p ON p.id = c.panel_id
               WHERE c.code IN ('8480-6', '8462-4')
                 AND (p.id IS NULL OR p.code <> '85354-9' OR p.person_id <> c.person_id)
               LIMIT %s"""
        )
    ]
    problems += [
        f"observation {pid}: diastolic {dia} not below systolic {sys}"
        for pid, sys, dia in _rows(
            """SELECT p.public_id, s.value, d.value FROM clinical_observation p
               JOIN clinical_observation s ON s.panel_id = p.id AND s.code = '8480-6'
               JOIN clinical_observation d ON d.panel_id = p.id AND d.code = '8462-4'
               WHERE p.status = 'final' AND d.value >= s.value
               LIMIT %s"""
        )
    ]
    return problems


def records_match_encounter() -> list[str]:
    """A diagnosis, vital sign, allergy or vaccine recorded in an encounter carries that encounter's
    person and facility (the partitioning keys must not drift)."""
    problems = []
    for table in ("condition", "observation", "allergyintolerance", "immunization"):
        problems += [
            f"{table} {pid}: person or facility differs from its encounter"
            for (pid,) in _rows(
                f"""SELECT r.public_id FROM clinical_{table} r
                    JOIN clinical_encounter e ON e.id = r.encounter_id
                    WHERE r.person_id <> e.person_id OR r.facility_id <> e.facility_id
                    LIMIT %s"""  # noqa: S608 - table names are the fixed list above
            )
        ]
    return problems


def checks() -> list[tuple[str, Callable[[], list[str]]]]:
    return [
        ("clinical: BMI equals weight and height", bmi_consistent),
        ("clinical: blood pressure panels consistent", blood_pressure_consistent),
        ("clinical: records carry their encounter's person and facility", records_match_encounter),
    ]
