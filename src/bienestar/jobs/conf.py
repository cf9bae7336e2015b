"""Settings of the job queue (ADR 0009), read from the environment. Imported by the base settings.

Every figure has a production default; the reliability tests shorten them through the environment
(a worker SIGKILLed in a test is seen as dead in seconds, not in half a minute).
"""

from __future__ import annotations

import os


def _float(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    return float(value) if value else default


# Procrastinate's Django integration: tasks are declared in each app's `tasks.py` (autodiscovered)
# and deferred through Django's own connection, so a job and the row that describes it commit in
# one transaction.
PROCRASTINATE_AUTODISCOVER_MODULE_NAME = "tasks"
PROCRASTINATE_IMPORT_PATHS = [
    p for p in os.environ.get("BIENESTAR_JOBS_EXTRA_TASKS", "").split(",") if p.strip()
]

# A worker writes its heartbeat every JOBS_HEARTBEAT_SECONDS; one silent for JOBS_STALLED_SECONDS
# is dead, and the jobs it was running are put back in the queue by the `jobs.retry_stalled`
# periodic task, which runs every JOBS_REAPER_SECONDS on any live worker.
JOBS_HEARTBEAT_SECONDS = _float("BIENESTAR_JOBS_HEARTBEAT_SECONDS", 10.0)
JOBS_STALLED_SECONDS = _float("BIENESTAR_JOBS_STALLED_SECONDS", 30.0)
JOBS_REAPER_SECONDS = int(_float("BIENESTAR_JOBS_REAPER_SECONDS", 30))
# Jobs run in threads of the worker; this many at once per worker process.
JOBS_CONCURRENCY = int(_float("BIENESTAR_WORKER_CONCURRENCY", 4))
# A job interrupted (its worker killed) this many times is failed rather than retried for ever.
JOBS_MAX_ATTEMPTS = int(_float("BIENESTAR_JOBS_MAX_ATTEMPTS", 3))
# Finished jobs' result files (exports included) are removed this many days after they finished.
JOBS_RETENTION_DAYS = int(_float("BIENESTAR_JOBS_RETENTION_DAYS", 30))
# When the nightly jobs run (cron, server time zone): retention sweep, and the other apps'
# nightly work (partition creation, indicator refresh) registered with `jobs.runner.nightly`.
JOBS_NIGHTLY_CRON = os.environ.get("BIENESTAR_JOBS_NIGHTLY_CRON", "30 2 * * *")
# A probe task that records each tick (tests of the scheduler run it every few seconds); off by
# default.
JOBS_PROBE_CRON = os.environ.get("BIENESTAR_JOBS_PROBE_CRON", "")
# Tests only: every progress report sleeps this long, so that a test can kill a worker in the
# middle of a job that would otherwise finish in a blink. 0 (off) everywhere else.
JOBS_TEST_PAUSE = _float("BIENESTAR_JOBS_TEST_PAUSE", 0.0)
