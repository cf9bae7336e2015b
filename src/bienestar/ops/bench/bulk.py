"""Bulk FHIR data: `fhir_bulk_import_res_per_s` and `fhir_bulk_export_res_per_s`.

Import: a slice of the bench network (the first active persons by id, with their Encounters and
Observations, up to N resources) is written as NDJSON by the same registry mappers `$export` uses,
then given new resource ids (every reference inside the slice follows) and stripped of business
identifiers, so that every line is a new record (each Patient gets a new national health ID). The
files are imported with `importer.import_path`, what `bienestar fhir import DIR --as USER` runs
(staging by COPY, batches of 500, each batch committed with its audit rows), as the bench's
integrator user (national scope). The rate is resources created per second over the whole import
(staging included); the row counts before/after must match the created counts. The imported
records are then removed (cleanup.py), so the network keeps its size; the audit rows stay.
Baseline: PostgreSQL COPY FROM STDIN of the same rows (the rows the import wrote in the person,
encounter and observation tables) into temporary copies of those tables with the same indexes.

Export: a system-level `$export` job (`_type=Patient,Encounter,Observation`) of the whole network,
run in this process by `export.run_job` (what `bienestar fhir export` runs): the same scoped
querysets, mappers, NDJSON files and audit rows (one per exported person). It runs inside a
transaction that is rolled back afterwards (REPEATABLE READ, as the job's own snapshot), the path
the export code takes when it runs inline: everything is written, including the audit rows and
the job row, but nothing stays, so repeated runs do not add an audit row per person each time. The
files are deleted. Baseline: `COPY (SELECT …) TO STDOUT` of the same tables' rows into a file.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from django.db import connection, transaction

from bienestar.ops.bench import cleanup
from bienestar.ops.bench.common import Metric, metric, raw_connection

TYPES = ("Patient", "Encounter", "Observation")
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
CHUNK = 1000


def bench_user() -> Any:
    """The bench's API client of another institution, national scope (as fhir.py uses)."""
    from bienestar.access.models import User
    from bienestar.access.roles import Role
    from bienestar.territories.models import Territory

    user, _ = User.objects.update_or_create(
        username=f"bench-{Role.INTEGRATOR}",
        defaults={
            "role": Role.INTEGRATOR,
            "territory": Territory.objects.get(path="MX"),
            "is_active": True,
        },
    )
    return User.objects.select_related("territory").get(pk=user.pk)


# --- the import's input ---------------------------------------------------------------------------


def _slice(resources: int) -> list[int]:
    """The first active persons by id whose own resources add up to about `resources`."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT p.id,
                      (SELECT count(*) FROM clinical_encounter e WHERE e.person_id = p.id),
                      (SELECT count(*) FROM clinical_observation o
                        WHERE o.person_id = p.id AND o.panel_id IS NULL)
               FROM people_person p WHERE p.status = 'active' ORDER BY p.id LIMIT %s""",
            [resources],
        )
        rows = cursor.fetchall()
    out, total = [], 0
    for pk, encounters, observations in rows:
        if total >= resources:
            break
        out.append(int(pk))
        total += 1 + int(encounters) + int(observations)
    return out


def write_input(folder: Path, resources: int) -> dict[str, int]:
    """NDJSON files of fresh resources (see the module); returns the lines per type."""
    from bienestar.access.actor import Actor
    from bienestar.fhir import registry

    actor = Actor(user=bench_user(), channel="bench")
    persons = _slice(resources)
    found: dict[str, list[dict[str, Any]]] = {}
    for kind in TYPES:
        definition = registry.get(kind)
        qs = definition.queryset(actor)
        qs = qs.filter(pk__in=persons) if kind == "Patient" else qs
        if kind != "Patient":
            qs = qs.filter(**{f"{definition.person_attr}__in": persons})
        out: list[dict[str, Any]] = []
        last: Any = None
        while True:
            page = qs if last is None else qs.filter(pk__gt=last)
            rows = list(definition.load(page.order_by("pk"))[:CHUNK])
            if not rows:
                break
            last = rows[-1].pk
            out.extend(definition.to_fhir(rows, actor))
        found[kind] = out
    renamed = {r["id"]: str(uuid.uuid4()) for kind in TYPES for r in found[kind]}

    def rename(match: re.Match[str]) -> str:
        return renamed.get(match.group(0), match.group(0))

    lines = {}
    for kind in TYPES:
        with (folder / f"{kind}.ndjson").open("w", encoding="utf-8") as handle:
            for resource in found[kind]:
                fresh = {k: v for k, v in resource.items() if k not in ("meta", "identifier")}
                handle.write(UUID_RE.sub(rename, json.dumps(fresh, ensure_ascii=False)))
                handle.write("\n")
        lines[kind] = len(found[kind])
    return lines


