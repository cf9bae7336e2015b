"""NDJSON import as a job (ADR 0007 for the import, ADR 0009 for the queue).

The files are copied into the job's folder ($BIENESTAR_HOME/jobs/<id>/entrada/) when it starts, so
any worker that shares BIENESTAR_HOME can run it; the `fhir.import` task imports them as the user
who started it. The import is resumable by content (ImportJob), so a retried task (its worker was
killed) goes on from its last committed batch and every line lands once."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from django.db import transaction
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.access.permissions import require
from bienestar.access.roles import Permission
from bienestar.core.errors import ValidationFailed
from bienestar.fhir.bulk import importer
from bienestar.jobs import files as job_files
from bienestar.jobs import services as jobs
from bienestar.jobs.models import Job
from bienestar.jobs.progress import JobError, Progress

KIND = "fhir.import"
INPUT = "entrada"
REPORT = "rechazos.txt"
SUFFIXES = (".ndjson", ".ndjson.gz")


def _safe_name(name: str) -> str:
    base = Path(name).name
    if not base or base.startswith(".") or not base.endswith(SUFFIXES):
        raise ValidationFailed(
            _("Solo se importan archivos .ndjson o .ndjson.gz: %(n)s.") % {"n": base or name},
            field="files",
        )
    return base


def start_import(
    *,
    actor: Actor,
    uploads: Iterable[tuple[str, IO[bytes]]] = (),
    paths: Iterable[Path] = (),
    batch_size: int = 500,
    pause: float = 0.0,
) -> Job:
    """Queue the import of uploaded files (name, stream) or of files on this machine, as `actor`
    (CLINICAL_WRITE; each line is then checked as the API would for this user)."""
    require(actor, Permission.CLINICAL_WRITE)
    named: list[tuple[str, IO[bytes] | Path]] = [(_safe_name(n), s) for n, s in uploads]
    for path in paths:
        named.extend((_safe_name(str(p)), p) for p in importer.files_of(path))
    if not named:
        raise ValidationFailed(_("No hay archivos NDJSON que importar."), field="files")
    if len({n for n, _s in named}) != len(named):
        raise ValidationFailed(_("Dos archivos tienen el mismo nombre."), field="files")
    with transaction.atomic():
        job = jobs.start(
            actor=actor,
            kind=KIND,
            title=_("Importación FHIR (%(n)d archivos)") % {"n": len(named)},
            params={"batch_size": max(1, batch_size), "pause": pause},
            permission=Permission.CLINICAL_WRITE,
            personal_data=True,
        )
        folder = job_files.job_dir(job.public_id) / INPUT
        folder.mkdir(parents=True, exist_ok=True)
        for name, source in named:
            if isinstance(source, Path):
                shutil.copyfile(source, folder / name)
            else:
                with (folder / name).open("wb") as out:
                    shutil.copyfileobj(source, out)
    return job


def run(progress: Progress, *, batch_size: int, pause: float) -> None:
    """The body of the `fhir.import` task."""
    job = progress.job
    if job.user is None:
        raise JobError(_("Una importación necesita el usuario que la inició."))
    source = job_files.job_dir(job.public_id) / INPUT
    if not source.is_dir():
        raise JobError(_("Los archivos de esta importación ya no están; vuelva a enviarlos."))
    done = 0

    def staged(total: int) -> None:
        progress.update(0, total=total, message=_("Importando"), force=True)

    def advance(n: int) -> None:
        nonlocal done
        done += n
        progress.update(done)

    try:
        summary = importer.import_path(
            source,
            user=job.user,
            options=importer.Options(
                batch_size=batch_size, sleep_between_batches=pause, on_batch=advance
            ),
            on_staged=staged,
        )
    except importer.Busy:
        raise JobError(_("Otra importación de estos archivos está en curso.")) from None
    created = sum(c.get("created", 0) for c in summary.counts.values())
    refused = summary.refused
    results: list[str] = []
    if refused:
        (progress.directory / REPORT).write_text(
            "\n".join(importer.issues(summary.job)) + "\n", encoding="utf-8"
        )
        results.append(REPORT)
    shutil.rmtree(source, ignore_errors=True)
    progress.succeed(
        results=results,
        message=_("%(c)s creados, %(r)s rechazados") % {"c": f"{created:,}", "r": f"{refused:,}"},
    )
