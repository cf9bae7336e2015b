"""Refresh the materialised aggregates: a full rebuild, or an incremental run from the events
recorded since the last run. A plain function with a progress callback (the CLI and the job queue
call it; never a web request).

Incremental = full, by construction: an incremental run finds the earliest month any new or
changed record can affect (`affected_since`: a backdated dispense changes the month its
prescription was written; a stock movement, a measurement, a diagnosis or a death change every
snapshot from its month on), re-extracts the facts from the first day of that month's year (so every
quarter and year containing it is whole) and replaces every period that contains a month from
there on. A property test (tests/test_incremental.py) checks incremental = full on random event
sequences.

What counts as "since the last run": rows whose id is above the previous run's watermark (event
tables are append-mostly and their ids come from sequences), and rows of mutable tables whose
`updated_at` is after the previous run started. A transaction still open when a run reads its
watermark and committing later with a lower id would be missed until the next full rebuild (run
nightly); see docs/adr/0015-indicator-engine.md.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from bienestar.indicators import engine as engines
from bienestar.indicators.definitions import DEFINITIONS, Aggregation
from bienestar.indicators.facts import COLUMNS, STATEMENTS
from bienestar.indicators.models import Aggregate, RefreshRun
from bienestar.indicators.population import estimates

Progress = Callable[[int, int, str], None]
HISTORY_MONTHS = 36
# Tables read by id (append-mostly) and the date that places a new row in time.
ID_EVENTS = {
    "clinical_encounter": "SELECT MIN((start AT TIME ZONE %(tz)s)::date) FROM clinical_encounter WHERE id > %(id)s",
    "clinical_condition": "SELECT MIN((recorded_at AT TIME ZONE %(tz)s)::date) FROM clinical_condition WHERE id > %(id)s",
    "clinical_observation": "SELECT MIN((effective_at AT TIME ZONE %(tz)s)::date) FROM clinical_observation WHERE id > %(id)s",
    "clinical_immunization": "SELECT MIN(occurrence_date) FROM clinical_immunization WHERE id > %(id)s",
    "prescribing_prescriptionline": """SELECT MIN((p.authored_at AT TIME ZONE %(tz)s)::date)
        FROM prescribing_prescriptionline l JOIN prescribing_prescription p ON p.id = l.prescription_id
        WHERE l.id > %(id)s""",
    "prescribing_dispenseline": """SELECT MIN((p.authored_at AT TIME ZONE %(tz)s)::date)
        FROM prescribing_dispenseline dl
        JOIN prescribing_prescriptionline l ON l.id = dl.prescription_line_id
        JOIN prescribing_prescription p ON p.id = l.prescription_id WHERE dl.id > %(id)s""",
    "inventory_stockmovement": "SELECT MIN((at AT TIME ZONE %(tz)s)::date) FROM inventory_stockmovement WHERE id > %(id)s",
}
# Mutable rows (status changes, deaths, affiliation changes) read by update time.
CHANGED = {
    "prescribing_prescription": "SELECT MIN((authored_at AT TIME ZONE %(tz)s)::date) FROM prescribing_prescription WHERE updated_at > %(at)s",
    "clinical_encounter": "SELECT MIN((start AT TIME ZONE %(tz)s)::date) FROM clinical_encounter WHERE updated_at > %(at)s",
    "clinical_condition": "SELECT MIN((recorded_at AT TIME ZONE %(tz)s)::date) FROM clinical_condition WHERE updated_at > %(at)s",
    "clinical_observation": "SELECT MIN((effective_at AT TIME ZONE %(tz)s)::date) FROM clinical_observation WHERE updated_at > %(at)s",
    "clinical_immunization": "SELECT MIN(occurrence_date) FROM clinical_immunization WHERE updated_at > %(at)s",
    "people_person": "SELECT MIN(COALESCE(deceased_date, DATE '1900-01-01')) FROM people_person WHERE updated_at > %(at)s",
    "people_personaffiliation": "SELECT MIN(COALESCE(LEAST(start, \"end\"), DATE '1900-01-01')) FROM people_personaffiliation WHERE updated_at > %(at)s",
}
FIRST_EVENT = """
    SELECT LEAST(
        (SELECT MIN((start AT TIME ZONE %(tz)s)::date) FROM clinical_encounter),
        (SELECT MIN((authored_at AT TIME ZONE %(tz)s)::date) FROM prescribing_prescription),
        (SELECT MIN((at AT TIME ZONE %(tz)s)::date) FROM inventory_stockmovement),
        (SELECT MIN(occurrence_date) FROM clinical_immunization)
    )
