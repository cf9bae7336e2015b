"""`$export` (HL7 FHIR Bulk Data Access IG 2.0) as a job on the queue: the kick-off request only
records what to export and answers 202; a worker runs the `fhir.export` task (fhir/bulk/tasks.py)
and writes the NDJSON files; polling the status URL reads the job. ADR 0007 (the export itself)
and ADR 0009 (the queue that runs it).

Guarantees:
- the files are one consistent snapshot (one REPEATABLE READ, READ ONLY transaction) and
  `transactionTime` is that snapshot's instant: nothing committed after it is in the files, and
  everything committed before it that matches is;
- the job reads as the user who asked, with their role, territory and token scopes, through the
  same scoped querysets (registry) and mappers as the FHIR searches;
- when the job completes, one audit row records the export (counts per type) and one row per
  person whose records left the system (action `export`), in the transaction that marks it done
  (the ExportJob and its Job alike);
- a job whose worker died is run again by another worker from a fresh snapshot (the queue's
  stalled-job retry); one that completed is never run again, so its files and audit rows exist
  once;
- a cancelled job (DELETE on its status URL) stops at its next chunk and its files are removed.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.access.audit import audit_many
from bienestar.access.errors import Forbidden, NotAuthenticated
from bienestar.access.models import AuditAction
from bienestar.fhir import registry
from bienestar.fhir.auth import READ, scope_allows
from bienestar.fhir.bulk import groups
from bienestar.fhir.bulk.models import ExportJob, ExportLevel, ExportStatus
from bienestar.fhir.errors import FhirError, Issue, operation_outcome
from bienestar.fhir.interactions import EVERYTHING_TYPES
from bienestar.fhir.mappers.common import instant, number
from bienestar.fhir.registry import ResourceDef
from bienestar.jobs import files as job_files
from bienestar.jobs import runner
from bienestar.jobs import services as jobs
from bienestar.jobs.models import Job, JobStatus
from bienestar.jobs.progress import Cancelled, Progress
from bienestar.people.models import Person

logger = logging.getLogger(__name__)

KIND = "fhir.export"
PATIENT_TYPES = ("Patient", *EVERYTHING_TYPES)
CHUNK = 1000
MAX_PER_FILE = 250_000
AUDIT_CHUNK = 5000
OUTPUT_FORMATS = ("application/fhir+ndjson", "application/ndjson", "ndjson")


def job_dir(job: ExportJob) -> Path:
    """The export's files: its Job's result folder ($BIENESTAR_HOME/jobs/<job public id>/)."""
    return job_files.job_dir(job.job.public_id if job.job is not None else job.public_id)


def job_actor(job: ExportJob) -> Actor:
    return Actor(
        user=job.user,
        client_address=job.client_address or None,
        channel="fhir",
        scopes=frozenset(job.scopes.split()),
    )


# --- kick-off ----------------------------------------------------------------------------------------


@dataclass
class ExportRequest:
    level: str
    request_url: str
    base_url: str
    group_id: str = ""
    types: list[str] = field(default_factory=list)
    explicit_types: bool = False
    since: dt.datetime | None = None


def _bad(message: str, name: str) -> FhirError:
    return FhirError(400, message, code="invalid", expression=[name])


def parse_since(value: str) -> dt.datetime:
    try:
        moment = parse_datetime(value.strip().replace(" ", "+"))
    except ValueError:
        moment = None
    if moment is None or timezone.is_naive(moment):
        raise _bad(
            _("_since debe ser un instante FHIR con zona horaria, p. ej. 2025-01-01T00:00:00Z."),
            "_since",
        )
    return moment


def parse_request(
    *,
    level: str,
    params: Sequence[tuple[str, str]],
    request_url: str,
    base_url: str,
    group_id: str = "",
) -> ExportRequest:
    """The kick-off parameters. Refused (400): an output format other than NDJSON, a bad
    `_since`, an unknown type, and parameters this server does not honour (`_typeFilter`,
    `_elements`, `patient`, `includeAssociatedData`): ignoring them would export more than asked."""
    allowed = (
        PATIENT_TYPES
        if level != ExportLevel.SYSTEM
        else tuple(d.type for d in registry.all_types())
    )
    out = ExportRequest(level=level, request_url=request_url, base_url=base_url, group_id=group_id)
    types: list[str] = []
    for name, value in params:
        if name == "_outputFormat":
            if value not in OUTPUT_FORMATS:
                raise _bad(
                    _("Formato de salida no admitido: %(v)s. Use application/fhir+ndjson.")
                    % {"v": value},
                    name,
                )
        elif name == "_since":
            out.since = parse_since(value)
        elif name == "_type":
            for item in value.split(","):
                kind = item.strip()
                if not kind:
                    continue
                if kind not in allowed:
                    raise _bad(
                        _("Tipo no exportable aquí: %(t)s. Tipos: %(all)s.")
                        % {"t": kind, "all": ", ".join(allowed)},
                        name,
                    )
                if kind not in types:
                    types.append(kind)
        elif name in ("_typeFilter", "_elements", "patient", "includeAssociatedData"):
            raise FhirError(
                400,
                _("Parámetro no admitido en $export: %(p)s.") % {"p": name},
                code="not-supported",
                expression=[name],
            )
    out.explicit_types = bool(types)
    out.types = types or list(allowed)
    return out


def can_export(actor: Actor, definition: ResourceDef) -> bool:
    return scope_allows(actor, definition.type, READ) and actor.can(definition.read_permission)


def kickoff(actor: Actor, request: ExportRequest, *, queue: bool = True) -> ExportJob:
    """Record the job and queue it (it starts when the row commits). 403 when the caller may read
    none of the types (or not one it named); 404 for an unknown group. `queue=False`: recorded
    only, for a command that runs it here with `run_job`."""
    if not actor.is_authenticated or actor.user is None:
        raise NotAuthenticated()
    for kind in request.types:
        definition = registry.get(kind)
        if request.explicit_types and not can_export(actor, definition):
            raise Forbidden(_("No tiene permiso para exportar recursos %(t)s.") % {"t": kind})
    if not any(can_export(actor, registry.get(k)) for k in request.types):
        raise Forbidden(_("No tiene permiso para exportar ninguno de los tipos pedidos."))
    if request.level == ExportLevel.GROUP:
        groups.members(actor, request.group_id)
    with transaction.atomic():
        export_job = ExportJob.objects.create(
            user=actor.user,
            scopes=" ".join(sorted(actor.scopes)),
            client_address=actor.client_address or "",
            level=request.level,
            group_id=request.group_id,
            types=request.types,
            since=request.since,
            request_url=request.request_url,
            base_url=request.base_url,
        )
        title = _("Exportación FHIR (%(types)s)") % {"types": ", ".join(request.types)}
        if request.group_id:
            title = f"{title} · Group/{request.group_id}"
        export_job.job = jobs.start(
            actor=actor,
            kind=KIND,
            title=title,
            params={"export_id": export_job.pk},
            personal_data=True,
            queue=queue,
        )
        export_job.save(update_fields=["job"])
    return export_job


def run_job(job_id: int) -> None:
    """Run the export `job_id` here and now (the `bienestar fhir export` command, the bench, the
    tests), through the same runner as a worker."""
    export_job = ExportJob.objects.select_related("job").get(pk=job_id)
    assert export_job.job is not None
    runner.run_inline(export_job.job)


# --- running (the body of the `fhir.export` task) -------------------------------------------------


@contextmanager
def snapshot() -> Iterator[dt.datetime]:
    """One REPEATABLE READ, READ ONLY transaction; yields its instant (transactionTime)."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        with connection.cursor() as cursor:
            if outermost:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT now()")
            moment = cursor.fetchone()[0]
        yield moment


