"""`$export` (HL7 FHIR Bulk Data Access IG 2.0) as a job: the kick-off request only records what to
export and answers 202; a thread started when that row commits writes the NDJSON files; polling
the status URL reads the job row. See ADR 0007 for why a thread, and how a job survives a restart.

Guarantees:
- the files are one consistent snapshot (one REPEATABLE READ, READ ONLY transaction) and
  `transactionTime` is that snapshot's instant: nothing committed after it is in the files, and
  everything committed before it that matches is;
- the job reads as the user who asked, with their role, territory and token scopes, through the
  same scoped querysets (registry) and mappers as the FHIR searches;
- when the job completes, one audit row records the export (counts per type) and one row per
  person whose records left the system (action `export`), in the transaction that marks it done;
- a job whose process died (no heartbeat for STALE_AFTER) is claimed again by the next status poll
  or by `bienestar fhir export-worker`, and starts over from a fresh snapshot (MAX_ATTEMPTS in all);
- a cancelled job (DELETE on its status URL) stops at its next chunk and its files are removed.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.access.audit import audit_many
from bienestar.access.errors import Forbidden, NotAuthenticated
from bienestar.access.models import AuditAction
from bienestar.config.home import bienestar_home
from bienestar.fhir import registry
from bienestar.fhir.auth import READ, scope_allows
from bienestar.fhir.bulk import groups
from bienestar.fhir.bulk.models import ExportJob, ExportLevel, ExportStatus
from bienestar.fhir.errors import FhirError, Issue, operation_outcome
from bienestar.fhir.interactions import EVERYTHING_TYPES
from bienestar.fhir.mappers.common import instant, number
from bienestar.fhir.registry import ResourceDef
from bienestar.people.models import Person

logger = logging.getLogger(__name__)

PATIENT_TYPES = ("Patient", *EVERYTHING_TYPES)
CHUNK = 1000
MAX_PER_FILE = 250_000
STALE_AFTER = dt.timedelta(seconds=120)
# An accepted job whose thread never started (the process died between commit and start).
UNSTARTED_AFTER = dt.timedelta(seconds=30)
MAX_ATTEMPTS = 3
AUDIT_CHUNK = 5000
OUTPUT_FORMATS = ("application/fhir+ndjson", "application/ndjson", "ndjson")


class Cancelled(Exception):
    pass


def exports_dir() -> Path:
    path = bienestar_home() / "exports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def job_dir(job: ExportJob) -> Path:
    return exports_dir() / str(job.public_id)


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


def kickoff(actor: Actor, request: ExportRequest) -> ExportJob:
    """Record the job and start it once the row commits. 403 when the caller may read none of
    the types (or not one it named); 404 for an unknown group."""
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
    job = ExportJob.objects.create(
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
    transaction.on_commit(lambda: start(job.pk))
    return job


def start(job_id: int, *, claimed: bool = False) -> threading.Thread:
    """Run the job in a daemon thread of this process (it must not keep a stopping server up: a
    job cut short is resumed, ADR 0007)."""
    thread = threading.Thread(
        target=_thread_main, args=(job_id, claimed), name=f"fhir-export-{job_id}", daemon=True
    )
    thread.start()
    return thread


def _thread_main(job_id: int, claimed: bool) -> None:
    try:
        if claimed:
            _run_claimed(job_id)
        else:
            run_job(job_id)
    finally:
        connection.close()


# --- claiming and running ----------------------------------------------------------------------------


def claimable() -> Q:
    now = timezone.now()
    return Q(attempts__lt=MAX_ATTEMPTS) & (
        Q(status=ExportStatus.ACCEPTED, created_at__lt=now - UNSTARTED_AFTER)
        | Q(status=ExportStatus.RUNNING, heartbeat_at__lt=now - STALE_AFTER)
    )


def claim(job_id: int, *, only_orphaned: bool = False) -> bool:
    """Take the job for this process: one UPDATE, so two processes never both run it."""
    now = timezone.now()
    condition = (
        claimable()
        if only_orphaned
        else (Q(status=ExportStatus.ACCEPTED, attempts__lt=MAX_ATTEMPTS) | claimable())
    )
    taken = ExportJob.objects.filter(condition, pk=job_id).update(
        status=ExportStatus.RUNNING,
        attempts=F("attempts") + 1,
        started_at=now,
        heartbeat_at=now,
        progress="",
    )
    return taken == 1


def give_up_exhausted() -> int:
    """Jobs orphaned MAX_ATTEMPTS times are failed, not retried for ever."""
    now = timezone.now()
    return ExportJob.objects.filter(
        attempts__gte=MAX_ATTEMPTS, status=ExportStatus.RUNNING, heartbeat_at__lt=now - STALE_AFTER
    ).update(
        status=ExportStatus.FAILED,
        finished_at=now,
        error_message="abandoned after repeated interruptions",
    )


def resume_orphaned(job: ExportJob) -> bool:
    """Called when a client polls: an orphaned job is claimed and run again in this process."""
    give_up_exhausted()
    if claim(job.pk, only_orphaned=True):
        transaction.on_commit(lambda: start(job.pk, claimed=True))
        return True
    return False


def run_job(job_id: int) -> None:
    """Claim the job and run it to the end (or to its cancellation)."""
    if claim(job_id):
        _run_claimed(job_id)


class _Side:
    """A second connection, in autocommit, for the heartbeat, the progress and the cancellation
    check: pollers must see them while the export reads inside its long snapshot transaction."""

    def __init__(self, job_id: int) -> None:
        # A wrapper of its own, not registered in `connections`, so closing it leaves the
        # thread's main connection alone.
        main = connections[DEFAULT_DB_ALIAS]
        self.conn = type(main)(dict(main.settings_dict), alias=DEFAULT_DB_ALIAS)
        self.job_id = job_id

    def beat(self, progress: str) -> str | None:
        """Record the progress; the job's status now (None when its row is not visible)."""
        with self.conn.cursor() as cursor:
            cursor.execute(
                "UPDATE fhir_bulk_exportjob SET heartbeat_at = now(), progress = %s "
                "WHERE id = %s RETURNING status",
                [progress[:200], self.job_id],
            )
            row = cursor.fetchone()
        return row[0] if row else None

    def close(self) -> None:
        self.conn.close()


