"""Bulk NDJSON import (`bienestar fhir import FILE_OR_DIR`): idempotent and resumable.

1. The files (`*.ndjson`, `*.ndjson.gz`) are identified by their content: the same files give the
   same job, so running the command again resumes it.
2. Each file is staged with COPY into `fhir_bulk_importline`, keyed by (file, line), in one
   transaction per file (a file is staged entirely or not at all).
3. Lines are processed type by type in dependency order (Patient, merged patients, Encounter,
   Condition, Observation, AllergyIntolerance, Immunization, then the rest), in batches: each batch
   validates its lines (loaders.py), inserts with INSERT … ON CONFLICT (public_id) DO NOTHING, and
   records its refusals, its audit rows and the job's progress in ONE transaction. A crash (even
   kill -9) loses at most the batch in flight; the next run starts right after the last committed
   batch, and a line imported twice (the same id in two files, or two jobs over the same data) is
   left alone the second time.
4. A session advisory lock keeps two processes from running the same job at once.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.access.audit import audit_many
from bienestar.access.models import AuditAction, User
from bienestar.facilities.models import Facility
from bienestar.fhir.bulk import loaders
from bienestar.fhir.bulk.loaders import Batch, Item, Refused
from bienestar.fhir.bulk.models import ImportIssue, ImportJob, ImportLine, ImportStatus
from bienestar.fhir.bulk.sql import stable_uuid
from bienestar.fhir.validation import problems
from bienestar.terminology.models import Medicine
from bienestar.workforce.models import Position, Practitioner

STAGES = (
    "Patient",
    "Patient-merged",
    "Encounter",
    "Condition",
    "Observation",
    "AllergyIntolerance",
    "Immunization",
)
# Registries are loaded from the official files (load-reference), not imported: a line of these
# types is accepted when the record is already there.
REGISTRIES: dict[str, tuple[Any, str, bool]] = {
    "Organization": (Facility, "public_id", True),
    "Location": (Facility, "public_id", True),
    "Practitioner": (Practitioner, "public_id", True),
    "PractitionerRole": (Position, "public_id", True),
    "Medication": (Medicine, "key", False),
}
# Written only through the pharmacy services (a dispense moves stock).
PHARMACY = ("MedicationRequest", "MedicationDispense")
_LOCK_SPACE = 0x46484952  # "FHIR": the advisory-lock namespace of import jobs


class Busy(Exception):
    """Another process is running this job."""


@dataclass
class Options:
    batch_size: int = 500
    stop_on_error: bool = False
    sleep_between_batches: float = 0.0
    on_batch: Callable[[int], None] | None = None


@dataclass
class Summary:
    job: ImportJob
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    stopped: bool = False
    resumed: bool = False
    # Lines processed by this run (a resumed run counts only what it did).
    processed: int = 0

    @property
    def refused(self) -> int:
        return sum(c.get("refused", 0) for c in self.counts.values())


# --- files -------------------------------------------------------------------------------------------


def files_of(path: Path) -> list[Path]:
    """The NDJSON files of a path: the file itself, or those of a directory (recursively, in
    name order)."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(str(path))
    return sorted(
        p for p in path.rglob("*") if p.is_file() and p.name.endswith((".ndjson", ".ndjson.gz"))
    )


def _open(path: Path) -> Any:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def open_job(source: Path, username: str) -> tuple[ImportJob, bool]:
    """The job of these files (created, or found again: True when resumed)."""
    files = files_of(source)
    listed: list[dict[str, Any]] = [
        {"name": str(p), "sha256": _sha256(p), "lines": 0, "staged": False} for p in files
    ]
    key = hashlib.sha256(
        json.dumps([[p.name, f["sha256"]] for p, f in zip(files, listed, strict=True)]).encode()
    ).hexdigest()
    job, created = ImportJob.objects.get_or_create(
        key=key, defaults={"source": str(source), "username": username, "files": listed}
    )
    if not created:
        # The same content elsewhere (or renamed dirs): read it from where it is now.
        by_hash = {f["sha256"]: f["name"] for f in listed}
        for f in job.files:
            f["name"] = by_hash.get(f["sha256"], f["name"])
        ImportJob.objects.filter(pk=job.pk).update(files=job.files)
    return job, not created


