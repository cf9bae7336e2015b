"""Scheduled stock work on the job queue: the daily stock snapshots (end-of-day usable stock per key
and facility, read by the indicators for stock-out days) are built every night for the days that
ended since the last run (`snapshots.snapshots_catch_up`, idempotent)."""

from __future__ import annotations

from bienestar.inventory.snapshots import snapshots_catch_up
from bienestar.jobs.progress import Progress
from bienestar.jobs.runner import nightly


@nightly(name="inventory.stock_snapshots", title="Existencias al cierre de cada día")
def stock_snapshots(progress: Progress, *, timestamp: int) -> None:
    done = snapshots_catch_up()
    if done is None:
        progress.update(0, total=0, message="Al día")
        return
    start, end, rows = done
    progress.update(rows, total=rows, message=f"{start:%Y-%m-%d} a {end:%Y-%m-%d}: {rows} filas")
