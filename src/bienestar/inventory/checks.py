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


def ledger_never_negative_at_any_date() -> list[str]:
    """A lot's balance in time order ((at, id): backdated rows included) is never below zero."""
    return [
        f"stock: lot {lot} ({key} lote {number}) would be at {running} on {at:%Y-%m-%d %H:%M}"
        for lot, key, number, at, running in _rows(
            """SELECT l.public_id, l.medicine_id, l.lot_number, m.at, m.running
               FROM (SELECT lot_id, at,
                            sum(quantity) OVER (PARTITION BY lot_id ORDER BY at, id) AS running
                     FROM inventory_stockmovement) m
               JOIN inventory_lot l ON l.id = m.lot_id
               WHERE m.running < 0 ORDER BY m.lot_id, m.at LIMIT %s""",
            [MAX_REPORTED],
        )
    ]


def reversals_consistent() -> list[str]:
    """Each reversal cancels its original exactly: same lot, opposite quantity, same date."""
    return [
        f"stock: reversal {reversal} does not cancel ledger row {original} exactly"
        for original, reversal in _rows(
            """SELECT o.public_id, r.public_id FROM inventory_ledgerreversal x
               JOIN inventory_stockmovement o ON o.id = x.original_id
               JOIN inventory_stockmovement r ON r.id = x.reversal_id
               WHERE r.kind <> 'reversal' OR r.lot_id <> o.lot_id OR r.quantity <> -o.quantity
                  OR r.at <> o.at OR x.lot_id <> o.lot_id
               LIMIT %s""",
            [MAX_REPORTED],
        )
    ]


def shipments_balance() -> list[str]:
    """Double entry of shipments: each line's transfer_out rows sum to -shipped at its origin's
    lot, its transfer_in rows to +received; a received line with a difference states a reason; a
    shipment in transit has nothing received yet."""
    return [
        f"stock: shipment {shipment} line {line} ({key}): shipped {shipped}, out {out}, "
        f"received {received}, in {inbound}, status {status}"
        for shipment, line, key, shipped, out, received, inbound, status in _rows(
            """SELECT s.public_id, sl.id, sl.medicine_id, sl.shipped, coalesce(o.q, 0),
                      sl.received, coalesce(i.q, 0), s.status
               FROM inventory_shipmentline sl
               JOIN inventory_shipment s ON s.id = sl.shipment_id
               LEFT JOIN (SELECT reference, sum(quantity) AS q, min(lot_id) AS lot_id,
                                 max(lot_id) AS lot_max
                          FROM inventory_stockmovement
                          WHERE kind = 'transfer_out' AND reference LIKE 'shipline:%%'
                          GROUP BY reference) o ON o.reference = 'shipline:' || sl.id
               LEFT JOIN (SELECT reference, sum(quantity) AS q, min(lot_id) AS lot_id,
                                 max(lot_id) AS lot_max
                          FROM inventory_stockmovement
                          WHERE kind = 'transfer_in' AND reference LIKE 'shipline:%%'
                          GROUP BY reference) i ON i.reference = 'shipline:' || sl.id
               WHERE coalesce(o.q, 0) <> -sl.shipped
                  OR o.lot_id <> sl.source_lot_id OR o.lot_max <> sl.source_lot_id
                  OR (s.status = 'in_transit' AND (sl.received IS NOT NULL OR i.q IS NOT NULL))
                  OR (s.status = 'received' AND (sl.received IS NULL
                      OR coalesce(i.q, 0) <> sl.received
                      OR (sl.received > 0 AND (i.lot_id <> sl.destination_lot_id
                                               OR i.lot_max <> sl.destination_lot_id))
                      OR (sl.received < sl.shipped AND sl.difference_reason = '')))
               ORDER BY sl.id LIMIT %s""",
            [MAX_REPORTED],
        )
    ]


def snapshots_fresh() -> list[str]:
    """Every daily snapshot equals the end-of-day stock recomputed from the ledger (a stale
    snapshot table is how another system's stock-out alerts stopped firing)."""
    from bienestar.inventory.snapshots import daily_stock

    bounds = _rows("SELECT min(day), max(day) FROM inventory_stocksnapshot")[0]
    if bounds[0] is None:
        return []
    start, end = bounds
    problems = []
    computed = daily_stock(start=start, end=end)  # type: ignore[arg-type]
    expected = {
        (facility, key, day): (usable, on_hand)
        for (facility, key), days in computed.items()
        for day, usable, on_hand in days
    }
    for facility, key, day, usable, on_hand in _rows(
        "SELECT facility_id, medicine_id, day, usable, on_hand FROM inventory_stocksnapshot"
    ):
        want = expected.get((facility, key, day), (0, 0))  # type: ignore[arg-type]
        if (usable, on_hand) != want:
            problems.append(
                f"stock: snapshot of {key} at facility {facility} on {day} says usable {usable}, "
                f"on hand {on_hand}; the ledger says {want[0]}, {want[1]}"
            )
            if len(problems) >= MAX_REPORTED:
                break
    return problems


def checks() -> list[tuple[str, Callable[[], list[str]]]]:
    return [
        ("stock ledger is append-only", ledger_triggers_present),
        ("no negative stock balance", no_negative_balance),
        ("every stock balance equals the sum of its ledger", balance_equals_ledger),
        ("every ledger row's balance_after is its running sum", ledger_running_balance),
        ("no stock balance is negative at any date", ledger_never_negative_at_any_date),
        ("every reversal cancels its original exactly", reversals_consistent),
        ("shipments: dispatched = out, received = in, differences explained", shipments_balance),
        ("daily stock snapshots match the ledger", snapshots_fresh),
    ]