@dataclass
class _Run:
    job: ExportJob
    actor: Actor
    directory: Path
    progress: Progress
    persons: QuerySet[Person] | None
    output: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    person_ids: set[int] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)
    position: int = 0

    def tick(self, message: str) -> None:
        """Report progress (types done of all) and stop if the job was cancelled."""
        self.progress.update(self.position, total=len(self.job.types), message=message)


def run(progress: Progress, export_id: int) -> None:
    """Export from a fresh snapshot into a fresh folder. A completed export is not run again (a
    retried task finds it done); a cancelled one raises Cancelled."""
    job = ExportJob.objects.select_related("user", "user__territory", "job").get(pk=export_id)
    if job.status == ExportStatus.COMPLETED:
        return
    if job.status == ExportStatus.CANCELLED:
        raise Cancelled()
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportStatus.RUNNING, started_at=timezone.now()
    )
    directory = job_files.fresh_dir(job.job.public_id if job.job else job.public_id)
    actor = job_actor(job)
    persons = groups.members(actor, job.group_id) if job.level == ExportLevel.GROUP else None
    current = _Run(job=job, actor=actor, directory=directory, progress=progress, persons=persons)
    with snapshot() as moment:
        for position, kind in enumerate(job.types):
            current.position = position
            _export_type(current, registry.get(kind), f"{position + 1}/{len(job.types)}")
    current.position = len(job.types)
    _complete(current, moment)