"""


def _month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _scalar(sql: str, params: dict[str, Any]) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
        return row[0] if row else None


def horizon(today: dt.date) -> dt.date:
    """The first month kept: the first event's month, at most HISTORY_MONTHS back."""
    first = _scalar(FIRST_EVENT, {"tz": settings.TIME_ZONE})
    floor = _add_months(_month(today), -HISTORY_MONTHS)
    return max(_month(first), floor) if first else _month(today)


def watermark() -> dict[str, int]:
    out = {}
    for table in ID_EVENTS:
        out[table] = int(_scalar(f"SELECT COALESCE(MAX(id), 0) FROM {table}", {}) or 0)
    return out


def affected_since(previous: RefreshRun, today: dt.date) -> dt.date:
    """The first month whose figures may have changed since `previous` (the current month at least:
    its snapshots move with the calendar)."""
    tz = settings.TIME_ZONE
    days = [_month(today)]
    if previous.today != today:
        days.append(_month(previous.today))  # yesterday's current month closes
    for table, sql in ID_EVENTS.items():
        day = _scalar(sql, {"tz": tz, "id": previous.watermark.get(table, 0)})
        if day is not None:
            days.append(day)
    for _table, sql in CHANGED.items():
        day = _scalar(sql, {"tz": tz, "at": previous.started_at})
        if day is not None:
            days.append(day)
    return _month(min(days))


def extract(path: Path, *, since: dt.date, today: dt.date) -> int:
    """COPY every indicator's facts from `since` to `today` into one CSV file; returns its rows."""
    params = {"since": since, "today": today, "tz": settings.TIME_ZONE}
    written = 0
    with path.open("wb") as fh:
        fh.write((",".join([*COLUMNS, "nation", "state", "municipality"]) + "\n").encode())
        for sql in STATEMENTS.values():
            wrapped = f"""
                COPY (
                    SELECT s.indicator, s.month, s.facility_id, s.area, NULLIF(s.sex, ''),
                           NULLIF(s.age_group, ''), NULLIF(s.category, ''), s.subject, s.num, s.den,
                           substring(s.area from '^[^.]+'),
                           substring(s.area from '^[^.]+\\.[^.]+'),
                           substring(s.area from '^[^.]+\\.[^.]+\\.[^.]+')
                    FROM ({sql}) AS s({", ".join(COLUMNS)})
                ) TO STDOUT (FORMAT csv)
            """
            with connection.cursor() as cursor:
                raw = cursor.cursor  # psycopg: COPY with client-side parameters
                with raw.copy(wrapped, params) as copy:
                    for data in copy:
                        fh.write(bytes(data))
                        written += bytes(data).count(b"\n")
    return written


