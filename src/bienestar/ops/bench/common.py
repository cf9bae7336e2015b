"""What every benchmark shares: percentiles, the metric record of CONTRACTS.md, the result file."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

Metric = dict[str, Any]


def percentile(samples: list[float], pct: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), 0.0 for no samples."""
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


def raw_connection(autocommit: bool = True) -> Any:
    """A separate psycopg connection: the raw-SQL baselines pay no ORM, no audit, no scoping."""
    import psycopg

    return psycopg.connect(os.environ["DATABASE_URL"], autocommit=autocommit)


def write_results(
    path: Path, dataset: dict[str, Any], metrics: dict[str, Metric]
) -> dict[str, Any]:
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
    return f"{name:34s} {m['value']:>12} {m['unit']:6s} baseline {m['baseline']:>10}  ratio {m['ratio']}"
