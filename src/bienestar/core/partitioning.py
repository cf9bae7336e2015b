"""Monthly range partitions of the big append-only tables (issue 10, ADR 0013).

`convert(...)` turns an existing table into a table partitioned by month on a time column, in one
transaction: a new partitioned table with the same columns, defaults, CHECK and NOT NULL constraints,
monthly partitions from the oldest row's month to a few months ahead plus a DEFAULT partition (a row
outside every month is stored, never refused), the rows copied, the old table dropped, then the
indexes, foreign keys and triggers recreated on the parent (PostgreSQL clones indexes and row
triggers onto every partition, present and future). The primary key becomes `(id, <time column>)`
(a partitioned table's unique keys must hold the partition key); `id` keeps its identity sequence,
so Django's lookups by `id` work (one index probe per partition). Other unique constraints gain the
time column too.

`ensure(...)` creates the months ahead (the nightly job calls it) and gives each new partition the
parent's statement-level triggers (TRUNCATE refusal), which PostgreSQL does not clone.

Table and column names here come from `PARTITIONED`, never from input.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

DEFAULT_MONTHS_AHEAD = 3
# The conversion also creates this many months back, empty or not, so that the rows of a recent
# history (a demo's synthetic activity, a migration from another system) land in their month.
DEFAULT_MONTHS_BACK = 24


class PartitionError(Exception):
    pass


@dataclass(frozen=True)
class Partitioned:
    table: str
    column: str
    label: str  # what the rows are, for operators (Spanish)
    clinical: bool  # part of the clinical record (NOM-004 retention) or operational


PARTITIONED: dict[str, Partitioned] = {
    p.table: p
    for p in (
        Partitioned("access_auditevent", "at", "bitácora de acceso", clinical=True),
        Partitioned("inventory_stockmovement", "at", "libro de existencias", clinical=False),
    )
}


def utc_today() -> dt.date:
    """Partitions are UTC months: "this month" is the UTC one, whatever the server's zone."""
    return dt.datetime.now(dt.UTC).date()


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def partition_name(table: str, month: dt.date) -> str:
    return f"{table}_p{month:%Y%m}"


def _bound(month: dt.date) -> str:
    # Bounds in UTC, so a partition is the same calendar month on every server.
    return f"'{month:%Y-%m-%d} 00:00:00+00'"


def _rows(conn: BaseDatabaseWrapper, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall()) if cursor.description else []


def _run(conn: BaseDatabaseWrapper, sql: str, params: Any = None) -> None:
    with conn.cursor() as cursor:
        cursor.execute(sql, params)


def is_partitioned(conn: BaseDatabaseWrapper, table: str) -> bool:
    return bool(
        _rows(conn, "SELECT 1 FROM pg_partitioned_table WHERE partrelid = %s::regclass", [table])
    )


def partitions_of(conn: BaseDatabaseWrapper, table: str) -> list[tuple[str, str, int]]:
    """(name, bounds, estimated rows) of each partition attached to `table`, oldest first."""
    return [
        (name, bounds, max(int(rows), 0))
        for name, bounds, rows in _rows(
            conn,
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), c.reltuples FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass "
            "ORDER BY c.relname",
            [table],
        )
    ]


def _create_partition(conn: BaseDatabaseWrapper, table: str, month: dt.date) -> bool:
    """Creates the month's partition if missing; True when it created one."""
    name = partition_name(table, month)
    if _rows(conn, "SELECT 1 FROM pg_class WHERE relname = %s", [name]):
        return False
    _run(
        conn,
        f'CREATE TABLE "{name}" PARTITION OF "{table}" '
        f"FOR VALUES FROM ({_bound(month)}) TO ({_bound(add_months(month, 1))})",
    )
    _copy_statement_triggers(conn, table, name)
    return True


def _copy_statement_triggers(conn: BaseDatabaseWrapper, table: str, partition: str) -> None:
    """Statement-level triggers (the TRUNCATE refusal) are not cloned onto partitions: copy them,
    so that `TRUNCATE <partition>` is refused as `TRUNCATE <table>` is."""
    triggers = _rows(
        conn,
        "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = %s::regclass "
        "AND NOT tgisinternal AND (tgtype & 1) = 0",  # bit 0 set: FOR EACH ROW
        [table],
    )
    for name, definition in triggers:
        exists = _rows(
            conn,
            "SELECT 1 FROM pg_trigger WHERE tgrelid = %s::regclass AND tgname = %s",
            [partition, name],
        )
        if not exists:
            _run(conn, definition.replace(f" ON public.{table} ", f' ON public."{partition}" '))


