"""A background job as its user sees it: what, whose, how far, how it ended, what it produced.

The queue itself (which worker runs what, retries, schedules) is Procrastinate's tables; this row
is the part that belongs to the domain: who started the job and what they may see of it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from bienestar.core.models import BaseModel


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("En cola")
    RUNNING = "running", _("En curso")
    SUCCEEDED = "succeeded", _("Terminado")
    FAILED = "failed", _("Falló")
    CANCELLED = "cancelled", _("Cancelado")


FINISHED = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


class Job(BaseModel):
    # The Procrastinate task name, e.g. "fhir.export": what the job does.
    kind = models.CharField(max_length=80)
    # What the user sees in their list, e.g. "Exportación FHIR (Patient, Encounter)".
    title = models.CharField(max_length=200)
    # Who started it (None: the scheduler). The job acts with this user's role and territory.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    territory = models.ForeignKey(
        "territories.Territory", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The job reads or writes people's records: starting and downloading it are audited.
    personal_data = models.BooleanField(default=False)
    # The task's keyword arguments (identifiers and options, never personal data).
    params = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress_done = models.BigIntegerField(default=0)
    progress_total = models.BigIntegerField(null=True, blank=True)
    message = models.CharField(max_length=200, blank=True)
    # Why it failed, in the user's words (Spanish): never a traceback, never personal data.
    error = models.TextField(blank=True)
    # [{"name", "size"}]: files under $BIENESTAR_HOME/jobs/<public_id>/ the user may download.
    results = models.JSONField(default=list)
    attempts = models.PositiveSmallIntegerField(default=0)
    # procrastinate_jobs.id of the queued task (None for a job run inline by a command).
    queue_job_id = models.BigIntegerField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["user", "-created_at"], name="job_user_recent"),
            models.Index(fields=["kind", "status"], name="job_kind_status"),
        ]

    @property
    def percent(self) -> float | None:
        if not self.progress_total:
            return 100.0 if self.status == JobStatus.SUCCEEDED else None
        return min(100.0, 100.0 * self.progress_done / self.progress_total)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED
