"""Invariants of dispensing, for `bienestar verify` (the lead wires `checks()` into ops).

"A dispense and its stock movements commit together or not at all" leaves a trace that can be
checked afterwards: every unit a dispense line handed over left the pharmacy's stock through ledger
rows that name that line, and every prescription line's `dispensed_quantity` is the sum of its
dispense lines. Plain SQL; each check returns its problems (empty when it holds).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connection

MAX_REPORTED = 20


def _rows(sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return list(cursor.fetchall())


def dispense_lines_match_stock() -> list[str]:
    return [
        f"dispensing: dispense line {public_id} handed over {quantity} units but the stock ledger "
        f"records {moved} for it"
        for public_id, quantity, moved in _rows(
            # MATERIALIZED keeps the LIMIT out of the join: with it, the planner expects to meet
            # 20 mismatches at once and nests loops (minutes on 50,000 lines when all is well).
            """WITH wrong AS MATERIALIZED (
                   SELECT dl.id, dl.public_id, dl.quantity, coalesce(-m.total, 0) AS moved
                   FROM prescribing_dispenseline dl
                   LEFT JOIN (SELECT reference, sum(quantity) AS total
                              FROM inventory_stockmovement
                              WHERE kind = 'dispense' AND reference LIKE 'dispense-line:%%'
                              GROUP BY reference) m
                          ON m.reference = 'dispense-line:' || dl.public_id::text
                   WHERE dl.quantity <> coalesce(-m.total, 0))
               SELECT public_id, quantity, moved FROM wrong ORDER BY id LIMIT %s""",
            [MAX_REPORTED],
        )
    ]


def stock_dispenses_have_lines() -> list[str]:
    return [
        f"dispensing: stock movement {public_id} is a dispense that no dispense line explains"
        for (public_id,) in _rows(
            """SELECT m.public_id FROM inventory_stockmovement m
               WHERE m.kind = 'dispense' AND NOT EXISTS (
                   SELECT 1 FROM prescribing_dispenseline dl
                   WHERE m.reference = 'dispense-line:' || dl.public_id::text)
               ORDER BY m.id LIMIT %s""",
            [MAX_REPORTED],
        )
    ]


def dispensed_quantities_add_up() -> list[str]:
    return [
        f"dispensing: prescription line {public_id} says {dispensed} units dispensed but its "
        f"dispense lines add up to {total}"
        for public_id, dispensed, total in _rows(
            """SELECT l.public_id, l.dispensed_quantity, coalesce(d.total, 0)
               FROM prescribing_prescriptionline l
               LEFT JOIN (SELECT prescription_line_id, sum(quantity) AS total
                          FROM prescribing_dispenseline GROUP BY prescription_line_id) d
                      ON d.prescription_line_id = l.id
               WHERE l.dispensed_quantity <> coalesce(d.total, 0)
               ORDER BY l.id LIMIT %s""",
            [MAX_REPORTED],
        )
    ]


def checks() -> list[tuple[str, Callable[[], list[str]]]]:
    return [
        ("every dispensed unit left the stock ledger", dispense_lines_match_stock),
        ("every stock dispense belongs to a dispense line", stock_dispenses_have_lines),
        ("dispensed quantities add up", dispensed_quantities_add_up),
    ]