def classify(text: str) -> tuple[str, str]:
    """(stage, id) of a line, for staging: the resource type (or Patient-merged), "" when the
    line is not a JSON object with a resourceType."""
    try:
        data = json.loads(text)
    except ValueError:
        return "", ""
    if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
        return "", ""
    kind = data["resourceType"][:40]
    if kind == "Patient" and any(
        isinstance(link, dict) and link.get("type") == "replaced-by"
        for link in data.get("link") or []
    ):
        kind = "Patient-merged"
    return kind, str(data.get("id") or "")[:64]


def stage_files(job: ImportJob) -> int:
    """COPY every file not staged yet; each file in one transaction. Returns the lines staged."""
    total = 0
    for file_no, entry in enumerate(job.files):
        if entry["staged"]:
            continue
        with transaction.atomic():
            ImportLine.objects.filter(job=job, file_no=file_no).delete()
            count = 0
            with (
                connection.cursor() as cursor,
                cursor.copy(
                    "COPY fhir_bulk_importline (job_id, file_no, line_no, stage, resource_id, raw) "
                    "FROM STDIN"
                ) as copy,
                _open(Path(entry["name"])) as handle,
            ):
                for line_no, text in enumerate(handle, start=1):
                    text = text.rstrip("\r\n")
                    if not text.strip():
                        continue
                    stage, resource_id = classify(text)
                    copy.write_row((job.pk, file_no, line_no, stage, resource_id, text))
                    count += 1
            entry["staged"], entry["lines"] = True, count
            ImportJob.objects.filter(pk=job.pk).update(files=job.files)
        total += count
    return total


# --- batches -----------------------------------------------------------------------------------------


def _items(batch: Batch, stage: str, lines: list[ImportLine]) -> list[Item]:
    """Parse and check the structure of each line; refuse what cannot be a resource."""
    items = []
    for line in lines:
        kind = "Patient" if stage == "Patient-merged" else stage
        placeholder = Item(
            line.file_no, line.line_no, {}, kind, line.resource_id, stable_uuid(kind, "-")
        )
        try:
            data = json.loads(line.raw)
        except ValueError as exc:
            batch.refuse(placeholder, Refused(_("JSON inválido: %(e)s.") % {"e": exc}))
            continue
        if not stage:
            batch.refuse(
                placeholder, Refused(_("La línea no es un recurso FHIR (falta resourceType)."))
            )
            continue
        # Types that are never imported are refused for their type, not for their structure.
        found = problems(data) if stage in loaders.LOADERS else []
        if found:
            batch.refuse(placeholder, Refused("; ".join(found[:3])))
            continue
        resource_id = data.get("id")
        if not isinstance(resource_id, str) or not resource_id:
            batch.refuse(
                placeholder,
                Refused(
                    _("Falta el id: la importación lo necesita para ser idempotente."),
                    f"{data['resourceType']}.id",
                ),
            )
            continue
        kind = data["resourceType"]
        items.append(
            Item(
                line.file_no, line.line_no, data, kind, resource_id, stable_uuid(kind, resource_id)
            )
        )
    return items


