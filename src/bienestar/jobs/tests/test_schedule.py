"""Scheduled jobs: each tick runs once however many workers there are (two real worker processes
schedule the same probe every second), and the nightly retention sweep."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter

import pytest
from django.utils import timezone

from bienestar.access.tests.factories import actor_for
from bienestar.jobs import files, runner, services
from bienestar.jobs.models import Job, JobStatus
from bienestar.jobs.tasks import sweep_results
from bienestar.jobs.testing import Worker, clear_queue
from bienestar.jobs.tests import tasks_for_tests  # noqa: F401 - registers the test tasks


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BIENESTAR_HOME", str(tmp_path))
    return tmp_path


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.django_db(transaction=True)
def test_two_workers_run_each_tick_of_a_scheduled_job_once(home) -> None:
    clear_queue()
    env = {"BIENESTAR_HOME": str(home), "BIENESTAR_JOBS_PROBE_CRON": "* * * * * */1"}
    workers = [Worker(home / f"w{i}.log", name=f"w{i}", env=env) for i in (1, 2)]
    try:
        deadline = time.monotonic() + 200  # a loaded machine starts a worker slowly
        while Job.objects.filter(kind="jobs.probe").count() < 6:
            assert all(w.process.poll() is None for w in workers), [w.output() for w in workers]
            assert time.monotonic() < deadline, [w.output() for w in workers]
            time.sleep(0.2)
    finally:
        for w in workers:
            w.stop()

    ticks = Counter(j.params["timestamp"] for j in Job.objects.filter(kind="jobs.probe"))
    assert len(ticks) >= 6
    assert max(ticks.values()) == 1, ticks  # no tick ran twice
    assert set(Job.objects.filter(kind="jobs.probe").values_list("status", flat=True)) <= {
        JobStatus.SUCCEEDED,
        JobStatus.RUNNING,  # a tick in hand when the workers were stopped
        JobStatus.QUEUED,
    }


@pytest.mark.django_db
def test_the_nightly_sweep_removes_old_results_and_keeps_recent_ones(users, settings) -> None:
    actor = actor_for(users["clinician"])
    old = runner.run_inline(
        services.start(actor=actor, kind="test.count", title="Vieja", params={"steps": 1})
    )
    recent = runner.run_inline(
        services.start(actor=actor, kind="test.count", title="Nueva", params={"steps": 1})
    )
    Job.objects.filter(pk=old.pk).update(
        finished_at=timezone.now() - dt.timedelta(days=settings.JOBS_RETENTION_DAYS + 1)
    )

    sweep_results(timestamp=int(time.time()))

    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.results == [] and not files.job_dir(old.public_id).exists()
    assert recent.results and files.job_dir(recent.public_id).exists()
    sweep = Job.objects.get(kind="jobs.sweep_results")
    assert (sweep.status, sweep.user, sweep.progress_total) == (JobStatus.SUCCEEDED, None, 1)
