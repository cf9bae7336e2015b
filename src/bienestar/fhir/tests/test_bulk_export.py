"""$export per the Bulk Data Access IG: kick-off (202 + Content-Location), polling (202 with
X-Progress, then 200 with the manifest), NDJSON files behind the bearer token, `_type`, `_since`,
Group and Patient level, cancellation, the job on the queue, and the audit."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from procrastinate.contrib.django.models import ProcrastinateJob

from bienestar.access.models import AuditAction, AuditEvent
from bienestar.clinical.models import Encounter
from bienestar.fhir.bulk import export
from bienestar.fhir.bulk.models import ExportJob, ExportStatus
from bienestar.fhir.tests.client import FhirClient, assert_valid
from bienestar.jobs.models import Job, JobStatus
from bienestar.jobs.testing import Worker, clear_queue

ASYNC = {"Prefer": "respond-async"}


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BIENESTAR_HOME", str(tmp_path))
    return tmp_path


def kickoff(client: FhirClient, path: str = "$export", params: Any = None) -> Any:
    return client.get(path, params, **ASYNC)


def raw_get(client: FhirClient, url: str, **headers: str) -> Any:
    path = url.split("testserver", 1)[1]
    return client.client.get(path, headers={**client.headers(), **headers})


def job_of(response: Any) -> ExportJob:
    assert response.status_code == 202, response.json()
    return ExportJob.objects.get(public_id=response["Content-Location"].rsplit("/", 1)[1])


def finished(client: FhirClient, response: Any) -> dict[str, Any]:
    """Run the job inline (the test's transaction holds the data) and read the manifest."""
    job = job_of(response)
    export.run_job(job.pk)
    status = raw_get(client, response["Content-Location"])
    assert status.status_code == 200, status.content
    assert status["Content-Type"].startswith("application/json")
    return status.json()


def lines(client: FhirClient, manifest: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for item in manifest["output"]:
        got = raw_get(client, item["url"], Accept="application/fhir+ndjson")
        assert got.status_code == 200
        assert got["Content-Type"] == "application/fhir+ndjson"
        text = b"".join(got.streaming_content).decode()
        rows = [json.loads(line) for line in text.splitlines()]
        assert len(rows) == item["count"]
        out.setdefault(item["type"], []).extend(rows)
    return out


# --- the whole flow, on a real worker process ---------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_system_export_runs_in_the_background_and_every_line_validates(
    users, record, maria, jose, home
) -> None:
    client = FhirClient(users["integrator"])
    clear_queue()
    worker = Worker(home / "worker.log", name="export-test", env={"BIENESTAR_HOME": str(home)})

    try:
        response = kickoff(client)

        assert response.status_code == 202
        assert response.json()["resourceType"] == "OperationOutcome"
        status_url = response["Content-Location"]
        deadline = time.monotonic() + 240
        while True:
            status = raw_get(client, status_url)
            if status.status_code != 202:
                break
            assert status["Retry-After"]
            assert status.has_header("X-Progress")
            assert time.monotonic() < deadline, f"the export did not finish: {worker.output()}"
            time.sleep(0.2)
    finally:
        worker.stop()
    assert status.status_code == 200, status.content
    manifest = status.json()
    assert manifest["requiresAccessToken"] is True
    assert manifest["request"].endswith("/fhir/$export")
    assert manifest["error"] == []
    assert dt.datetime.fromisoformat(manifest["transactionTime"].replace("Z", "+00:00"))
    exported = lines(client, manifest)
    for resources in exported.values():
        for resource in resources:
            assert_valid(resource)
    assert {
        "Patient",
        "Encounter",
        "Condition",
        "Observation",
        "AllergyIntolerance",
        "Immunization",
        "MedicationRequest",
        "MedicationDispense",
        "Organization",
        "Location",
        "Practitioner",
        "Medication",
    } <= set(exported)
    patients = {p["id"] for p in exported["Patient"]}
    assert str(jose.public_id) in patients
    assert str(maria.public_id) not in patients  # Hidalgo: outside the integrator's territory
    job = ExportJob.objects.get()
    assert job.status == ExportStatus.COMPLETED
    summary = AuditEvent.objects.get(action=AuditAction.EXPORT, resource_type="BulkExport")
    assert summary.query["counts"]["Patient"] == len(patients)
    assert summary.actor == users["integrator"]
    per_person = AuditEvent.objects.filter(action=AuditAction.EXPORT, resource_type="Person")
    assert set(per_person.values_list("resource_id", flat=True)) == patients
    connection.close()


# --- kick-off parameters -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_type_and_since_narrow_the_export(users, record, jose) -> None:
    client = FhirClient(users["integrator"])
    since = timezone.now()
    # Changed after `since` (the row's own clock, as a later write would set it).
    Encounter.objects.filter(pk=record.encounter.pk).update(
        updated_at=since + dt.timedelta(seconds=5)
    )
    params = {"_type": "Encounter,Patient", "_since": since.isoformat().replace("+00:00", "Z")}

    manifest = finished(client, kickoff(client, params=params))

    exported = lines(client, manifest)
    # No file for a type with nothing to export (the IG: no empty outputs).
    assert set(exported) == {"Encounter"}
    assert [e["id"] for e in exported["Encounter"]] == [str(record.encounter.public_id)]


@pytest.mark.django_db
def test_patient_level_exports_the_patient_compartment_only(users, record) -> None:
    client = FhirClient(users["integrator"])

    manifest = finished(client, kickoff(client, "Patient/$export"))

    types = {o["type"] for o in manifest["output"]}
    assert "Patient" in types and "Encounter" in types
    assert not types & {"Organization", "Location", "Practitioner", "Medication"}


@pytest.mark.django_db
def test_group_of_a_facility_and_of_a_territory(users, net, record, jose, maria, geo) -> None:
    client = FhirClient(users["integrator"])

    by_facility = lines(
        client, finished(client, kickoff(client, f"Group/facility-{net.centre.public_id}/$export"))
    )
    by_territory = lines(client, finished(client, kickoff(client, "Group/territory-MX.13/$export")))

    assert [p["id"] for p in by_facility["Patient"]] == [str(jose.public_id)]
    # Hidalgo is outside the integrator's territory: its group is empty for them.
    assert by_territory.get("Patient", []) == []
    missing = kickoff(client, "Group/territory-XX.99/$export")
    assert missing.status_code == 404
    assert kickoff(client, "Group/clinic-1/$export").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "headers", "status"),
    [
        ({}, {}, 400),  # no Prefer: respond-async
        ({"_type": "Claim"}, ASYNC, 400),
        ({"_typeFilter": "Patient?gender=female"}, ASYNC, 400),
        ({"_outputFormat": "text/csv"}, ASYNC, 400),
        ({"_since": "2025-01-01"}, ASYNC, 400),
        ({"_outputFormat": "application/fhir+ndjson"}, ASYNC, 202),
    ],
)
def test_kickoff_refuses_what_it_cannot_honour(users, params, headers, status) -> None:
    response = FhirClient(users["integrator"]).get("$export", params, **headers)

    assert response.status_code == status, response.json()