def _load(batch: Batch, stage: str, items: list[Item]) -> int:
    """Write the new lines of a batch; returns how many were there already."""
    unique: dict[Any, Item] = {}
    for item in items:
        unique.setdefault(item.public_id, item)
    existing = set(
        loaders.MODELS[stage]
        .objects.filter(public_id__in=list(unique))
        .values_list("public_id", flat=True)
    )
    new = [i for key, i in unique.items() if key not in existing]
    load = loaders.LOADERS[stage]
    try:
        with transaction.atomic():
            load(batch, new)
    except IntegrityError:
        # A conflict the checks did not foresee (e.g. a dose recorded twice under two ids):
        # again one line at a time, so that only the offending line is refused.
        batch.created.clear()
        batch.written.clear()
        for item in new:
            single = Batch(batch.actor, batch.user, batch.job_key)
            try:
                with transaction.atomic():
                    load(single, [item])
            except IntegrityError:
                single = Batch(batch.actor, batch.user, batch.job_key)
                single.refuse(item, Refused(_("Choca con un registro que ya existe.")))
            batch.refused += single.refused
            batch.written += single.written
            for kind, n in single.created.items():
                batch.count(kind, n)
    return len(items) - len(new)


def _registry(batch: Batch, stage: str, items: list[Item]) -> int:
    model, column, uuid_ids = REGISTRIES[stage]
    keys = {i.public_id if uuid_ids else i.resource_id: i for i in items}
    present = set(
        model.objects.filter(**{f"{column}__in": list(keys)}).values_list(column, flat=True)
    )
    for key, item in keys.items():
        if key not in present:
            batch.refuse(
                item,
                Refused(
                    _(
                        "%(type)s no se importa: los registros se cargan con load-reference; "
                        "no existe %(type)s/%(id)s."
                    )
                    % {"type": stage, "id": item.resource_id}
                ),
            )
    return len(items) - len([k for k in keys if k not in present])


def process_batch(batch: Batch, stage: str, lines: list[ImportLine]) -> int:
    """Validate and write one batch (inside the caller's transaction); returns the lines that
    were already imported."""
    items = _items(batch, stage, lines)
    if stage in loaders.LOADERS:
        return _load(batch, stage, items)
    if stage in REGISTRIES:
        return _registry(batch, stage, items)
    for item in items:
        if stage in PHARMACY:
            message = _(
                "%(type)s no se importa en bloque: recetas y surtimientos pasan por los servicios "
                "de farmacia (mueven existencias)."
            ) % {"type": stage}
        else:
            message = _("Tipo de recurso no admitido: %(type)s.") % {"type": stage}
        batch.refuse(item, Refused(message))
    return 0


def _audit(batch: Batch) -> None:
    per: dict[tuple[str, int], int] = {}
    for kind, person in batch.written:
        per[(kind, person)] = per.get((kind, person), 0) + 1
    audit_many(
        batch.actor,
        [
            {
                "action": AuditAction.CREATE,
                "resource_type": kind,
                "person_id": person,
                "query": {"import": batch.job_key[:16], "count": n},
            }
            for (kind, person), n in sorted(per.items())
        ],
    )


def _count(counts: dict[str, dict[str, int]], kind: str, what: str, n: int) -> None:
    if n:
        slot = counts.setdefault(kind, {"created": 0, "existing": 0, "refused": 0})
        slot[what] = slot.get(what, 0) + n


def _next_lines(job: ImportJob, stage: str, after: list[int], size: int) -> list[ImportLine]:
    file_no, line_no = after
    return list(
        ImportLine.objects.filter(job=job, stage=stage)
        .filter(Q(file_no__gt=file_no) | Q(file_no=file_no, line_no__gt=line_no))
        .order_by("file_no", "line_no")[:size]
    )


def _stages(job: ImportJob) -> list[str]:
    present = set(ImportLine.objects.filter(job=job).values_list("stage", flat=True).distinct())
    others = sorted(present - set(STAGES))
    return [*STAGES, *others]


