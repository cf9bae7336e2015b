"""Daily stock snapshots and stock-out days, derived from the ledger.

End-of-day stock of a key at a facility = Σ over its lots of the lot's balance after every movement
dated before the next local midnight; *usable* counts only lots not expired on that day. A day is a
stock-out day when the usable stock of the key, across all its lots, is ≤ 0 at the end of it (one
lot out while another holds units is not a stock-out; a period with no units at all is stock-out
every day, never "no data").

The snapshot table (`StockSnapshot`) is only a cache of `daily_stock`: `snapshot_build` fills it
(idempotent upsert, safe to re-run for any range), a backdated movement refreshes the days after its
date in the same transaction (`snapshots_refresh_after`), and `bienestar verify` recomputes every
snapshot from the ledger and reports any that went stale.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from bienestar.inventory.models import StockMovement

_DAILY = """
WITH days AS (SELECT generate_series(%(start)s::date, %(end)s::date, interval '1 day')::date AS day),
lots AS (
    SELECT id, facility_id, medicine_id, expiry FROM inventory_lot
    WHERE (%(facilities)s::bigint[] IS NULL OR facility_id = ANY(%(facilities)s::bigint[]))
      AND (%(keys)s::text[] IS NULL OR medicine_id = ANY(%(keys)s::text[]))),
opening AS (
    -- The balance before the period: today's balance minus what moved since (the ledger sums to the
    -- balance, `verify` checks it), so that only the period's partitions are read, not all history.
    SELECT l.id AS lot_id, l.quantity - coalesce(sum(m.quantity), 0) AS q
    FROM inventory_lot l JOIN lots ON lots.id = l.id
    LEFT JOIN inventory_stockmovement m
        ON m.lot_id = l.id AND m.at >= (%(start)s::date::timestamp AT TIME ZONE %(tz)s)
    GROUP BY l.id, l.quantity),
daily AS (
    SELECT m.lot_id, (m.at AT TIME ZONE %(tz)s)::date AS day, sum(m.quantity) AS q
    FROM inventory_stockmovement m JOIN lots ON lots.id = m.lot_id
    WHERE m.at >= (%(start)s::date::timestamp AT TIME ZONE %(tz)s)
      AND m.at < ((%(end)s::date + 1)::timestamp AT TIME ZONE %(tz)s)
    GROUP BY 1, 2),
lot_days AS (
    SELECT lots.facility_id, lots.medicine_id, lots.expiry, days.day,
           coalesce(o.q, 0) + coalesce(sum(d.q) OVER (PARTITION BY lots.id ORDER BY days.day), 0)
               AS balance
    FROM lots CROSS JOIN days
    LEFT JOIN opening o ON o.lot_id = lots.id
    LEFT JOIN daily d ON d.lot_id = lots.id AND d.day = days.day)
SELECT facility_id, medicine_id, day,
       coalesce(sum(balance) FILTER (WHERE expiry >= day), 0)::integer AS usable,
       coalesce(sum(balance), 0)::integer AS on_hand
FROM lot_days GROUP BY facility_id, medicine_id, day
"""


# The planner overestimates the calendar-by-lots rows and would JIT-compile the statement: half a
# second of compiling for a query that runs in tens of milliseconds.
_NO_JIT = "SET LOCAL jit = off"


def _params(
    start: dt.date,
    end: dt.date,
    facility_ids: Iterable[int] | None,
    keys: Iterable[str] | None,
) -> dict[str, Any]:
    return {
        "start": start,
        "end": end,
        "tz": settings.TIME_ZONE,
        "facilities": list(facility_ids) if facility_ids is not None else None,
        "keys": list(keys) if keys is not None else None,
    }


def daily_stock(
    *,
    start: dt.date,
    end: dt.date,
    facility_ids: Iterable[int] | None = None,
    keys: Iterable[str] | None = None,
) -> dict[tuple[int, str], list[tuple[dt.date, int, int]]]:
    """End-of-day (usable, on hand) per (facility, key) for every day of [start, end], from the
    ledger. Internal (no actor): the stock selectors and the replenishment run scope their callers."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_NO_JIT)
        cursor.execute(
            _DAILY + " ORDER BY facility_id, medicine_id, day",
            _params(start, end, facility_ids, keys),
        )
        rows = cursor.fetchall()
    out: dict[tuple[int, str], list[tuple[dt.date, int, int]]] = defaultdict(list)
    for facility_id, key, day, usable, on_hand in rows:
        out[(facility_id, key)].append((day, usable, on_hand))
    return dict(out)