# --- baselines: COPY -------------------------------------------------------------------------------


def _columns(raw: Any, table: str) -> list[str]:
    from bienestar.ops.bench.crud import _columns as columns

    return columns(raw, table)


def copy_in_rate(before: dict[str, int]) -> tuple[float, int]:
    """COPY FROM STDIN, into temporary copies with the same indexes, of the rows written after
    `before` in the root tables. Returns (rows per second, rows)."""
    raw = raw_connection()
    try:
        buffers = {}
        for table, mark in before.items():
            cols = ", ".join(f'"{c}"' for c in _columns(raw, table))
            raw.execute(f"CREATE TEMP TABLE bench_copy_{table} (LIKE {table} INCLUDING ALL)")
            data = bytearray()
            query = (
                f"COPY (SELECT {cols} FROM {table} WHERE id > {int(mark)} ORDER BY id) TO STDOUT"  # noqa: S608 - catalogue names
            )
            with raw.cursor().copy(query) as copy:
                for chunk in copy:
                    data += chunk
            buffers[table] = (cols, bytes(data))
        start = time.perf_counter()
        for table, (cols, rows_data) in buffers.items():
            with raw.cursor().copy(f"COPY bench_copy_{table} ({cols}) FROM STDIN") as copy:
                copy.write(rows_data)
        elapsed = time.perf_counter() - start
        rows = sum(
            int(raw.execute(f"SELECT count(*) FROM bench_copy_{table}").fetchone()[0])  # noqa: S608 - constant names
            for table in buffers
        )
    finally:
        raw.close()  # the temporary tables go with the session
    return (rows / elapsed if elapsed else 0.0), rows


def copy_out_rate(folder: Path) -> tuple[float, int]:
    """COPY (SELECT …) TO STDOUT of every row of the root tables, written to a file."""
    raw = raw_connection()
    rows = 0
    try:
        start = time.perf_counter()
        with (folder / "copy.tsv").open("wb") as handle:
            for table in cleanup.ROOTS:
                query = f"COPY (SELECT * FROM {table}) TO STDOUT"  # noqa: S608 - constant names
                with raw.cursor().copy(query) as copy:
                    for chunk in copy:
                        handle.write(chunk)
                        rows += bytes(chunk).count(b"\n")
        elapsed = time.perf_counter() - start
    finally:
        raw.close()
    return (rows / elapsed if elapsed else 0.0), rows


# --- the metrics -------------------------------------------------------------------------------------