def run_batches(job: ImportJob, user: User, options: Options) -> Summary:
    actor = Actor(user=user, channel="cli")
    summary = Summary(job=job)
    for stage in _stages(job):
        while True:
            lines = _next_lines(job, stage, job.progress.get(stage, [0, 0]), options.batch_size)
            if not lines:
                break
            batch = Batch(actor=actor, user=user, job_key=job.key)
            with transaction.atomic():
                existing = process_batch(batch, stage, lines)
                kind = "Patient" if stage == "Patient-merged" else (stage or "?")
                for created_kind, n in batch.created.items():
                    _count(job.counts, created_kind, "created", n)
                _count(job.counts, kind, "existing", existing)
                _count(job.counts, kind, "refused", len(batch.refused))
                ImportIssue.objects.bulk_create(
                    [
                        ImportIssue(
                            job=job,
                            file_no=item.file_no,
                            line_no=item.line_no,
                            resource_type=item.resource_type[:40],
                            resource_id=item.resource_id[:64],
                            message=message,
                        )
                        for item, message in batch.refused
                    ],
                    ignore_conflicts=True,
                )
                _audit(batch)
                job.progress[stage] = [lines[-1].file_no, lines[-1].line_no]
                job.batches += 1
                job.status = ImportStatus.RUNNING
                job.save(update_fields=["progress", "counts", "batches", "status", "updated_at"])
            summary.processed += len(lines)
            if options.on_batch is not None:
                options.on_batch(len(lines))
            if options.stop_on_error and batch.refused:
                summary.stopped = True
                summary.counts = job.counts
                return summary
            if options.sleep_between_batches:
                time.sleep(options.sleep_between_batches)
    with transaction.atomic():
        job.status = ImportStatus.COMPLETED
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "finished_at", "updated_at"])
        ImportLine.objects.filter(job=job).delete()
    summary.counts = job.counts
    return summary


def remaining_lines(job: ImportJob) -> int:
    done = 0
    for stage, (file_no, line_no) in job.progress.items():
        done += (
            ImportLine.objects.filter(job=job, stage=stage)
            .filter(Q(file_no__lt=file_no) | Q(file_no=file_no, line_no__lte=line_no))
            .count()
        )
    return ImportLine.objects.filter(job=job).count() - done


def issues(job: ImportJob, limit: int | None = None) -> list[str]:
    """Every refused line as `file:line: Type/id: message`, in file order; a run of lines of one
    file refused for the same reason (a whole file of an unsupported type) is one entry,
    `file:first-last: Type (n): message`."""
    names = [Path(f["name"]).name for f in job.files]
    groups: list[list[ImportIssue]] = []
    for issue in ImportIssue.objects.filter(job=job).order_by("file_no", "line_no").iterator():
        last = groups[-1][-1] if groups else None
        if last is not None and (last.file_no, last.resource_type, last.message) == (
            issue.file_no,
            issue.resource_type,
            issue.message,
        ):
            groups[-1].append(issue)
        else:
            if limit is not None and len(groups) >= limit:
                break
            groups.append([issue])
    out = []
    for group in groups:
        first, last = group[0], group[-1]
        name = names[first.file_no] if first.file_no < len(names) else "?"
        if len(group) == 1:
            what = (
                f"{first.resource_type}/{first.resource_id}"
                if first.resource_id
                else first.resource_type
            )
            out.append(f"{name}:{first.line_no}: {what + ': ' if what else ''}{first.message}")
        else:
            out.append(
                f"{name}:{first.line_no}-{last.line_no}: {first.resource_type} ({len(group)}): "
                f"{first.message}"
            )
    return out


def import_path(
    source: Path, *, user: User, options: Options, on_staged: Callable[[int], None] | None = None
) -> Summary:
    """Run (or resume) the import of `source` as `user`. Busy when another process holds it."""
    job, resumed = open_job(source, user.get_username())
    if job.status == ImportStatus.COMPLETED:
        return Summary(job=job, counts=job.counts, resumed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_LOCK_SPACE, job.pk])
        if not cursor.fetchone()[0]:
            raise Busy(job.key)
    try:
        stage_files(job)
        job.refresh_from_db()
        if on_staged is not None:
            on_staged(remaining_lines(job))
        summary = run_batches(job, user, options)
        summary.resumed = resumed
        return summary
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_LOCK_SPACE, job.pk])
