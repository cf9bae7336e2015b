"""Balances by date: a lot's balance is the sum of its signed ledger rows, and it must not be
negative at any point in time, not only today.

Ledger rows carry `at` (when the movement happened). Most are written "now"; a backdated row (a
count taken earlier in the day, a reversal dated on the entry it cancels, a delivery recorded late)
is inserted into the past, so every balance after its date changes. Order in time is `(at, id)`.

`check_dated_balances` is called by the one writer (`services._save`), with the lots locked, for
every batch dated before "now": an outgoing row is refused if the lot's balance would be negative
at its date or at any later row. A row dated "now" can only see later rows if a clock ran ahead, so
that common path costs no query; `bienestar verify` (`checks.ledger_never_negative_at_any_date`)
checks the whole ledger in time order.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from bienestar.core.errors import Conflict, ValidationFailed
from bienestar.inventory.models import StockMovement

# A row dated more than this before the server's clock is "backdated" and re-checks later balances.
BACKDATED_AFTER = dt.timedelta(seconds=5)
# How far ahead of the server's clock a caller may date a movement (clocks of other systems).
FUTURE_TOLERANCE = dt.timedelta(minutes=5)


class NegativeAtDate(Conflict):
    """A backdated movement would leave a lot below zero on some date."""

    code = "negative_at_date"

    def __init__(self, *, lot_number: str, medicine_key: str, when: dt.datetime, balance: int):
        self.when = when
        self.balance = balance
        super().__init__(
            _(
                "El movimiento dejaría el lote %(lot)s de %(key)s con existencia negativa "
                "(%(balance)d) el %(when)s: no se registra."
            )
            % {
                "lot": lot_number,
                "key": medicine_key,
                "balance": balance,
                "when": timezone.localtime(when).strftime("%d/%m/%Y %H:%M"),
            },
            field="at",
        )

    def as_dict(self) -> dict[str, Any]:
        data = super().as_dict()
        data.update({"when": self.when.isoformat(), "balance": self.balance})
        return data


def checked_at(at: dt.datetime | None) -> dt.datetime:
    """`at` or now; a date in the future is refused."""
    now = timezone.now()
    if at is None:
        return now
    if at > now + FUTURE_TOLERANCE:
        raise ValidationFailed(
            _("La fecha del movimiento no puede ser posterior a hoy."), field="at"
        )
    return at


def is_backdated(at: dt.datetime) -> bool:
    return at < timezone.now() - BACKDATED_AFTER


_CHECK = """
WITH new (lot_id, at, q) AS (VALUES {rows})
SELECT new.lot_id, new.at, new.q,
       (SELECT coalesce(sum(m.quantity), 0) FROM inventory_stockmovement m
         WHERE m.lot_id = new.lot_id AND m.at <= new.at) AS before,
       neg.at, neg.running
FROM new
LEFT JOIN LATERAL (
    SELECT r.at, r.running FROM (
        SELECT m.at, m.id, sum(m.quantity) OVER (ORDER BY m.at, m.id) AS running
        FROM inventory_stockmovement m WHERE m.lot_id = new.lot_id) r
    WHERE r.at > new.at AND r.running + new.q < 0
    ORDER BY r.at, r.id LIMIT 1) neg ON true
"""


def balance_at(lot_id: int, at: dt.datetime) -> int:
    """A lot's balance just after every movement dated at or before `at`."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(sum(quantity), 0) FROM inventory_stockmovement "
            "WHERE lot_id = %s AND at <= %s",
            [lot_id, at],
        )
        return int(cursor.fetchone()[0])


def check_dated_balances(movements: Sequence[StockMovement], *, every: bool = False) -> None:
    """Refuse (`NegativeAtDate`) a batch of backdated movements that would make a lot's balance
    negative at their date or at any later ledger row. The lots must be locked by the caller.
    `every`: check the batch whatever its date (a reversal keeps its original's date, however
    recent)."""
    net: dict[tuple[int, dt.datetime], int] = defaultdict(int)
    lots = {}
    for m in movements:
        if every or is_backdated(m.at):
            net[(m.lot_id, m.at)] += m.quantity
            lots[m.lot_id] = m.lot
    outgoing = [(lot_id, at, q) for (lot_id, at), q in net.items() if q < 0]
    if not outgoing:
        return
    rows = ", ".join(["(%s::bigint, %s::timestamptz, %s::integer)"] * len(outgoing))
    params: list[Any] = [v for row in outgoing for v in row]
    with connection.cursor() as cursor:
        cursor.execute(_CHECK.format(rows=rows), params)
        found = cursor.fetchall()
    for lot_id, at, q, before, negative_at, running in found:
        lot = lots[lot_id]
        if before + q < 0:
            raise NegativeAtDate(
                lot_number=lot.lot_number, medicine_key=lot.medicine_id, when=at, balance=before + q
            )
        if negative_at is not None:
            raise NegativeAtDate(
                lot_number=lot.lot_number,
                medicine_key=lot.medicine_id,
                when=negative_at,
                balance=running + q,
            )
