"""Bulk FHIR jobs on the queue (ADR 0009): `$export` and NDJSON import."""

from __future__ import annotations

from bienestar.fhir.bulk import export, imports
from bienestar.jobs.progress import Progress
from bienestar.jobs.runner import job_task


@job_task(name=export.KIND)
def export_task(progress: Progress, *, export_id: int) -> None:
    export.run(progress, export_id)


@job_task(name=imports.KIND)
def import_task(progress: Progress, *, batch_size: int = 500, pause: float = 0.0) -> None:
    imports.run(progress, batch_size=batch_size, pause=pause)