@pytest.mark.django_db
def test_kickoff_needs_a_token_and_a_role_that_reads_the_types(users) -> None:
    assert kickoff(FhirClient(None)).status_code == 401
    pharmacist = FhirClient(users["pharmacist"])
    assert kickoff(pharmacist, params={"_type": "Encounter"}).status_code == 403
    narrowed = FhirClient(users["integrator"], scopes="system/Patient.read")
    assert kickoff(narrowed, params={"_type": "Encounter"}).status_code == 403
    assert kickoff(narrowed, params={"_type": "Patient"}).status_code == 202
    assert ExportJob.objects.count() == 1


@pytest.mark.django_db
def test_types_the_role_cannot_read_are_reported_in_the_error_file(users, record) -> None:
    client = FhirClient(users["pharmacist"])

    manifest = finished(client, kickoff(client, "Patient/$export"))

    types = {o["type"] for o in manifest["output"]}
    assert {"Patient", "MedicationRequest", "MedicationDispense"} <= types
    assert "Encounter" not in types
    [error] = manifest["error"]
    text = b"".join(raw_get(client, error["url"]).streaming_content).decode()
    outcomes = [json.loads(line) for line in text.splitlines()]
    assert {o["issue"][0]["code"] for o in outcomes} == {"forbidden"}