def bulk_import(resources: int) -> tuple[dict[str, Metric], str]:
    from bienestar.fhir.bulk import importer
    from bienestar.fhir.bulk.models import ImportJob

    user = bench_user()
    folder = Path(tempfile.mkdtemp(prefix="bienestar-import-"))
    try:
        lines = write_input(folder, resources)
        if not sum(lines.values()):
            return {}, "no resources to import"
        connection.close()
        before, rows_before = cleanup.marks(), cleanup.counts()
        start = time.perf_counter()
        summary = importer.import_path(folder, user=user, options=importer.Options())
        elapsed = time.perf_counter() - start
        rows_after = cleanup.counts()
        created = sum(c.get("created", 0) for c in summary.counts.values())
        delta = sum(rows_after.values()) - sum(rows_before.values())
        job_key = summary.job.key
        base_rate, base_rows = copy_in_rate(before)
        removed = cleanup.remove_since(before)
        ImportJob.objects.filter(key=job_key).delete()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if delta != created:
        return {}, f"UNEXPECTED: the import reports {created} resources created, the tables {delta}"
    rate = created / elapsed if elapsed else 0.0
    per_type = ", ".join(
        f"{kind} {summary.counts.get(kind, {}).get('created', 0)}/{lines[kind]}" for kind in TYPES
    )
    notes = (
        f"bienestar fhir import's importer.import_path (in the bench process, as the national "
        f"integrator user; staging by COPY, batches of 500 each committed with its audit rows) of "
        f"{sum(lines.values())} NDJSON lines: a slice of the network (first persons by id, with "
        f"their Encounters and Observations) written by the $export mappers, with new ids and "
        f"no business identifiers, so every line is a new record; {created} created "
        f"({per_type}), {summary.refused} refused, in {elapsed:.1f} s; the row counts before/after "
        f"agree; the imported records were removed afterwards ({sum(removed.values())} rows in "
        f"{len(removed)} tables; their audit rows stay); baseline: PostgreSQL COPY FROM STDIN "
        f"of the same {base_rows} rows (person, encounter, observation tables, panel components "
        f"included) into temporary copies with the same indexes"
    )
    return {"fhir_bulk_import_res_per_s": metric(rate, "res/s", base_rate, notes)}, ""


def bulk_export(group: str = "") -> tuple[dict[str, Metric], str]:
    """System-level export of the whole network, or Group-level (`territory-<path>`, e.g. one
    state at 1M people, where the whole network would take tens of minutes) when `group` is set."""
    from bienestar.access.actor import Actor
    from bienestar.fhir.bulk import export
    from bienestar.fhir.bulk.models import ExportLevel, ExportStatus

    actor = Actor(user=bench_user(), client_address="127.0.0.1", channel="fhir")
    connection.close()
    with transaction.atomic():
        with connection.cursor() as cursor:
            # The job's own snapshot isolation (export.snapshot sets it only when outermost).
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        request = export.parse_request(
            level=ExportLevel.GROUP if group else ExportLevel.SYSTEM,
            params=[("_type", ",".join(TYPES))],
            request_url="bienestar bench",
            base_url="urn:bienestar:bench",
            group_id=group,
        )
        job = export.kickoff(actor, request)
        start = time.perf_counter()
        export.run_job(job.pk)
        elapsed = time.perf_counter() - start
        job.refresh_from_db()
        directory = export.job_dir(job)
        status, error, output = job.status, job.error_message, list(job.output)
        size = (
            sum(p.stat().st_size for p in directory.glob("*.ndjson")) if directory.exists() else 0
        )
        shutil.rmtree(directory, ignore_errors=True)
        transaction.set_rollback(True)
    if status != ExportStatus.COMPLETED:
        return {}, f"the export job did not complete: {status} {error}"
    per_type: dict[str, int] = {}
    for item in output:
        per_type[item["type"]] = per_type.get(item["type"], 0) + int(item["count"])
    total = sum(per_type.values())
    folder = Path(tempfile.mkdtemp(prefix="bienestar-copy-out-"))
    try:
        base_rate, base_rows = copy_out_rate(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    rate = total / elapsed if elapsed else 0.0
    scope = f"Group/{group} $export" if group else "system-level $export"
    notes = (
        scope
        + f", _type={','.join(TYPES)}, of "
        + (f"the persons of {group}" if group else "the whole network")
        + ", run in the bench "
        f"process by export.run_job (what bienestar fhir export runs) as the national integrator "
        f"user: {total} resources ("
        + ", ".join(f"{k} {v}" for k, v in per_type.items())
        + f") written to NDJSON ({size / 1e6:.1f} MB) in {elapsed:.1f} s, audit rows included; "
        f"run inside a transaction rolled back afterwards (job row and one audit row per person "
        f"written, then discarded, so repeated runs do not grow the audit log), files deleted; "
        f"baseline: PostgreSQL COPY … TO STDOUT of every row of the person, encounter and "
        f"observation tables ({base_rows} rows, panel components included) into a file"
    )
    return {"fhir_bulk_export_res_per_s": metric(rate, "res/s", base_rate, notes)}, ""
