"""Which jobs a caller may see: their own, and nobody else's.

Decision (ADR 0009): a job's progress, errors and result files belong to the user who started it.
No role sees other users' jobs here, not even a national one: a result file can hold the records
of everyone in a territory, and who started what is already in the audit log (the auditors' door).
Scheduled jobs (no user) are for operators, through `bienestar procrastinate` and the database.
"""

from __future__ import annotations

import uuid

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.core.errors import NotFound
from bienestar.jobs.models import Job


def my_jobs(actor: Actor) -> QuerySet[Job]:
    if not actor.is_authenticated or actor.user is None:
        return Job.objects.none()
    return Job.objects.filter(user=actor.user).order_by("-created_at", "-id")


def my_job(actor: Actor, public_id: str | uuid.UUID) -> Job:
    """The caller's job, or NotFound (another user's job is as missing as a job that never was)."""
    try:
        key = uuid.UUID(str(public_id))
    except ValueError:
        key = None
    job = my_jobs(actor).filter(public_id=key).first() if key else None
    if job is None:
        raise NotFound(_("No existe ese trabajo."))
    return job
