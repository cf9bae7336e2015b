"""The indicator refresh as background jobs: on request (`indicators.refresh`, with progress) and
every night (`indicators.nightly_refresh`: a full rebuild, which also catches what an incremental
run could miss; see refresh.py). Never inside a web request."""

from __future__ import annotations

from bienestar.indicators.refresh import refresh
from bienestar.jobs.progress import Progress
from bienestar.jobs.runner import job_task, nightly

KIND = "indicators.refresh"


def _reporter(progress: Progress):  # type: ignore[no-untyped-def]
    def report(step: int, total: int, label: str) -> None:
        progress.update(step, total=total, message=label, force=True)

    return report


@job_task(name=KIND)
def refresh_job(progress: Progress, *, full: bool = False, engine: str = "duckdb") -> None:
    """Idempotent: a run interrupted and run again recomputes the same periods (the aggregates of a
    run are replaced in one transaction)."""
    refresh(full=full, engine=engine, progress=_reporter(progress))


@nightly(name="indicators.nightly_refresh", title="Recálculo nocturno de indicadores")
def nightly_refresh(progress: Progress, *, timestamp: int) -> None:
    refresh(full=True, progress=_reporter(progress))
