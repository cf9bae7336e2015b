"""The state of bulk export and import jobs, kept in the database so that a restarted worker or a
re-run command picks up where the last one stopped (ADR 0007, ADR 0009)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class ExportStatus(models.TextChoices):
    ACCEPTED = "accepted"
    RUNNING = "in-progress"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ExportLevel(models.TextChoices):
    SYSTEM = "system"
    PATIENT = "patient"
    GROUP = "group"


class ExportJob(models.Model):
    """One `$export` request: what the FHIR protocol needs (the request, the manifest). How the
    job runs and how far it got is its `job` (bienestar.jobs); its files are that job's results."""

    id = models.BigAutoField(primary_key=True)
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Who asked: the job reads with this user's role, territory and token scopes.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    scopes = models.CharField(max_length=300, blank=True)
    client_address = models.CharField(max_length=64, blank=True)
    level = models.CharField(max_length=10, choices=ExportLevel.choices)
    group_id = models.CharField(max_length=80, blank=True)
    types = models.JSONField(default=list)
    since = models.DateTimeField(null=True, blank=True)
    request_url = models.TextField()
    base_url = models.TextField()
    status = models.CharField(
        max_length=12, choices=ExportStatus.choices, default=ExportStatus.ACCEPTED
    )
    transaction_time = models.DateTimeField(null=True, blank=True)
    # [{"type", "file", "count"}] once completed; [{"type", "file", "count"}] of OperationOutcomes.
    output = models.JSONField(default=list)
    errors = models.JSONField(default=list)
    error_message = models.TextField(blank=True)
    job = models.OneToOneField(
        "jobs.Job", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)


class ImportStatus(models.TextChoices):
    STAGING = "staging"
    RUNNING = "in-progress"
    COMPLETED = "completed"


class ImportJob(models.Model):
    """One `bienestar fhir import` of a set of NDJSON files, identified by their content (`key`):
    running the command again on the same files resumes this job."""

    id = models.BigAutoField(primary_key=True)
    key = models.CharField(max_length=64, unique=True)
    source = models.TextField()
    username = models.CharField(max_length=150)
    status = models.CharField(
        max_length=12, choices=ImportStatus.choices, default=ImportStatus.STAGING
    )
    # [{"name", "sha256", "lines", "staged"}], in the order the files are read.
    files = models.JSONField(default=list)
    # stage → [file_no, line_no] of the last line whose batch committed.
    progress = models.JSONField(default=dict)
    # resource type → {"created", "existing", "refused"}.
    counts = models.JSONField(default=dict)
    batches = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)


class ImportLine(models.Model):
    """A staged NDJSON line, as read (filled by COPY). `stage` is the resource type, or
    `Patient-merged` for a patient merged into another (it waits for its survivor); empty when the
    line is not a JSON object with a resourceType."""

    id = models.BigAutoField(primary_key=True)
    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="lines")
    file_no = models.PositiveIntegerField()
    line_no = models.PositiveIntegerField()
    stage = models.CharField(max_length=40, blank=True)
    resource_id = models.CharField(max_length=64, blank=True)
    raw = models.TextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["job", "file_no", "line_no"], name="import_line_position"
            )
        ]
        indexes = [
            models.Index(fields=["job", "stage", "file_no", "line_no"], name="import_line_stage")
        ]


class ImportIssue(models.Model):
    """A line refused, with its place and why (shown as file:line)."""

    id = models.BigAutoField(primary_key=True)
    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="issues")
    file_no = models.PositiveIntegerField()
    line_no = models.PositiveIntegerField()
    resource_type = models.CharField(max_length=40, blank=True)
    resource_id = models.CharField(max_length=64, blank=True)
    message = models.TextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["job", "file_no", "line_no"], name="import_issue_position"
            )
        ]