def _scoped(run: _Run, definition: ResourceDef) -> QuerySet[Any]:
    qs = definition.visible(run.actor)
    if run.persons is not None:
        qs = qs.filter(**{f"{definition.person_attr}__in": run.persons.values("pk")})
    if run.job.since is not None:
        param = definition.params.get("_lastUpdated")
        if param is not None and param.date_fields is not None:
            qs = qs.filter(**{f"{param.date_fields[0]}__gt": run.job.since})
    return qs


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return number(value)
    raise TypeError(f"not serialisable: {type(value).__name__}")


class _Files:
    """NDJSON files of one type, `<Type>-<n>.ndjson`, MAX_PER_FILE lines each."""

    def __init__(self, run: _Run, kind: str) -> None:
        self.run, self.kind = run, kind
        self.number = 0
        self.count = 0
        self.handle: IO[str] | None = None

    def write(self, resource: dict[str, Any]) -> None:
        if self.handle is None or self.count >= MAX_PER_FILE:
            self._next()
        assert self.handle is not None
        self.handle.write(json.dumps(resource, ensure_ascii=False, default=_json_default))
        self.handle.write("\n")
        self.count += 1

    def _next(self) -> None:
        self.close()
        self.number += 1
        self.count = 0
        name = f"{self.kind}-{self.number}.ndjson"
        self.handle = (self.run.directory / name).open("w", encoding="utf-8")
        self.run.output.append({"type": self.kind, "file": name, "count": 0})

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.run.output[-1]["count"] = self.count
            self.handle = None


def _export_type(run: _Run, definition: ResourceDef, position: str) -> None:
    if not can_export(run.actor, definition):
        run.errors.append(
            {
                "type": definition.type,
                "issue": Issue(
                    code="forbidden",
                    severity="warning",
                    diagnostics=_("Sin permiso para exportar %(type)s: omitido.")
                    % {"type": definition.type},
                ),
            }
        )
        return
    qs = _scoped(run, definition)
    files = _Files(run, definition.type)
    total = 0
    last: Any = None
    run.tick(f"{definition.type} 0 ({position})")
    try:
        while True:
            page = qs if last is None else qs.filter(pk__gt=last)
            rows = list(definition.load(page.order_by("pk"))[:CHUNK])
            if not rows:
                break
            last = rows[-1].pk
            for row, resource in zip(rows, definition.to_fhir(rows, run.actor), strict=True):
                files.write(resource)
                person_id = definition.person_id(row)
                if person_id is not None:
                    run.person_ids.add(person_id)
            total += len(rows)
            run.tick(f"{definition.type} {total} ({position})")
    finally:
        files.close()
    run.counts[definition.type] = total


