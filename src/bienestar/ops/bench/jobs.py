"""The job queue (ADR 0009): how long an idle worker takes to start a job, and how many trivial
jobs one worker runs per second, each against the same-run cost of the database work a queue
cannot avoid (an INSERT/DELETE pair of one row).

A real `bienestar worker` process (queue `bench`, its default concurrency, finished jobs kept
so their events can be read) runs the `jobs.noop` task. Latency is read from Procrastinate's own events
(`deferred` → `started`, both stamped by the database clock)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from procrastinate.contrib.django import app

from bienestar.ops.bench.common import Metric, metric, percentile

QUEUE = "bench"


def _wait_idle(timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                "SELECT count(*) FROM procrastinate_jobs WHERE queue_name = %s "
                "AND status IN ('todo', 'doing')",
                [QUEUE],
            )
            if cursor.fetchone()[0] == 0:
                return
            if time.monotonic() > deadline:
                raise TimeoutError("the bench worker did not drain its queue")
            time.sleep(0.01)


def _clear() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs WHERE queue_name = %s", [QUEUE])


def _start_worker(log: Path) -> subprocess.Popen[bytes]:
    bienestar = Path(sys.executable).with_name("bienestar")
    out = log.open("wb")
    return subprocess.Popen(  # noqa: S603 - our own command
        [
            str(bienestar),
            "worker",
            "--queues",
            QUEUE,
            "--concurrency",
            str(settings.JOBS_CONCURRENCY),
            "--keep-jobs",
        ],
        env=dict(os.environ),
        stdout=out,
        stderr=subprocess.STDOUT,
    )


def _latencies_ms(n: int) -> list[float]:
    """Defer one job at a time to an idle worker; deferred → started from the events."""
    task = app.configure_task(name="jobs.noop", queue=QUEUE)
    ids = []
    for _ in range(n):
        ids.append(task.defer())
        _wait_idle()
        time.sleep(0.02)  # the worker is idle again, waiting on LISTEN
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT extract(epoch FROM max(at) FILTER (WHERE type = 'started') "
            "- max(at) FILTER (WHERE type = 'deferred')) * 1000 "
            "FROM procrastinate_events WHERE job_id = ANY(%s) GROUP BY job_id",
            [ids],
        )
        return [float(r[0]) for r in cursor.fetchall() if r[0] is not None]


def _throughput(n: int) -> float:
    """Jobs/s: n trivial jobs deferred in one transaction, drained by one idle worker."""
    task = app.configure_task(name="jobs.noop", queue=QUEUE)
    with transaction.atomic():
        ids = [task.defer() for _ in range(n)]
    _wait_idle(timeout=600)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT extract(epoch FROM max(at) FILTER (WHERE type = 'succeeded') "
            "- min(at) FILTER (WHERE type = 'started')) FROM procrastinate_events "
            "WHERE job_id = ANY(%s)",
            [ids],
        )
        seconds = float(cursor.fetchone()[0])
    return n / seconds if seconds > 0 else 0.0


def _baseline(n: int) -> tuple[list[float], float]:
    """An INSERT/DELETE pair of one row, each statement committed (autocommit): the least a
    queue on PostgreSQL does per job. Per-pair latencies (ms) and pairs per second."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS bench_queue_baseline "
            "(id bigserial PRIMARY KEY, payload jsonb)"
        )
        samples = []
        start = time.perf_counter()
        for _ in range(n):
            t0 = time.perf_counter()
            cursor.execute("INSERT INTO bench_queue_baseline (payload) VALUES ('{}') RETURNING id")
            row_id = cursor.fetchone()[0]
            cursor.execute("DELETE FROM bench_queue_baseline WHERE id = %s", [row_id])
            samples.append((time.perf_counter() - t0) * 1000)
        elapsed = time.perf_counter() - start
        cursor.execute("DROP TABLE bench_queue_baseline")
    return samples, n / elapsed


def job_queue(samples: int = 200, jobs: int = 2000) -> tuple[dict[str, Metric], str]:
    connection.close()
    log = Path(os.environ.get("BIENESTAR_HOME", ".")) / "bench-worker.log"
    _clear()
    worker = _start_worker(log)
    try:
        # Wait for the worker: one job done means it is up and listening.
        app.configure_task(name="jobs.noop", queue=QUEUE).defer()
        _wait_idle(timeout=180)
        latencies = _latencies_ms(samples)
        rate = _throughput(jobs)
    except TimeoutError as exc:
        return {}, f"{exc}: {log.read_text(errors='replace')[-500:]}"
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        _clear()
    base_samples, base_rate = _baseline(max(samples, jobs))
    notes = (
        f"one idle `bienestar worker` (concurrency {settings.JOBS_CONCURRENCY}, LISTEN/NOTIFY), "
        "the jobs.noop task deferred "
        f"{samples} times one at a time; deferred → started from procrastinate_events (database "
        "clock); baseline: p95 of one INSERT/DELETE pair of a row in raw SQL (autocommit)"
    )
    rate_notes = (
        f"{jobs} jobs.noop deferred in one transaction, drained by one worker (concurrency "
        f"{settings.JOBS_CONCURRENCY}): "
        "first started → last succeeded from procrastinate_events; baseline: INSERT/DELETE pairs "
        "per second in raw SQL, one connection, autocommit"
    )
    return {
        "job_queue_latency_p95_ms": metric(
            percentile(latencies, 95), "ms", percentile(base_samples, 95), notes
        ),
        "jobs_per_s": metric(rate, "req/s", base_rate, rate_notes),
    }, ""
