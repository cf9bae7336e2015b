"""Starting and cancelling jobs. Every door (page, JSON API, FHIR `$export`, command) starts a job
through `start`, which checks the permission, writes the Job row, audits it when the job touches
personal data, and queues the task, all in one transaction: a job is queued if and only if its
row (and audit) committed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from procrastinate.contrib.django import app

from bienestar.access.actor import Actor
from bienestar.access.audit import audit_record
from bienestar.access.errors import NotAuthenticated
from bienestar.access.models import AuditAction
from bienestar.access.permissions import require
from bienestar.access.roles import Permission
from bienestar.core.errors import NotFound
from bienestar.jobs import files
from bienestar.jobs.models import Job, JobStatus
from bienestar.jobs.runner import DEFAULT_QUEUE


def start(
    *,
    actor: Actor,
    kind: str,
    title: str,
    params: dict[str, Any],
    permission: Permission | None = None,
    personal_data: bool = False,
    audit_action: str | None = None,
    queue: bool = True,
) -> Job:
    """Start the job `kind` (a task registered with `job_task`) for `actor`.

    `params` are the task's keyword arguments (identifiers and options, never personal data).
    `audit_action`: when the job touches personal data, the audit action of starting it (one row,
    resource_type "Job"); the job's own reads and writes are audited by the job code as usual.
    `queue=False` records the job without queueing it, for a command that runs it inline with
    `runner.run_inline`.
    """
    if not actor.is_authenticated or actor.user is None:
        raise NotAuthenticated()
    if permission is not None:
        require(actor, permission)
    with transaction.atomic():
        job = Job.objects.create(
            kind=kind,
            title=title[:200],
            user=actor.user,
            territory=actor.user.territory,
            personal_data=personal_data,
            params=params,
        )
        if audit_action:
            audit_record(
                actor,
                action=audit_action,
                resource_type="Job",
                resource_id=str(job.public_id),
                query={"job": kind, "params": params},
            )
        if queue:
            # Procrastinate's Django connector inserts through this same connection: the task
            # row commits (or not) with the Job row.
            job.queue_job_id = app.configure_task(name=kind, queue=DEFAULT_QUEUE).defer(
                job_id=job.pk, **params
            )
            job.save(update_fields=["queue_job_id"])
    return job


def open_result(*, actor: Actor, job: Job, name: str) -> Path:
    """The path of one of the caller's job's result files, for download. Downloading the result of
    a job on personal data is audited (action `export`: the records leave the system)."""
    if actor.user is None or job.user_id != actor.user.pk:
        raise NotFound(_("No existe ese archivo."))
    path = (
        files.result_file(job.public_id, job.results, name)
        if job.status == JobStatus.SUCCEEDED
        else None
    )
    if path is None:
        raise NotFound(_("No existe ese archivo."))
    if job.personal_data:
        audit_record(
            actor,
            action=AuditAction.EXPORT,
            resource_type="JobResult",
            resource_id=str(job.public_id),
            query={"job": job.kind, "file": name},
        )
    return path


def cancel(*, actor: Actor, job: Job) -> Job:
    """Cancel the caller's own job. A queued job never starts; a running one stops at its next
    progress report. A finished job's result files are removed (it stays in the list, cancelled)."""
    if actor.user is None or job.user_id != actor.user.pk:
        raise NotFound(_("No existe ese trabajo."))
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        if locked.status == JobStatus.CANCELLED:
            return locked
        locked.status = JobStatus.CANCELLED
        locked.finished_at = locked.finished_at or timezone.now()
        locked.results = []
        locked.save(update_fields=["status", "finished_at", "results", "updated_at"])
        public_id = locked.public_id
        transaction.on_commit(lambda: files.remove(public_id))
    return locked