def _denominators(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Attach the reference denominator (estimated uninsured population) to the coverage rows of
    the nation, states and municipalities, in total; elsewhere it stays missing (NULL)."""
    years = sorted({int(r[2][:4]) for r in rows if r[0] == "uninsured_coverage"})
    if not years:
        return rows
    den = estimates(years)
    out = []
    for r in rows:
        if r[0] == "uninsured_coverage":
            value = None
            if r[5] == "" and r[3] in ("nation", "state", "municipality"):
                value = den.get(r[4], int(r[2][:4]))
            r = (*r[:8], value, *r[9:])
        out.append(r)
    return out


def _replaced(period_type: str, period: str, since: dt.date) -> bool:
    if period_type == "M":
        return period >= f"{since:%Y-%m}"
    if period_type == "Q":
        year, quarter = int(period[:4]), int(period[5])
        return (year, quarter * 3) >= (since.year, since.month)
    return int(period) >= since.year


def refresh(
    *,
    full: bool = False,
    engine: str = "duckdb",
    today: dt.date | None = None,
    progress: Progress | None = None,
) -> RefreshRun:
    """Rebuild the aggregates (full) or bring them up to date from the events since the last run
    (incremental; a first run is always full). Idempotent: running it twice gives the same rows.
    The rows of the periods it recomputes are replaced in one transaction."""
    if engine not in engines.ENGINES:
        raise ValueError(f"unknown engine {engine!r}")
    report = progress or (lambda step, total, label: None)
    today = today or timezone.localdate()
    started = timezone.now()
    clock = time.perf_counter()
    previous = RefreshRun.objects.filter(finished_at__isnull=False).order_by("-id").first()
    first = horizon(today)
    kind = RefreshRun.Kind.FULL
    since = first
    if not full and previous is not None:
        kind = RefreshRun.Kind.INCREMENTAL
        since = max(first, affected_since(previous, today))
    report(1, 4, "extracción")
    mark = watermark()
    extract_from = max(first, dt.date(since.year, 1, 1))
    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bienestar-indicators-") as tmp:
        facts_path, periods_path = Path(tmp) / "facts.csv", Path(tmp) / "periods.csv"
        facts = extract(facts_path, since=extract_from, today=today)
        engines.write_periods(periods_path, engines.month_periods(extract_from, _month(today)))
        seconds["extract"] = round(time.perf_counter() - clock, 3)
        report(2, 4, f"agregación ({engine})")
        rows = engines.run(engine, facts_path, periods_path)
        seconds["aggregate"] = round(time.perf_counter() - clock - seconds["extract"], 3)
    rows = [r for r in rows if kind == RefreshRun.Kind.FULL or _replaced(r[1], r[2], since)]
    rows = _finalise(_denominators(rows))
    report(3, 4, "escritura")
    with transaction.atomic():
        run = RefreshRun.objects.create(
            kind=kind,
            engine=engine,
            started_at=started,
            today=today,
            since=since,
            watermark=mark,
        )
        stale = Aggregate.objects.all()
        if kind == RefreshRun.Kind.INCREMENTAL:
            stale = Aggregate.objects.filter(_period_filter(since))
        stale.delete()
        _write(rows, run)
        run.rows = len(rows)
        run.finished_at = timezone.now()
        seconds["total"] = round(time.perf_counter() - clock, 3)
        seconds["facts"] = facts
        run.seconds = seconds
        run.save(update_fields=["rows", "finished_at", "seconds"])
    report(4, 4, "listo")
    return run


def _period_filter(since: dt.date) -> Any:
    from django.db.models import Q

    quarters = [f"{since.year}Q{q}" for q in range(1, 5) if q * 3 >= since.month]
    return (
        Q(period_type="M", period__gte=f"{since:%Y-%m}")
        | Q(period_type="Q", period__gte=f"{since.year + 1}")
        | Q(period_type="Q", period__in=quarters)
        | Q(period_type="Y", period__gte=f"{since.year}")
    )


def _finalise(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """(indicator, version, period_type, period, level, area, dimension, category, num, den):
    DISTINCT indicators count subjects; count indicators have no denominator."""
    out = []
    for (
        indicator,
        period_type,
        period,
        level,
        area,
        dimension,
        category,
        num,
        den,
        subjects,
    ) in rows:
        definition = DEFINITIONS[indicator]
        if definition.aggregation == Aggregation.DISTINCT:
            num = subjects
        out.append(
            (
                indicator,
                definition.version,
                period_type,
                period,
                level,
                str(area),
                dimension or "",
                category or "",
                None if num is None else int(num),
                None if den is None else int(den),
            )
        )
    return out


def _write(rows: list[tuple[Any, ...]], run: RefreshRun) -> None:
    columns = (
        "indicator",
        "version",
        "period_type",
        "period",
        "level",
        "area",
        "dimension",
        "category",
        "numerator",
        "denominator",
        "run_id",
    )
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY indicators_aggregate ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row((*row, run.id))
