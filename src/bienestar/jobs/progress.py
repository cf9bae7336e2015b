"""What job code calls to report how far it got, and to learn it was cancelled.

    def body(progress: Progress, *, ...):
        progress.update(0, total=n, message="Leyendo")
        for i, chunk in enumerate(chunks, 1):
            ...
            progress.update(i)          # raises Cancelled when the user cancelled the job

Progress is written through a second, autocommit connection when the job body is inside a
transaction (an export reads in one long snapshot): pollers see it at once, and it never joins the
body's transaction. Writes are throttled to one every THROTTLE seconds.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from bienestar.jobs import files
from bienestar.jobs.models import Job, JobStatus

THROTTLE = 0.5

_UPDATE = (
    "UPDATE jobs_job SET progress_done = %s, progress_total = COALESCE(%s, progress_total), "
    "message = %s, updated_at = now() WHERE id = %s RETURNING status"
)


class Cancelled(Exception):
    """The job was cancelled by its user: stop, leave nothing behind."""


class JobError(Exception):
    """A failure the user should read (Spanish): the job is failed with this message."""


class Progress:
    def __init__(self, job: Job) -> None:
        self.job = job
        self._last = 0.0
        self._done = 0
        self._message = ""
        self._side: BaseDatabaseWrapper | None = None
        # Inside an outer transaction (a test running a job inline, a command) the job row is
        # that transaction's own: report through it.
        self._inline = connection.in_atomic_block

    @property
    def directory(self) -> Path:
        """The job's result folder (created on first use)."""
        path = files.job_dir(self.job.public_id)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def update(
        self,
        done: int,
        *,
        total: int | None = None,
        message: str | None = None,
        force: bool = False,
    ) -> None:
        if settings.JOBS_TEST_PAUSE:
            time.sleep(settings.JOBS_TEST_PAUSE)
        self._done = done
        if message is not None:
            self._message = message[:200]
        now = time.monotonic()
        if not force and total is None and now - self._last < THROTTLE:
            return
        self._last = now
        status = self._write(done, total, self._message)
        if status == JobStatus.CANCELLED:
            raise Cancelled()

    def _write(self, done: int, total: int | None, message: str) -> str | None:
        if self._inline or not connection.in_atomic_block:
            conn: BaseDatabaseWrapper = connection
        else:
            if self._side is None:
                main = connections[DEFAULT_DB_ALIAS]
                # A wrapper of its own, not registered in `connections`: closing it leaves the
                # thread's main connection alone.
                self._side = type(main)(dict(main.settings_dict), alias=DEFAULT_DB_ALIAS)
            conn = self._side
        with conn.cursor() as cursor:
            cursor.execute(_UPDATE, [done, total, message, self.job.pk])
            row = cursor.fetchone()
        return row[0] if row else None

    def succeed(self, *, results: list[str] | None = None, message: str = "") -> None:
        """Mark the job succeeded now, in the caller's transaction (so that the job's last writes,
        e.g. its audit rows, and its success commit together). Optional: the runner marks a job
        that returns normally as succeeded."""
        described = files.describe(self.directory, results) if results else []
        updates: dict[str, Any] = {
            "status": JobStatus.SUCCEEDED,
            "finished_at": timezone.now(),
            "message": message[:200],
            "results": described,
        }
        updates["progress_done"] = Coalesce(F("progress_total"), F("progress_done"))
        taken = Job.objects.filter(pk=self.job.pk, status=JobStatus.RUNNING).update(**updates)
        if not taken:
            raise Cancelled()

    def close(self) -> None:
        if self._side is not None:
            self._side.close()
            self._side = None
