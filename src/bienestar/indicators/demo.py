"""The demo's indicators: a full refresh queued for the worker `bienestar demo` starts, so the
coordinators' dashboards fill in a minute after the server is up (progress at /trabajos/ for
`central`), without making the demo's set-up wait for it."""

from __future__ import annotations

from bienestar.access.actor import Actor
from bienestar.access.models import User
from bienestar.indicators.tasks import KIND
from bienestar.jobs import services as jobs
from bienestar.jobs.models import Job


def queue_indicator_refresh(user: User) -> Job:
    return jobs.start(
        actor=Actor(user=user, channel="cli"),
        kind=KIND,
        title="Recálculo de indicadores (demostración)",
        params={"full": True},
    )