def _complete(run: _Run, moment: dt.datetime) -> None:
    """Audit and mark done together (the ExportJob and its Job): a completed job is always an
    audited one, and an audited one is never run again."""
    if run.errors:
        name = "OperationOutcome-1.ndjson"
        with (run.directory / name).open("w", encoding="utf-8") as handle:
            for item in run.errors:
                handle.write(json.dumps(operation_outcome([item["issue"]]), ensure_ascii=False))
                handle.write("\n")
        errors = [{"type": "OperationOutcome", "file": name, "count": len(run.errors)}]
    else:
        errors = []
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().get(pk=run.job.pk)
        if job.status != ExportStatus.RUNNING:
            raise Cancelled()
        _audit(run, job)
        job.status = ExportStatus.COMPLETED
        job.transaction_time = moment
        job.output = run.output
        job.errors = errors
        job.finished_at = timezone.now()
        job.save()
        total = sum(o["count"] for o in run.output)
        run.progress.succeed(
            results=[o["file"] for o in run.output] + [e["file"] for e in errors],
            message=_("%(n)s recursos exportados") % {"n": f"{total:,}"},
        )


def _audit(run: _Run, job: ExportJob) -> None:
    query = {
        "fhir": "$export",
        "job": str(job.public_id),
        "level": job.level,
        "group": job.group_id or None,
        "types": job.types,
        "since": job.since.isoformat() if job.since else None,
        "counts": run.counts,
    }
    audit_many(
        run.actor,
        [
            {
                "action": AuditAction.EXPORT,
                "resource_type": "BulkExport",
                "resource_id": str(job.public_id),
                "query": query,
            }
        ],
    )
    ids = sorted(run.person_ids)
    per_person = {"fhir": "$export", "job": str(job.public_id)}
    for start_at in range(0, len(ids), AUDIT_CHUNK):
        chunk = ids[start_at : start_at + AUDIT_CHUNK]
        public = dict(Person.objects.filter(pk__in=chunk).values_list("pk", "public_id"))
        audit_many(
            run.actor,
            [
                {
                    "action": AuditAction.EXPORT,
                    "resource_type": "Person",
                    "resource_id": str(public.get(pk, "")),
                    "person_id": pk,
                    "query": per_person,
                }
                for pk in chunk
            ],
        )


# --- status, manifest, cancellation -------------------------------------------------------------------


def file_url(job: ExportJob, name: str) -> str:
    return f"{job.base_url}/$export-files/{job.public_id}/{name}"


def status_url(job: ExportJob) -> str:
    return f"{job.base_url}/$export-status/{job.public_id}"


def manifest(job: ExportJob) -> dict[str, Any]:
    assert job.transaction_time is not None
    return {
        "transactionTime": instant(job.transaction_time),
        "request": job.request_url,
        "requiresAccessToken": True,
        "output": [
            {"type": o["type"], "url": file_url(job, o["file"]), "count": o["count"]}
            for o in job.output
        ],
        "error": [
            {"type": e["type"], "url": file_url(job, e["file"]), "count": e["count"]}
            for e in job.errors
        ],
    }


def cancel(job: ExportJob) -> None:
    """Cancel a job (or delete a finished one's files). A running job stops at its next chunk."""
    with transaction.atomic():
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportStatus.CANCELLED, finished_at=timezone.now(), output=[], errors=[]
        )
        if job.job is not None:
            jobs.cancel(actor=job_actor(job), job=job.job)
    directory = job_dir(job)
    transaction.on_commit(lambda: shutil.rmtree(directory, ignore_errors=True))


def state(job: ExportJob) -> str:
    """What the status URL answers: completed, failed, cancelled, or running (queued or in
    progress), from the export and the queue's view of it."""
    if job.status in (ExportStatus.COMPLETED, ExportStatus.CANCELLED):
        return str(job.status)
    if job.job is None or job.job.status == JobStatus.FAILED:
        return ExportStatus.FAILED
    if job.job.status == JobStatus.CANCELLED:
        return ExportStatus.CANCELLED
    return ExportStatus.RUNNING


def progress_text(job: ExportJob) -> str:
    queued: Job | None = job.job
    if queued is None or queued.status == JobStatus.QUEUED or not queued.message:
        return _("en cola")
    return queued.message


def export_file(job: ExportJob, name: str) -> Path | None:
    """The path of one of the job's files, if `name` is one (never a path outside its folder)."""
    names = {o["file"] for o in job.output} | {e["file"] for e in job.errors}
    if name not in names:
        return None
    path = job_dir(job) / name
    return path if path.is_file() else None
