"""The queue's bench metrics come out positive, each with a positive same-run baseline, and leave
no job behind."""

from __future__ import annotations

import pytest
from procrastinate.contrib.django.models import ProcrastinateJob

from bienestar.jobs.testing import clear_queue, database_url
from bienestar.ops.bench.jobs import job_queue


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_queue_bench_measures_latency_and_throughput(monkeypatch, tmp_path) -> None:
    clear_queue()
    monkeypatch.setenv("DATABASE_URL", database_url())
    monkeypatch.setenv("BIENESTAR_HOME", str(tmp_path))

    found, why = job_queue(samples=5, jobs=40)

    assert why == ""
    for name in ("job_queue_latency_p95_ms", "jobs_per_s"):
        m = found[name]
        assert m["value"] > 0 and m["baseline"] > 0, m
    assert not ProcrastinateJob.objects.filter(queue_name="bench").exists()
