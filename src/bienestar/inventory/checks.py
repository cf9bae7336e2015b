"""Invariants of the stock ledger, for `bienestar verify` (the lead wires `checks()` into ops).

Plain SQL, so they run on national-size tables and catch rows written around the services (a manual
UPDATE with the trigger disabled, a restore gone wrong). Each returns a list of problems, naming the
lot by its public id; an empty list means the invariant holds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connection

MAX_REPORTED = 20
LEDGER_TRIGGERS = ("stock_ledger_no_update_delete", "stock_ledger_no_truncate")


def _rows(sql: str, params: list[Any] | None = None) -> list[tuple[object, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return list(cursor.fetchall())


def no_negative_balance() -> list[str]:
    return [
        f"stock: lot {public_id} ({key} lote {number}) has a negative balance ({quantity})"
        for public_id, key, number, quantity in _rows(
            """SELECT public_id, medicine_id, lot_number, quantity FROM inventory_lot
               WHERE quantity < 0 ORDER BY id LIMIT %s""",
            [MAX_REPORTED],
        )
    ]


def balance_equals_ledger() -> list[str]:
    return [
        f"stock: lot {public_id} ({key} lote {number}) balance {quantity} differs from the sum of "
        f"its ledger ({total})"
        for public_id, key, number, quantity, total in _rows(
            """SELECT l.public_id, l.medicine_id, l.lot_number, l.quantity, coalesce(m.total, 0)
               FROM inventory_lot l
               LEFT JOIN (SELECT lot_id, sum(quantity) AS total FROM inventory_stockmovement
                          GROUP BY lot_id) m ON m.lot_id = l.id
               WHERE l.quantity <> coalesce(m.total, 0)
               ORDER BY l.id LIMIT %s""",
            [MAX_REPORTED],
        )
    ]


def ledger_running_balance() -> list[str]:
    """Every movement's `balance_after` is the running sum of its lot's ledger up to it (ledger order
    is id order: movements of one lot are written under that lot's row lock)."""
    return [
        f"stock: ledger row {movement} of lot {lot} says balance {after} after {quantity:+d}, "
        f"but the ledger sums to {running}"
        for movement, lot, quantity, after, running in _rows(
            """SELECT m.public_id, l.public_id, m.quantity, m.balance_after, m.running
               FROM (SELECT public_id, lot_id, quantity, balance_after,
                            sum(quantity) OVER (PARTITION BY lot_id ORDER BY id) AS running
                     FROM inventory_stockmovement) m
               JOIN inventory_lot l ON l.id = m.lot_id
               WHERE m.balance_after <> m.running OR m.running < 0
               ORDER BY m.lot_id LIMIT %s""",
            [MAX_REPORTED],
        )
    ]


def ledger_triggers_present() -> list[str]:
    present = {
        row[0]
        for row in _rows(
            """SELECT tgname FROM pg_trigger WHERE tgrelid = 'inventory_stockmovement'::regclass
               AND tgenabled <> 'D' AND NOT tgisinternal"""
        )
    }
    return [
        f"stock: trigger {name} is missing or disabled (the ledger is no longer append-only)"
        for name in LEDGER_TRIGGERS
        if name not in present
    ]


def checks() -> list[tuple[str, Callable[[], list[str]]]]:
    return [
        ("stock ledger is append-only", ledger_triggers_present),
        ("no negative stock balance", no_negative_balance),
        ("every stock balance equals the sum of its ledger", balance_equals_ledger),
        ("every ledger row's balance_after is its running sum", ledger_running_balance),
    ]
