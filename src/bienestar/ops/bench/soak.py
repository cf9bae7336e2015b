"""The soak of `bienestar bench --soak SECONDS`: the FHIR CRUD mix (bench/fhir_crud_mix.lua, through
bench/fhir_soak.lua, which also counts 5xx answers) from wrk, 32 connections, for SECONDS against
`bienestar serve` (gunicorn 4 workers x 8 threads, as the CRUD mix).

- `soak_5xx_count`: answers with a 5xx status. Must be 0; its baseline is that bound (0).
- `soak_rss_growth_mb`: total resident memory of the server's processes (master and workers) at the
  end, minus the same after the warm-up (the first minute, or a quarter of a shorter soak); the
  baseline is the RSS after the warm-up. Bound: at most 64 MB per worker. Sampled every 5 s.

The records the mix created are removed afterwards (cleanup.py); its updates of existing Patients
(a new address line) stay, as with the CRUD mix.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from django.db import connection

from bienestar.ops.bench import cleanup
from bienestar.ops.bench import server as server_mod
from bienestar.ops.bench.common import Metric, metric
from bienestar.ops.bench.crud import _children_cpu, _prepare_lua_data, _server_cpu, ensure_wrk

WORKERS, THREADS, CLIENTS = 4, 8, 32
BOUND_MB_PER_WORKER = 64
SAMPLE_EVERY = 5.0
WARMUP_MAX = 60.0
LUA = Path(__file__).resolve().parents[4] / "bench" / "fhir_soak.lua"


def rss_mb(srv: server_mod.Server) -> tuple[float, set[int]]:
    """Total RSS of the master and its workers (MB), and the workers' pids."""
    import psutil

    total, workers = 0, set()
    for pid in [srv.process.pid, *srv.worker_pids()]:
        try:
            total += psutil.Process(pid).memory_info().rss
        except psutil.NoSuchProcess:
            continue
        if pid != srv.process.pid:
            workers.add(pid)
    return total / 2**20, workers


def warmup_seconds(seconds: float) -> float:
    return min(WARMUP_MAX, seconds / 4)


def _run(wrk: str, srv: server_mod.Server, data: Path, seconds: float) -> dict[str, Any]:
    argv = [
        wrk,
        "-t2",
        f"-c{CLIENTS}",
        f"-d{max(1, int(seconds))}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(LUA),
        srv.url,
        "--",
        str(data),
    ]
    warmup = warmup_seconds(seconds)
    cpu_before, server_before = _children_cpu(), _server_cpu(srv)
    start_rss, start_workers = rss_mb(srv)
    samples: list[tuple[float, float]] = []
    start = time.monotonic()
    process = subprocess.Popen(  # noqa: S603 - wrk with arguments built here
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        while True:
            try:
                process.wait(timeout=SAMPLE_EVERY)
                break
            except subprocess.TimeoutExpired:
                samples.append((time.monotonic() - start, rss_mb(srv)[0]))
                if time.monotonic() - start > seconds + 180:
                    raise
        stdout, stderr = process.communicate()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    wall = time.monotonic() - start
    end_rss, end_workers = rss_mb(srv)
    found = re.search(r"BENCH_JSON (\{.*\})", stdout)
    errors = re.search(r"SOAK_JSON (\{.*\})", stdout)
    if process.returncode != 0 or found is None or errors is None:
        raise RuntimeError(f"wrk failed ({process.returncode}): {stderr.strip()[:300]}")
    result: dict[str, Any] = json.loads(found.group(1))
    result.update(json.loads(errors.group(1)))
    warm = next((rss for t, rss in samples if t >= warmup), start_rss)
    result.update(
        wall=wall,
        warmup=warmup,
        generator_cpu=_children_cpu() - cpu_before,
        server_cpu=_server_cpu(srv) - server_before,
        start_rss=start_rss,
        warm_rss=warm,
        end_rss=end_rss,
        peak_rss=max([end_rss, *(rss for _t, rss in samples)]),
        workers=len(end_workers),
        replaced_workers=len(start_workers - end_workers),
    )
    return result


def soak(seconds: float, token: str, seed: int) -> tuple[dict[str, Metric], str]:
    wrk, why = ensure_wrk()
    if wrk is None:
        return {}, why
    connection.close()
    before = cleanup.marks()
    srv = server_mod.start(os.environ["DATABASE_URL"], workers=WORKERS, threads=THREADS)
    data = Path()
    try:
        data, why = _prepare_lua_data(srv, token, seed)
        if why:
            return {}, why
        run = _run(wrk, srv, data, seconds)
    except (LookupError, OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
        return {}, f"the soak did not run: {exc}"
    finally:
        srv.stop()
        if data.name:
            shutil.rmtree(data.parent, ignore_errors=True)
    removed = cleanup.remove_since(before)
    wall = run["duration_us"] / 1e6 or run["wall"]
    growth = run["end_rss"] - run["warm_rss"]
    bound = BOUND_MB_PER_WORKER * WORKERS
    cores = os.cpu_count() or 1
    other = run["status_errors"] - run["server_errors"]
    common = (
        f"soak: wrk -t2 -c{CLIENTS} for {wall:.0f} s with bench/fhir_soak.lua (the FHIR CRUD mix "
        f"of bench/fhir_crud_mix.lua, counting 5xx answers) against bienestar serve (gunicorn "
        f"{WORKERS} workers x {THREADS} threads) on this {cores}-core machine; {run['requests']} "
        f"answers ({run['requests'] / wall:.1f} req/s), {run['server_errors']} 5xx, {other} other "
        f"non-2xx/3xx, {run['timeouts']} timeouts, {run['connect_errors'] + run['read_errors']} "
        f"connection errors; p99 {run['p99_us'] / 1000:.0f} ms; load generator CPU "
        f"{run['generator_cpu'] / run['wall']:.2f} cores, server processes "
        f"{run['server_cpu'] / run['wall']:.2f} cores; records it created removed afterwards "
        f"({sum(removed.values())} rows)"
    )
    rss_notes = (
        f"{common}; RSS of the server's processes (master + {run['workers']} workers, sampled "
        f"every {SAMPLE_EVERY:g} s): {run['start_rss']:.0f} MB before the load, "
        f"{run['warm_rss']:.0f} MB after the {run['warmup']:.0f} s warm-up (the baseline), "
        f"{run['end_rss']:.0f} MB at the end, peak {run['peak_rss']:.0f} MB; {run['replaced_workers']}"
        f" workers replaced during the run; bound: growth ≤ {BOUND_MB_PER_WORKER} MB per worker "
        f"({bound} MB for {WORKERS}): {'met' if growth <= bound else 'NOT MET'}"
    )
    errors_notes = (
        f"{common}; must be 0 (the baseline is that bound): "
        f"{'met' if run['server_errors'] == 0 else 'NOT MET'}"
    )
    return {
        "soak_5xx_count": metric(float(run["server_errors"]), "count", 0.0, errors_notes),
        "soak_rss_growth_mb": metric(growth, "MB", run["warm_rss"], rss_notes),
    }, ""