def stockout_days(*, facility_id: int, key: str, start: dt.date, end: dt.date) -> int:
    """Days of [start, end] whose end-of-day usable stock of the key, across its lots, is ≤ 0."""
    days = daily_stock(start=start, end=end, facility_ids=[facility_id], keys=[key]).get(
        (facility_id, key)
    )
    if days is None:  # the facility never held a lot of the key: out every day
        return (end - start).days + 1
    return sum(1 for _day, usable, _on_hand in days if usable <= 0)


def snapshot_build(
    *,
    start: dt.date,
    end: dt.date,
    facility_ids: Iterable[int] | None = None,
    keys: Iterable[str] | None = None,
) -> int:
    """Write (or rewrite) the snapshots of [start, end]; returns the number of rows written.
    Idempotent: re-running a range rewrites the same values."""
    if end < start:
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_NO_JIT)
        cursor.execute(
            f"""INSERT INTO inventory_stocksnapshot (facility_id, medicine_id, day, usable, on_hand)
                {_DAILY}
                ON CONFLICT (facility_id, medicine_id, day)
                DO UPDATE SET usable = EXCLUDED.usable, on_hand = EXCLUDED.on_hand""",
            _params(start, end, facility_ids, keys),
        )
        return cursor.rowcount


def snapshots_refresh_after(movements: Sequence[StockMovement]) -> None:
    """A backdated movement changes every end-of-day balance from its date on: rebuild the
    snapshots already taken for its facility and key from that day (called by the writer, inside
    its transaction)."""
    earliest: dict[tuple[int, str], dt.datetime] = {}
    for m in movements:
        key = (m.facility_id, m.medicine_id)
        if key not in earliest or m.at < earliest[key]:
            earliest[key] = m.at
    from django.utils import timezone

    for (facility_id, medicine_key), at in sorted(earliest.items()):
        with connection.cursor() as cursor:
            # Two transactions backdating the same key (on different lots) refresh one at a time,
            # the second after the first committed, so that it sees the first's rows: otherwise the
            # last to commit would write snapshots missing the other's movement.
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                [f"inventory.snapshot:{facility_id}:{medicine_key}"],
            )
            cursor.execute(
                "SELECT max(day) FROM inventory_stocksnapshot WHERE facility_id = %s "
                "AND medicine_id = %s",
                [facility_id, medicine_key],
            )
            last = cursor.fetchone()[0]
        day = timezone.localdate(at)
        if last is not None and last >= day:
            snapshot_build(start=day, end=last, facility_ids=[facility_id], keys=[medicine_key])


FIRST_BUILD_DAYS = 90


def snapshots_catch_up(*, through: dt.date | None = None) -> tuple[dt.date, dt.date, int] | None:
    """Build the snapshots of the finished days not built yet: from the day after the last one
    (or `FIRST_BUILD_DAYS` back on a first run) through yesterday. Idempotent and resumable: a run
    interrupted or repeated rebuilds the same rows. Returns (start, end, rows) or None when
    already up to date."""
    from django.utils import timezone

    through = through or timezone.localdate() - dt.timedelta(days=1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(day) FROM inventory_stocksnapshot")
        last = cursor.fetchone()[0]
    start = (
        last + dt.timedelta(days=1) if last else through - dt.timedelta(days=FIRST_BUILD_DAYS - 1)
    )
    if start > through:
        return None
    return start, through, snapshot_build(start=start, end=through)