def ensure(
    conn: BaseDatabaseWrapper,
    *,
    months_ahead: int = DEFAULT_MONTHS_AHEAD,
    today: dt.date | None = None,
    since: dt.date | None = None,
    tables: list[str] | None = None,
) -> list[str]:
    """Create every partition from this month (or `since`'s) to `months_ahead` months ahead;
    the names created. Idempotent."""
    this_month = month_start(today or utc_today())
    start = min(this_month, month_start(since)) if since else this_month
    last = add_months(this_month, months_ahead)
    created: list[str] = []
    for table in tables or list(PARTITIONED):
        if not is_partitioned(conn, table):
            continue
        month = start
        while month <= last:
            month, current = add_months(month, 1), month
            try:
                with transaction.atomic(using=conn.alias):
                    if _create_partition(conn, table, current):
                        created.append(partition_name(table, current))
            except DatabaseError as exc:
                # The DEFAULT partition already holds rows of that month (a clock far ahead):
                # they stay there, findable; an operator moves them (docs/scale.md).
                raise PartitionError(
                    f"{partition_name(table, current)}: not created ({type(exc).__name__}); "
                    f"the DEFAULT partition holds rows of that month"
                ) from exc
    return created


def convert(
    conn: BaseDatabaseWrapper,
    table: str,
    *,
    months_ahead: int = DEFAULT_MONTHS_AHEAD,
    months_back: int = DEFAULT_MONTHS_BACK,
    today: dt.date | None = None,
) -> None:
    """Convert `table` (a key of PARTITIONED) into a monthly partitioned table; see the module doc.
    Run inside the migration's transaction: readers wait on the lock, nothing half-done is seen."""
    spec = PARTITIONED[table]
    column = spec.column
    if is_partitioned(conn, table):
        return
    _run(conn, f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE')
    indexes = _rows(
        conn,
        "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = %s::regclass AND NOT i.indisprimary "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)",
        [table],
    )
    uniques = _rows(
        conn,
        "SELECT conname, array(SELECT a.attname FROM unnest(conkey) WITH ORDINALITY u(n, o) "
        "JOIN pg_attribute a ON a.attrelid = conrelid AND a.attnum = u.n ORDER BY u.o) "
        "FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'u'",
        [table],
    )
    foreign = _rows(
        conn,
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype = 'f'",
        [table],
    )
    triggers = _rows(
        conn,
        "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = %s::regclass "
        "AND NOT tgisinternal",
        [table],
    )
    this_month = month_start(today or utc_today())
    oldest = _rows(conn, f'SELECT min("{column}") FROM "{table}"')[0][0]  # noqa: S608 - our names
    first = add_months(this_month, -months_back)
    if oldest is not None:
        first = min(first, month_start(oldest.astimezone(dt.UTC).date()))
    last = add_months(this_month, months_ahead)

    new = f"{table}__partitioned"
    _run(
        conn,
        f'CREATE TABLE "{new}" (LIKE "{table}" INCLUDING DEFAULTS INCLUDING CONSTRAINTS '
        f'INCLUDING STORAGE INCLUDING COMMENTS) PARTITION BY RANGE ("{column}")',
    )
    month = first
    while month <= last:
        name = partition_name(table, month)
        _run(
            conn,
            f'CREATE TABLE "{name}" PARTITION OF "{new}" '
            f"FOR VALUES FROM ({_bound(month)}) TO ({_bound(add_months(month, 1))})",
        )
        month = add_months(month, 1)
    _run(conn, f'CREATE TABLE "{table}_default" PARTITION OF "{new}" DEFAULT')
    _run(conn, f'INSERT INTO "{new}" SELECT * FROM "{table}"')  # noqa: S608 - our names
    next_id = _rows(conn, f'SELECT coalesce(max(id), 0) + 1 FROM "{table}"')[0][0]  # noqa: S608
    _run(conn, f'DROP TABLE "{table}"')
    _run(conn, f'ALTER TABLE "{new}" RENAME TO "{table}"')
    _run(
        conn,
        f'ALTER TABLE "{table}" ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY '
        f"(START WITH {int(next_id)})",
    )
    _run(conn, f'ALTER TABLE "{table}" ADD CONSTRAINT "{table}_pkey" PRIMARY KEY (id, "{column}")')
    for name, columns in uniques:
        cols = ", ".join(f'"{c}"' for c in [*columns, *([] if column in columns else [column])])
        _run(conn, f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" UNIQUE ({cols})')
    for _name, definition in indexes:
        _run(conn, definition)
    for name, definition in foreign:
        _run(conn, f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
    for (definition,) in triggers:
        _run(conn, definition)
    for (name,) in _rows(
        conn,
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = %s::regclass",
        [table],
    ):
        _copy_statement_triggers(conn, table, name)
