"""The batch aggregation: facts (CSV extracted from PostgreSQL) → aggregates, on DuckDB or Spark.

Both engines run the same SQL text (`aggregation_sql`), written in the subset DuckDB and Spark SQL
share (UNION ALL, GROUP BY, SUM, COUNT(DISTINCT), CASE), over two tables:

- `facts` (facts.COLUMNS plus the state and municipality paths of each fact's area);
- `periods` (period_type, period, month, is_last): which months make each period, and which month
  is its snapshot (the period's last month, or the latest month extracted for a current period).

Flows are summed over every month of a period; snapshots take the last month only; DISTINCT
indicators count distinct subjects. Nation, state, municipality and unit are grouped separately,
each in total and by each disaggregation, so a national figure is always Σ num ÷ Σ den.

DuckDB reads PostgreSQL through a COPY extract rather than its `postgres` extension, which it
downloads at run time (not available offline); see docs/adr/0015-indicator-engine.md.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bienestar.indicators.definitions import DEFINITIONS, Aggregation

ENGINES = ("duckdb", "spark")
FACT_SCHEMA = (
    ("indicator", "VARCHAR"),
    ("month", "DATE"),
    ("facility_id", "BIGINT"),
    ("area", "VARCHAR"),
    ("sex", "VARCHAR"),
    ("age_group", "VARCHAR"),
    ("category", "VARCHAR"),
    ("subject", "BIGINT"),
    ("num", "BIGINT"),
    ("den", "BIGINT"),
    ("nation", "VARCHAR"),
    ("state", "VARCHAR"),
    ("municipality", "VARCHAR"),
)
PERIOD_SCHEMA = (
    ("period_type", "VARCHAR"),
    ("period", "VARCHAR"),
    ("month", "DATE"),
    ("is_last", "BOOLEAN"),
)
RESULT_COLUMNS = (
    "indicator",
    "period_type",
    "period",
    "level",
    "area",
    "dimension",
    "category",
    "num",
    "den",
    "subjects",
)
LEVELS = (
    ("nation", "f.nation"),
    ("state", "f.state"),
    ("municipality", "f.municipality"),
    ("unit", "CAST(f.facility_id AS STRING)"),
)
DIMENSIONS = (
    ("", "''"),
    ("sex", "f.sex"),
    ("age_group", "f.age_group"),
    ("category", "f.category"),
)


def month_periods(first: dt.date, last: dt.date) -> list[tuple[str, str, dt.date, bool]]:
    """(period_type, period, month, is_last) for every month from `first` to `last` (firsts of
    month): the month itself, its quarter and its year. `is_last` marks the month whose snapshot
    stands for the period: its last month, or `last` when the period is still running."""
    out = []
    month = first
    while month <= last:
        quarter = (month.month - 1) // 3 + 1
        out.append(("M", f"{month:%Y-%m}", month, True))
        out.append(("Q", f"{month.year}Q{quarter}", month, month.month % 3 == 0 or month == last))
        out.append(("Y", f"{month.year}", month, month.month == 12 or month == last))
        month = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return out


def aggregation_sql(indicators: Iterable[str] = DEFINITIONS) -> str:
    """The one statement both engines run (each disaggregation only for the indicators that
    define it: a fact's sex is not a disaggregation of availability)."""
    snapshots = ", ".join(
        f"'{d.code}'" for d in DEFINITIONS.values() if d.aggregation == Aggregation.SNAPSHOT
    )
    selects = []
    wanted = list(indicators)
    for level, area in LEVELS:
        for dimension, category in DIMENSIONS:
            codes = [
                c for c in wanted if not dimension or dimension in DEFINITIONS[c].disaggregations
            ]
            if not codes:
                continue
            selects.append(
                f"""SELECT f.indicator, p.period_type, p.period, '{level}' AS level, {area} AS area,
                    '{dimension}' AS dimension, {category} AS category,
                    SUM(f.num) AS num, SUM(f.den) AS den, COUNT(DISTINCT f.subject) AS subjects
                FROM facts f JOIN periods p ON p.month = f.month
                WHERE (p.is_last OR f.indicator NOT IN ({snapshots})) AND {area} IS NOT NULL
                  AND {category} IS NOT NULL AND f.indicator IN ({{indicators}})
                GROUP BY f.indicator, p.period_type, p.period, {area}, {category}""".replace(
                    "{indicators}", ", ".join(f"'{c}'" for c in codes)
                )
            )
    return "\nUNION ALL\n".join(selects)


def write_periods(path: Path, periods: Iterable[tuple[str, str, dt.date, bool]]) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([c for c, _t in PERIOD_SCHEMA])
        for period_type, period, month, is_last in periods:
            writer.writerow(
                [period_type, period, month.isoformat(), "true" if is_last else "false"]
            )


def run_duckdb(facts: Path, periods: Path) -> list[tuple[Any, ...]]:
    import duckdb

    con = duckdb.connect(":memory:")
    try:
        con.execute("SET threads TO 2")
        for name, path, schema in (
            ("facts", facts, FACT_SCHEMA),
            ("periods", periods, PERIOD_SCHEMA),
        ):
            columns = "{" + ", ".join(f"'{c}': '{t}'" for c, t in schema) + "}"
            con.execute(
                f"CREATE TABLE {name} AS SELECT * FROM read_csv(?, header = true, "
                f"columns = {columns}, nullstr = '')",
                [str(path)],
            )
        return [tuple(row) for row in con.execute(aggregation_sql()).fetchall()]
    finally:
        con.close()


def run_spark(facts: Path, periods: Path) -> list[tuple[Any, ...]]:
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("bienestar-indicators")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.bindAddress", "127.0.0.1")
        # The block manager must advertise the loopback address too: the host name may resolve
        # to an interface nothing listens on (shuffle fetches then fail with "connection refused").
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    spark_types = {"VARCHAR": "STRING", "DATE": "DATE", "BIGINT": "BIGINT", "BOOLEAN": "BOOLEAN"}
    for name, path, schema in (("facts", facts, FACT_SCHEMA), ("periods", periods, PERIOD_SCHEMA)):
        ddl = ", ".join(f"{c} {spark_types[t]}" for c, t in schema)
        frame = spark.read.csv(str(path), header=True, schema=ddl, nullValue="", emptyValue="")
        frame.createOrReplaceTempView(name)
    rows = spark.sql(aggregation_sql()).collect()
    out = []
    for row in rows:
        values = list(row)
        out.append(tuple(values))
    return out


def run(engine: str, facts: Path, periods: Path) -> list[tuple[Any, ...]]:
    if engine == "duckdb":
        return run_duckdb(facts, periods)
    if engine == "spark":
        return run_spark(facts, periods)
    raise ValueError(f"unknown engine {engine!r}")
