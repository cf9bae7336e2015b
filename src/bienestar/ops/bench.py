"""Benchmarks written as CONTRACTS.md's JSON. Each figure has a baseline measured in the same run.

Runs in its own database (`<name>_bench`) so that the demo's data is never touched; a network
already generated with the same seed and size is reused.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.db import connection

Metric = dict[str, Any]


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return 0.0
    k = (len(ordered) - 1) * pct / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def timed_ms(fn: Callable[[], Any], n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def metric(value: float, unit: str, baseline: float, notes: str) -> Metric:
    return {
        "value": round(value, 4),
        "unit": unit,
        "baseline": round(baseline, 4),
        "ratio": round(value / baseline, 3) if baseline else None,
        "notes": notes,
    }


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - git from PATH, fixed arguments
            capture_output=True,
            text=True,
            timeout=10,
        )
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def machine() -> dict[str, Any]:
    mem_gb = 0.0
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem_gb = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return {"cpus": os.cpu_count() or 0, "memory_gb": round(mem_gb)}


def _raw_connection() -> Any:
    """A separate psycopg connection: the raw-SQL baseline pays no ORM, no audit, no scoping."""
    import psycopg

    return psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)


def person_lookups(samples: int, rng: random.Random) -> dict[str, Metric]:
    from bienestar.access.actor import Actor
    from bienestar.access.models import User
    from bienestar.access.roles import Role
    from bienestar.people.selectors import person_by_national_id, person_search
    from bienestar.territories.models import Territory

    user, _ = User.objects.get_or_create(
        username="bench-national", defaults={"role": Role.NATIONAL_COORDINATOR}
    )
    user.role, user.territory = Role.NATIONAL_COORDINATOR, Territory.objects.get(path="MX")
    user.save()
    actor = Actor(
        user=User.objects.select_related("territory").get(pk=user.pk),
        client_address="127.0.0.1",
        channel="bench",
    )

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT national_health_id, given_names, first_surname FROM people_person TABLESAMPLE SYSTEM (5) LIMIT %s",
            [samples],
        )
        rows = cursor.fetchall()
    if not rows:
        return {}
    ids = [r[0] for r in rows]
    names = [f"{r[1].split()[0]} {r[2]}".lower() for r in rows]

    def typo(text: str) -> str:
        i = rng.randrange(1, len(text) - 1)
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]

    queries = [typo(n) if len(n) > 4 else n for n in names]
    raw = _raw_connection()
    try:
        it_id = iter(ids * 2)
        base_id = timed_ms(
            lambda: raw.execute(
                "SELECT * FROM people_person WHERE national_health_id = %s", [next(it_id)]
            ).fetchall(),
            len(ids),
        )
        it_id = iter(ids * 2)
        app_id = timed_ms(lambda: person_by_national_id(actor, value=next(it_id)), len(ids))
        it_q = iter(queries * 2)
        base_name = timed_ms(
            lambda: raw.execute(
                "SELECT * FROM people_person WHERE bienestar_unaccent(%s) <%% name_search "
                "ORDER BY word_similarity(bienestar_unaccent(%s), name_search) DESC LIMIT 20",
                [q := next(it_q), q],
            ).fetchall(),
            len(queries),
        )
        it_q = iter(queries * 2)
        app_name = timed_ms(lambda: person_search(actor, text=next(it_q), limit=20), len(queries))
    finally:
        raw.close()
    note_id = f"{len(ids)} lookups by national health ID through the scoped, audited selector; baseline: the same SELECT in raw SQL through psycopg"
    note_name = f"{len(queries)} fuzzy name searches (one adjacent-letter swap each) through person_search; baseline: the same trigram query in raw SQL"
    return {
        "person_lookup_id_p50_ms": metric(
            percentile(app_id, 50), "ms", percentile(base_id, 50), note_id
        ),
        "person_lookup_id_p95_ms": metric(
            percentile(app_id, 95), "ms", percentile(base_id, 95), note_id
        ),
        "person_search_name_p95_ms": metric(
            percentile(app_name, 95), "ms", percentile(base_name, 95), note_name
        ),
    }


def copy_baseline_rows_per_s(limit: int) -> float:
    """Raw PostgreSQL COPY of person rows into a temporary table: the floor any generator pays."""
    raw = _raw_connection()
    try:
        raw.execute("CREATE TEMP TABLE bench_people (LIKE people_person INCLUDING DEFAULTS)")
        buffer = bytearray()
        cols = "id, public_id, created_at, updated_at, national_health_id, given_names, first_surname, second_surname, sex, birth_date"
        query = f"COPY (SELECT {cols} FROM people_person LIMIT {int(limit)}) TO STDOUT"  # noqa: S608 - constants only
        with raw.cursor().copy(query) as copy:
            for chunk in copy:
                buffer += chunk
        start = time.perf_counter()
        with raw.cursor().copy(f"COPY bench_people ({cols}) FROM STDIN") as copy:
            copy.write(bytes(buffer))
        elapsed = time.perf_counter() - start
        count = raw.execute("SELECT count(*) FROM bench_people").fetchone()[0]  # type: ignore[index]
    finally:
        raw.close()
    return count / elapsed if elapsed else 0.0


def write_results(
    path: Path, dataset: dict[str, Any], metrics: dict[str, Metric]
) -> dict[str, Any]:
    import json

    result = {
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "machine": machine(),
        "dataset": dataset,
        "metrics": metrics,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return result


def summary_line(name: str, m: Metric) -> str:
    return f"{name:32s} {m['value']:>12} {m['unit']:6s} baseline {m['baseline']:>10}  ratio {m['ratio']}"


__all__ = [
    "copy_baseline_rows_per_s",
    "person_lookups",
    "statistics",
    "summary_line",
    "write_results",
]
