"""The doors of a user's jobs (JSON API and pages), with a real worker process: a user starts a
long job, sees its progress move, downloads the result; another user cannot see any of it."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client

from bienestar.access.models import AuditEvent
from bienestar.access.tests.factories import actor_for
from bienestar.jobs import runner, services
from bienestar.jobs.models import Job, JobStatus
from bienestar.jobs.testing import Worker, clear_queue
from bienestar.jobs.tests import tasks_for_tests  # noqa: F401 - registers the test tasks

CSV = "paso\n" + "".join(f"{i}\n" for i in range(1, 9))


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BIENESTAR_HOME", str(tmp_path))
    return tmp_path


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.django_db(transaction=True)
def test_a_user_watches_a_long_job_progress_and_downloads_its_result(users, home) -> None:
    clear_queue()
    owner, other = users["clinician"], users["other_state_clinician"]
    worker = Worker(
        home / "worker.log",
        name="doors",
        env={
            "BIENESTAR_HOME": str(home),
            "BIENESTAR_JOBS_EXTRA_TASKS": "bienestar.jobs.tests.tasks_for_tests",
        },
    )
    api = signed_in(owner)
    try:
        job = services.start(
            actor=actor_for(owner),
            kind="test.count",
            title="Contar despacio",
            params={"steps": 8, "pause": 0.4},
            personal_data=True,
        )
        seen: list[tuple[str, int]] = []
        deadline = time.monotonic() + 200
        while True:
            body = api.get(f"/api/jobs/{job.public_id}").json()
            seen.append((body["status"], body["done"]))
            if body["status"] in ("succeeded", "failed"):
                break
            assert time.monotonic() < deadline, worker.output()
            time.sleep(0.15)
    finally:
        worker.stop()

    assert body["status"] == "succeeded", (body, worker.output())
    assert (body["done"], body["total"], body["percent"]) == (8, 8, 100.0)
    running = [done for status, done in seen if status == "running"]
    assert len(set(running)) >= 3, seen  # the bar moved while it ran
    assert running == sorted(running)
    [result] = body["results"]
    assert result["name"] == "cuenta.csv"

    download = api.get(result["url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content).decode() == CSV
    assert AuditEvent.objects.filter(resource_type="JobResult", actor=owner).count() == 1
    listed = api.get("/api/jobs/").json()
    assert [j["public_id"] for j in listed["items"]] == [str(job.public_id)]

    # Another user: nothing, everywhere; and nothing changes.
    intruder = signed_in(other)
    assert intruder.get("/api/jobs/").json()["items"] == []
    assert intruder.get(f"/api/jobs/{job.public_id}").status_code == 404
    assert intruder.get(result["url"]).status_code == 404
    assert intruder.delete(f"/api/jobs/{job.public_id}").status_code == 404
    assert intruder.get(f"/trabajos/{job.public_id}/").status_code == 404
    assert intruder.get(f"/trabajos/{job.public_id}/archivos/cuenta.csv").status_code == 404
    assert intruder.post(f"/trabajos/{job.public_id}/cancelar/").status_code == 404
    assert Job.objects.get(pk=job.pk).status == JobStatus.SUCCEEDED
    assert AuditEvent.objects.filter(resource_type="JobResult").count() == 1
    assert Client().get(f"/api/jobs/{job.public_id}").status_code == 401


@pytest.mark.django_db
def test_the_page_polls_while_running_and_stops_when_done(users) -> None:
    owner = users["clinician"]
    job = services.start(
        actor=actor_for(owner), kind="test.count", title="Contar", params={"steps": 3}
    )
    client = signed_in(owner)

    page = client.get("/trabajos/")
    assert page.status_code == 200
    assert "Contar" in page.content.decode()
    running = client.get(f"/trabajos/{job.public_id}/", headers={"HX-Request": "true"})
    assert running.status_code == 200
    assert 'hx-trigger="every 1s"' in running.content.decode()

    runner.run_inline(job)

    done = client.get(
        f"/trabajos/{job.public_id}/", headers={"HX-Request": "true"}
    ).content.decode()
    assert "hx-trigger" not in done
    assert 'value="100"' in done
    assert f"/trabajos/{job.public_id}/archivos/cuenta.csv" in done
    file = client.get(f"/trabajos/{job.public_id}/archivos/cuenta.csv")
    assert b"".join(file.streaming_content).decode() == "paso\n1\n2\n3\n"
    assert client.get(f"/trabajos/{job.public_id}/archivos/otro.csv").status_code == 404


@pytest.mark.django_db
def test_the_owner_cancels_from_the_page_and_the_api(users) -> None:
    owner = users["clinician"]
    client = signed_in(owner)
    first = services.start(
        actor=actor_for(owner), kind="test.count", title="A", params={"steps": 1}
    )
    second = services.start(
        actor=actor_for(owner), kind="test.count", title="B", params={"steps": 1}
    )

    assert client.post(f"/trabajos/{first.public_id}/cancelar/").status_code == 302
    assert client.delete(f"/api/jobs/{second.public_id}").json()["status"] == "cancelled"

    assert set(Job.objects.values_list("status", flat=True)) == {JobStatus.CANCELLED}
    assert runner.run_inline(first).attempts == 0


@pytest.mark.django_db
def test_anonymous_is_sent_to_log_in(users) -> None:
    job = services.start(
        actor=actor_for(users["clinician"]), kind="test.count", title="A", params={"steps": 1}
    )
    assert Client().get("/trabajos/").status_code == 302
    assert Client().get(f"/trabajos/{job.public_id}/").status_code == 302