# --- status, files, cancellation ---------------------------------------------------------------------


@pytest.mark.django_db
def test_only_the_requester_polls_and_downloads(users, record) -> None:
    client = FhirClient(users["integrator"])
    response = kickoff(client, params={"_type": "Patient"})
    manifest = finished(client, response)
    url = manifest["output"][0]["url"]

    other = FhirClient(users["clinician"])
    assert raw_get(other, response["Content-Location"]).status_code == 404
    assert raw_get(other, url).status_code == 404
    anonymous = FhirClient(None)
    assert raw_get(anonymous, url).status_code == 401
    assert raw_get(client, url.replace("Patient-1", "Patient-9")).status_code == 404


@pytest.mark.django_db
def test_a_job_polls_as_in_progress_until_it_runs(users) -> None:
    client = FhirClient(users["integrator"])
    response = kickoff(client)

    status = raw_get(client, response["Content-Location"])

    assert status.status_code == 202
    assert status["X-Progress"]


@pytest.mark.django_db
def test_delete_cancels_and_removes_the_files(users, record, home) -> None:
    client = FhirClient(users["integrator"])
    response = kickoff(client, params={"_type": "Patient"})
    finished(client, response)
    job = ExportJob.objects.get()
    assert any(export.job_dir(job).iterdir())

    with_callbacks = client.client.delete(
        response["Content-Location"].split("testserver", 1)[1], headers=client.headers()
    )

    assert with_callbacks.status_code == 202
    job.refresh_from_db()
    assert job.status == ExportStatus.CANCELLED
    assert raw_get(client, response["Content-Location"]).status_code == 404


@pytest.mark.django_db
def test_a_job_that_failed_on_the_queue_answers_500(users) -> None:
    client = FhirClient(users["integrator"])
    job = job_of(kickoff(client))
    Job.objects.filter(pk=job.job_id).update(status=JobStatus.FAILED, error="Error interno")

    assert raw_get(client, export.status_url(job)).status_code == 500


@pytest.mark.django_db
def test_a_completed_export_run_again_writes_nothing_twice(users, record) -> None:
    """A task retried after its export completed (its worker died just after the commit) finds
    it done: the files and the audit rows exist once."""
    client = FhirClient(users["integrator"])
    response = kickoff(client, params={"_type": "Patient"})
    manifest = finished(client, response)
    job = job_of(response)
    audit = AuditEvent.objects.filter(action=AuditAction.EXPORT).count()
    Job.objects.filter(pk=job.job_id).update(status=JobStatus.RUNNING)  # as a stalled task

    export.run_job(job.pk)

    assert AuditEvent.objects.filter(action=AuditAction.EXPORT).count() == audit
    assert raw_get(client, export.status_url(job)).json() == manifest
    assert Job.objects.get(pk=job.job_id).status == JobStatus.SUCCEEDED


@pytest.mark.django_db
def test_the_queued_task_commits_with_the_export(users) -> None:
    client = FhirClient(users["integrator"])
    job = job_of(kickoff(client))

    queued = ProcrastinateJob.objects.get(id=job.job.queue_job_id)

    assert (queued.task_name, queued.status) == ("fhir.export", "todo")
    assert queued.args == {"job_id": job.job_id, "export_id": job.pk}
