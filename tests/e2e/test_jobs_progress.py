"""A user watches a long job on /trabajos/ in a real browser: the htmx-polled progress bar moves
while a real worker runs it, the result downloads; another user gets the 404 page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from procrastinate.contrib.django.models import ProcrastinateWorker

from bienestar.access.tests.factories import actor_for
from bienestar.jobs import services
from bienestar.jobs.testing import Worker, clear_queue, wait_for
from bienestar.jobs.tests import tasks_for_tests  # noqa: F401 - registers the test tasks

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_the_progress_bar_moves_and_the_result_downloads(
    page: Any, browser: Any, live_server: Any, sign_in: Any, users: Any, tmp_path: Any, monkeypatch
) -> None:
    monkeypatch.setenv("BIENESTAR_HOME", str(tmp_path))
    clear_queue()
    worker = Worker(
        tmp_path / "worker.log",
        name="browser",
        env={
            "BIENESTAR_HOME": str(tmp_path),
            "BIENESTAR_JOBS_EXTRA_TASKS": "bienestar.jobs.tests.tasks_for_tests",
        },
    )
    try:
        wait_for(ProcrastinateWorker.objects.exists, timeout=120, what="the worker")
        sign_in(page, "clinician")
        job = services.start(
            actor=actor_for(users["clinician"]),
            kind="test.count",
            title="Contar despacio",
            params={"steps": 12, "pause": 0.5},
        )
        page.goto(f"/trabajos/{job.public_id}/")
        bar = page.get_by_test_id("job-progress")
        seen: set[str] = set()
        status = page.get_by_test_id("job-status")
        for _ in range(600):
            value = bar.get_attribute("value") if bar.count() else None
            if value is not None:
                seen.add(value)
            if status.get_attribute("data-status") == "succeeded":
                break
            page.wait_for_timeout(100)
        assert status.get_attribute("data-status") == "succeeded", worker.output()
        assert len(seen - {"0", "100"}) >= 2, seen  # the bar moved in between
        assert page.get_by_test_id("job-percent").inner_text().startswith("100")
        with page.expect_download() as download:
            page.get_by_role("link", name="cuenta.csv").click()
        path = download.value.path()
        assert Path(path).read_text(encoding="utf-8").splitlines()[-1] == "12"
    finally:
        worker.stop()

    context = browser.new_context(base_url=live_server.url)
    other = context.new_page()
    try:
        sign_in(other, "hgo_clinician")
        response = other.goto(f"/trabajos/{job.public_id}/")
        assert response is not None and response.status == 404
        assert "Contar despacio" not in other.content()
    finally:
        context.close()
