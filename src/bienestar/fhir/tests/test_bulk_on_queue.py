"""Bulk FHIR jobs on the queue against real worker processes (ADR 0009): a worker SIGKILLed in the
middle of an export or an import is noticed by another (no heartbeat), the job is retried, and it
completes exactly once in effect: one set of files and audit rows for the export, every imported
resource and its audit row once. And the API door of the import."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from bienestar.access.models import AuditAction, AuditEvent
from bienestar.access.tests.factories import actor_for
from bienestar.clinical.models import Observation
from bienestar.fhir.bulk import export, imports
from bienestar.fhir.bulk.models import ExportLevel, ExportStatus, ImportJob
from bienestar.fhir.tests.test_bulk_import import write_ndjson
from bienestar.fhir.tests.test_bundles import patient, weight
from bienestar.jobs import files as job_files
from bienestar.jobs.models import Job, JobStatus
from bienestar.jobs.testing import Worker, clear_queue, wait_for
from bienestar.people.models import Person

# Real worker processes start slowly on a loaded machine.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(600),
]


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("BIENESTAR_HOME", str(path))
    clear_queue()
    return path


@pytest.fixture
def importer_user(users, net):  # type: ignore[no-untyped-def]
    user = users["integrator"]
    user.facility = net.centre
    user.save(update_fields=["facility"])
    return user


def worker(home: Path, name: str, **env: str) -> Worker:
    return Worker(home / f"{name}.log", name=name, env={"BIENESTAR_HOME": str(home), **env})


def finished(job_id: int, timeout: float = 180) -> Job:
    def done() -> Job | None:
        job = Job.objects.get(pk=job_id)
        return job if job.finished else None

    return wait_for(done, timeout=timeout, what="the job to finish")  # type: ignore[return-value]


def test_an_export_whose_worker_is_killed_is_retried_and_done_once(users, record, home) -> None:
    actor = actor_for(users["integrator"], channel="fhir")
    request = export.parse_request(
        level=ExportLevel.SYSTEM,
        params=[],
        request_url="http://testserver/fhir/$export",
        base_url="http://testserver/fhir",
    )
    export_job = export.kickoff(actor, request)
    job_id = export_job.job_id
    assert job_id is not None
    victim = worker(home, "victim", BIENESTAR_JOBS_TEST_PAUSE="0.3")
    try:
        # Killed in the middle: some types written, not all.
        wait_for(
            lambda: Job.objects.get(pk=job_id).progress_done >= 2,
            timeout=200,
            what=f"the export to progress: {victim.output()}",
        )
        victim.kill()
    finally:
        victim.stop()
    assert Job.objects.get(pk=job_id).status == JobStatus.RUNNING
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()

    rescuer = worker(home, "rescuer")
    try:
        job = finished(job_id)
    finally:
        rescuer.stop()

    assert job.status == JobStatus.SUCCEEDED, (job.error, rescuer.output())
    assert job.attempts == 2
    export_job.refresh_from_db()
    assert export_job.status == ExportStatus.COMPLETED
    directory = export.job_dir(export_job)
    names = sorted(p.name for p in directory.iterdir())
    assert names == sorted(o["file"] for o in export_job.output)  # nothing left of attempt 1
    assert [r["name"] for r in job.results] == [o["file"] for o in export_job.output]
    patients = [
        json.loads(line)["id"]
        for name in names
        if name.startswith("Patient-")
        for line in (directory / name).read_text().splitlines()
    ]
    assert len(patients) == len(set(patients)) > 0
    assert AuditEvent.objects.filter(resource_type="BulkExport").count() == 1
    per_person = AuditEvent.objects.filter(action=AuditAction.EXPORT, resource_type="Person")
    assert sorted(per_person.values_list("resource_id", flat=True)) == sorted(patients)
    connection.close()


def _ndjson(folder: Path, n: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    people = [{**patient(f"Persona{i}"), "id": str(uuid.uuid4())} for i in range(n)]
    write_ndjson(folder / "1-patients.ndjson", people)
    measures = []
    for i, p in enumerate(people):
        w = weight(f"Patient/{p['id']}", "x", 50 + i % 40)
        w.pop("encounter")
        measures.append({**w, "id": str(uuid.uuid4())})
    write_ndjson(folder / "2-observations.ndjson.gz", measures)
    return people, measures


def test_an_import_whose_worker_is_killed_is_retried_and_every_row_lands_once(
    importer_user, tmp_path, home
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    people, measures = _ndjson(folder, 200)
    job = imports.start_import(
        actor=actor_for(importer_user), paths=[folder], batch_size=10, pause=0.2
    )
    victim = worker(home, "victim")
    try:
        wait_for(
            lambda: (ImportJob.objects.first() or ImportJob(batches=0)).batches >= 6,
            timeout=200,
            what=f"the import to progress: {victim.output()}",
        )
        victim.kill()
    finally:
        victim.stop()
    assert 0 < Person.objects.count() < len(people)

    rescuer = worker(home, "rescuer")
    try:
        job = finished(job.pk, timeout=300)
    finally:
        rescuer.stop()

    assert job.status == JobStatus.SUCCEEDED, (job.error, rescuer.output())
    assert job.attempts == 2
    assert (job.progress_done, job.progress_total) == (job.progress_total, job.progress_total)
    assert sorted(str(p) for p in Person.objects.values_list("public_id", flat=True)) == sorted(
        p["id"] for p in people
    )
    assert sorted(
        str(o) for o in Observation.objects.values_list("public_id", flat=True)
    ) == sorted(m["id"] for m in measures)
    created = AuditEvent.objects.filter(action=AuditAction.CREATE, resource_type="Person")
    assert created.count() == created.values("person_id").distinct().count() == len(people)
    assert not (job_files.job_dir(job.public_id) / imports.INPUT).exists()
    connection.close()


def test_the_api_queues_an_upload_and_the_worker_imports_it(importer_user, tmp_path, home) -> None:
    folder = tmp_path / "up"
    folder.mkdir()
    people, _measures = _ndjson(folder, 5)
    (folder / "notas.txt").write_text("no")
    client = Client()
    client.force_login(importer_user)

    refused = client.post("/api/fhir-import/", {"files": [(folder / "notas.txt").open("rb")]})
    assert refused.status_code == 422
    assert not Job.objects.exists()
    with (
        (folder / "1-patients.ndjson").open("rb") as a,
        (folder / "2-observations.ndjson.gz").open("rb") as b,
    ):
        response = client.post("/api/fhir-import/", {"files": [a, b]})
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued"
    job = Job.objects.get(public_id=body["public_id"])
    one = worker(home, "one")
    try:
        job = finished(job.pk)
    finally:
        one.stop()

    assert job.status == JobStatus.SUCCEEDED, (job.error, one.output())
    assert Person.objects.count() == len(people)
    assert (
        client.get(f"/api/jobs/{job.public_id}")
        .json()["message"]
        .startswith("10 creados, 0 rechazados")
    )
    outsider = Client()
    outsider.force_login(importer_user.__class__.objects.get(username="pharmacist"))
    with (folder / "1-patients.ndjson").open("rb") as a:
        assert outsider.post("/api/fhir-import/", {"files": [a]}).status_code == 403
    assert Job.objects.count() == 1
    connection.close()


@pytest.mark.django_db
def test_the_import_door_refuses_before_it_writes(users, tmp_path) -> None:
    """Anonymous 401, a role that may not write clinical records 403, a file that is not NDJSON
    422; no job, no file kept."""
    folder = tmp_path / "up"
    folder.mkdir()
    _ndjson(folder, 1)
    (folder / "notas.txt").write_text("no")

    def post(client: Client, name: str) -> int:
        with (folder / name).open("rb") as handle:
            return client.post("/api/fhir-import/", {"files": [handle]}).status_code

    assert post(Client(), "1-patients.ndjson") == 401
    pharmacist = Client()
    pharmacist.force_login(users["pharmacist"])
    assert post(pharmacist, "1-patients.ndjson") == 403
    clinician = Client()
    clinician.force_login(users["clinician"])
    assert post(clinician, "notas.txt") == 422
    assert not Job.objects.exists()
    assert not any(job_files.jobs_dir().iterdir())
