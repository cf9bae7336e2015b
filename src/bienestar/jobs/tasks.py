"""The job queue's own tasks: putting back the jobs of dead workers, the nightly retention sweep,
and an optional probe of the scheduler (tests)."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.utils import timezone
from procrastinate.contrib.django import app

from bienestar.jobs import files
from bienestar.jobs.models import Job
from bienestar.jobs.progress import Progress
from bienestar.jobs.runner import DEFAULT_QUEUE, nightly, scheduled_task

logger = logging.getLogger(__name__)


@app.periodic(cron=f"* * * * * */{settings.JOBS_REAPER_SECONDS}")
@app.task(name="jobs.retry_stalled", queue=DEFAULT_QUEUE, queueing_lock="jobs.retry_stalled")
async def retry_stalled(timestamp: int) -> None:
    """A job still 'doing' whose worker stopped sending heartbeats (killed, machine lost) goes
    back to the queue; the next worker runs it again (the runner counts the attempt)."""
    stalled = await app.job_manager.get_stalled_jobs(
        seconds_since_heartbeat=settings.JOBS_STALLED_SECONDS
    )
    for job in stalled:
        logger.warning("retrying job %s (%s) of a dead worker", job.id, job.task_name)
        await app.job_manager.retry_job(job)


@app.task(name="jobs.noop", queue="bench")
async def noop() -> None:
    """Does nothing: what `bienestar bench` queues to measure the queue itself."""


@nightly(name="jobs.sweep_results", title="Limpieza de resultados antiguos")
def sweep_results(progress: Progress, *, timestamp: int) -> None:
    """Result files (exports included) are removed JOBS_RETENTION_DAYS after the job finished;
    the Job row stays, without its files."""
    limit = timezone.now() - dt.timedelta(days=settings.JOBS_RETENTION_DAYS)
    old = Job.objects.filter(finished_at__lt=limit).exclude(results=[])
    total = old.count()
    progress.update(0, total=total, message="Limpiando", force=True)
    for done, job in enumerate(old.iterator(), start=1):
        files.remove(job.public_id)
        Job.objects.filter(pk=job.pk).update(results=[])
        progress.update(done)


if settings.JOBS_PROBE_CRON:

    @scheduled_task(name="jobs.probe", cron=settings.JOBS_PROBE_CRON, title="Sonda del programador")
    def probe(progress: Progress, *, timestamp: int) -> None:
        """Does nothing but exist once per tick (tests: two workers never run a tick twice)."""
        progress.update(1, total=1, force=True)