class _NoSide:
    """Inside an outer transaction (tests running a job inline) there is no one to report to,
    and a second connection would wait on the row that transaction holds."""

    def beat(self, progress: str) -> str | None:
        return None

    def close(self) -> None:
        return None


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
    side: _Side | _NoSide
    persons: QuerySet[Person] | None
    output: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    person_ids: set[int] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)

    def tick(self, progress: str) -> None:
        if self.side.beat(progress) == ExportStatus.CANCELLED:
            raise Cancelled()


def _run_claimed(job_id: int) -> None:
    job = ExportJob.objects.select_related("user", "user__territory").get(pk=job_id)
    directory = job_dir(job)
    side: _Side | _NoSide = _NoSide() if connection.in_atomic_block else _Side(job.pk)
    try:
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        actor = job_actor(job)
        persons = groups.members(actor, job.group_id) if job.level == ExportLevel.GROUP else None
        run = _Run(job=job, actor=actor, directory=directory, side=side, persons=persons)
        with snapshot() as moment:
            for position, kind in enumerate(job.types, start=1):
                _export_type(run, registry.get(kind), f"{position}/{len(job.types)}")
        _complete(run, moment)
    except Cancelled:
        shutil.rmtree(directory, ignore_errors=True)
    except Exception as exc:
        # The log names the job and the error type only: never a resource's content.
        logger.exception("FHIR export job %s failed", job.public_id)
        shutil.rmtree(directory, ignore_errors=True)
        ExportJob.objects.filter(pk=job.pk, status=ExportStatus.RUNNING).update(
            status=ExportStatus.FAILED,
            finished_at=timezone.now(),
            error_message=type(exc).__name__,
        )
    finally:
        side.close()


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
    """Audit and mark done together: a completed job is always an audited one."""
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
        job.progress = ""
        job.save()


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
    """Cancel a job (or delete a finished one's files). A running thread stops at its next chunk."""
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportStatus.CANCELLED, finished_at=timezone.now(), output=[], errors=[]
    )
    directory = job_dir(job)
    transaction.on_commit(lambda: shutil.rmtree(directory, ignore_errors=True))


def export_file(job: ExportJob, name: str) -> Path | None:
    """The path of one of the job's files, if `name` is one (never a path outside its folder)."""
    names = {o["file"] for o in job.output} | {e["file"] for e in job.errors}
    if name not in names:
        return None
    path = job_dir(job) / name
    return path if path.is_file() else None
