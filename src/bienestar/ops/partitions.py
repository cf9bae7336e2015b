"""Retention of the partitioned tables: months past the retention period are detached, written to
a file, read back, counted and recorded (`PartitionArchive`) — never dropped silently (ADR 0013)."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction

from bienestar.core.partitioning import (
    PARTITIONED,
    add_months,
    month_start,
    partitions_of,
    utc_today,
)
from bienestar.ops.models import PartitionArchive

# NOM-004-SSA3-2012 (5.4): the clinical record is kept at least five years after the last act.
LEGAL_MINIMUM_YEARS = 5
_MONTH = re.compile(r"_p(\d{4})(\d{2})$")


class RetentionError(Exception):
    pass


@dataclass(frozen=True)
class Expired:
    table: str
    partition: str
    month: dt.date


def retention_years() -> int:
    years = int(settings.BIENESTAR_RETENTION_YEARS)
    if years < LEGAL_MINIMUM_YEARS:
        raise RetentionError(
            f"BIENESTAR_RETENTION_YEARS={years}: NOM-004 requires at least "
            f"{LEGAL_MINIMUM_YEARS} years for the clinical record"
        )
    return years


def expired(today: dt.date | None = None) -> list[Expired]:
    """Attached monthly partitions whose whole month ended before the retention period."""
    years = retention_years()
    cutoff = add_months(month_start(today or utc_today()), -12 * years)
    out = []
    for table in PARTITIONED:
        for name, _bounds, _rows in partitions_of(connection, table):
            match = _MONTH.search(name)
            if match is None:  # the DEFAULT partition is never archived
                continue
            month = dt.date(int(match.group(1)), int(match.group(2)), 1)
            if add_months(month, 1) <= cutoff:
                out.append(Expired(table, name, month))
    return out


def archive_dir() -> Path:
    path = Path(settings.BIENESTAR_ARCHIVE_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def archive(item: Expired, *, drop: bool = False) -> PartitionArchive:
    """Detach the month, write it to `<archive dir>/<partition>.csv.gz`, read the file back and
    check its row count, record it; all or nothing (a failure re-attaches the month). With `drop`,
    the detached table is dropped once recorded; otherwise it stays in the database."""
    target = archive_dir() / f"{item.partition}.csv.gz"
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f'ALTER TABLE "{item.table}" DETACH PARTITION "{item.partition}"')
                cursor.execute(f'SELECT count(*) FROM "{item.partition}"')  # noqa: S608 - our names
                rows = int(cursor.fetchone()[0])
                with (
                    gzip.open(target, "wb") as handle,
                    cursor.cursor.copy(
                        f'COPY "{item.partition}" TO STDOUT (FORMAT csv, HEADER)'
                    ) as copy,
                ):
                    for data in copy:
                        handle.write(bytes(data))
            with gzip.open(target, "rt", encoding="utf-8", newline="") as handle:
                written = sum(1 for _ in csv.reader(handle)) - 1  # a note may span lines
            if written != rows:
                raise RetentionError(f"{target}: {written} rows written, {rows} in the table")
            record = PartitionArchive.objects.create(
                table=item.table,
                partition=item.partition,
                range_start=item.month,
                range_end=add_months(item.month, 1),
                rows=rows,
                file=str(target),
                sha256=hashlib.sha256(target.read_bytes()).hexdigest(),
            )
            if drop:
                with connection.cursor() as cursor:
                    cursor.execute(f'DROP TABLE "{item.partition}"')
                record.dropped = True
                record.save(update_fields=["dropped"])
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return record
