"""Declaring job code, and running it with its Job row kept up to date.

Job code lives in its own app's `tasks.py` (Procrastinate's Django integration imports every
app's `tasks` module), so this app never imports the apps whose jobs it runs:

    # myapp/tasks.py
    from bienestar.jobs.runner import job_task

    @job_task(name="myapp.rebuild")
    def rebuild(progress, *, territory_id: int) -> None:
        ...                                  # progress.update(n, total=N) as it goes

    # myapp/services.py: started for a user, checked and audited by jobs.services.start
    jobs.services.start(actor=actor, kind="myapp.rebuild", title=_("…"), params={...})

A task body must be idempotent: a job whose worker died is run again from the start (ADR 0009).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from procrastinate.contrib.django import app

from bienestar.jobs import files
from bienestar.jobs.models import Job, JobStatus
from bienestar.jobs.progress import Cancelled, JobError, Progress

logger = logging.getLogger(__name__)

Body = Callable[..., None]
# kind → body, for running a job inline (a command, a test) without the queue.
BODIES: dict[str, Body] = {}
DEFAULT_QUEUE = "default"


def job_task(*, name: str, queue: str = DEFAULT_QUEUE) -> Callable[[Body], Any]:
    """Register `body(progress, **params)` as the Procrastinate task `name`. The queued task
    receives the Job's id and the params; the body receives a Progress and the params."""

    def decorator(body: Body) -> Any:
        BODIES[name] = body

        @functools.wraps(body)
        def task(job_id: int, **params: Any) -> None:
            execute(job_id, body, params)

        # No retry on exceptions: a failure is reported to the user as it is. A job whose worker
        # died is put back by `jobs.retry_stalled`, and its attempts are counted here.
        return app.task(name=name, queue=queue)(task)

    return decorator


def _claim(job_id: int) -> Job | None:
    """Mark the job running (one UPDATE: a finished or cancelled job is never run again) and
    count the attempt. None when there is nothing to run."""
    now = timezone.now()
    taken = Job.objects.filter(
        Q(status=JobStatus.QUEUED) | Q(status=JobStatus.RUNNING), pk=job_id
    ).update(status=JobStatus.RUNNING, attempts=F("attempts") + 1, started_at=now, updated_at=now)
    if not taken:
        return None
    return Job.objects.select_related("user", "user__territory").get(pk=job_id)


def _finish(job: Job, status: str, *, error: str = "") -> None:
    Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
        status=status, error=error, finished_at=timezone.now(), updated_at=timezone.now()
    )


def execute(job_id: int, body: Body, params: dict[str, Any]) -> None:
    """Run one job to its end and record how it ended. Never raises: the outcome is the row."""
    job = _claim(job_id)
    if job is None:
        return
    if job.attempts > settings.JOBS_MAX_ATTEMPTS:
        _finish(
            job,
            JobStatus.FAILED,
            error=_("El trabajo se interrumpió %(n)d veces; vuelva a iniciarlo.")
            % {"n": job.attempts - 1},
        )
        return
    progress = Progress(job)
    try:
        body(progress, **params)
    except Cancelled:
        files.remove(job.public_id)
    except JobError as exc:
        files.remove(job.public_id)
        _finish(job, JobStatus.FAILED, error=str(exc))
    except Exception as exc:
        # The log names the job and the error type only: never a record's content.
        logger.exception("job %s (%s) failed", job.public_id, job.kind)
        files.remove(job.public_id)
        _finish(
            job,
            JobStatus.FAILED,
            error=_("Error interno (%(e)s). Avise a soporte con el número del trabajo.")
            % {"e": type(exc).__name__},
        )
    else:
        Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
            status=JobStatus.SUCCEEDED,
            finished_at=timezone.now(),
            updated_at=timezone.now(),
            progress_done=Coalesce(F("progress_total"), F("progress_done")),
        )
    finally:
        progress.close()


def run_inline(job: Job) -> Job:
    """Run a queued job here and now (a command with its own progress bar, a test), through the
    same claim and bookkeeping as a worker. A worker that later fetches its queued task finds the
    job finished and does nothing."""
    execute(job.pk, BODIES[job.kind], dict(job.params))
    job.refresh_from_db()
    return job


# --- scheduled (periodic) jobs -------------------------------------------------------------------


def scheduled_task(*, name: str, cron: str, title: str) -> Callable[[Body], Any]:
    """A job the scheduler starts on `cron` (server time zone). Procrastinate defers each tick
    once, whatever the number of workers (a unique row per task and tick). Each run gets a Job
    row with no user (seen by operators, not in anyone's list); the body gets Progress and the
    tick's `timestamp` (seconds since the epoch)."""

    def decorator(body: Body) -> Any:
        BODIES[name] = body

        @functools.wraps(body)
        def task(timestamp: int) -> None:
            with transaction.atomic():
                job = Job.objects.create(kind=name, title=title, params={"timestamp": timestamp})
            execute(job.pk, body, {"timestamp": timestamp})

        registered = app.task(name=name, queue=DEFAULT_QUEUE, queueing_lock=name)(task)
        return app.periodic(cron=cron)(registered)

    return decorator


def nightly(*, name: str, title: str) -> Callable[[Body], Any]:
    """A scheduled job that runs every night (JOBS_NIGHTLY_CRON): partition creation, indicator
    refresh, the retention sweep."""
    return scheduled_task(name=name, cron=settings.JOBS_NIGHTLY_CRON, title=title)
