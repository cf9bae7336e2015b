"""Scheduled operations on the job queue: partitions of the big tables are created ahead every
night (issue 10, ADR 0013). Archiving old months stays a command an operator runs
(`bienestar partitions archive`): it moves personal data out of the database."""

from __future__ import annotations

from django.db import connection

from bienestar.core.partitioning import DEFAULT_MONTHS_AHEAD, ensure
from bienestar.jobs.progress import Progress
from bienestar.jobs.runner import nightly


@nightly(name="ops.partitions_ensure", title="Particiones de los próximos meses")
def partitions_ensure(progress: Progress, *, timestamp: int) -> None:
    created = ensure(connection, months_ahead=DEFAULT_MONTHS_AHEAD)
    progress.update(len(created), total=len(created), message=f"{len(created)} particiones creadas")
