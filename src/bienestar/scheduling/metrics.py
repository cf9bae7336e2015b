"""Waiting-time and agenda figures of a unit over local days, for its day page and the indicators:
waiting from arrival to being seen (mean, median, p90, share within the service's standard),
no-show rate and utilisation of the offered slots. Read-only."""

from __future__ import annotations

import datetime as dt
import math
import statistics
from dataclasses import dataclass
from typing import Any

from bienestar.access.actor import Actor
from bienestar.access.roles import Permission
from bienestar.scheduling import selectors
from bienestar.scheduling.models import Appointment, AppointmentStatus
from bienestar.scheduling.scope import facility_visible
from bienestar.scheduling.timezones import facility_zone

S = AppointmentStatus


@dataclass(frozen=True)
class WaitFigures:
    seen: int
    mean_minutes: float | None
    median_minutes: float | None
    p90_minutes: float | None
    within_standard: float | None  # share 0-1 seen within the service's standard wait
    no_show_rate: float | None  # no-shows ÷ (booked appointments that are over)
    utilisation: float | None  # seats taken ÷ seats offered


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(math.ceil(0.9 * len(ordered)) - 1, 0)]  # nearest rank


def wait_figures(
    actor: Actor, *, facility: Any, first_day: dt.date, last_day: dt.date
) -> WaitFigures:
    unit = facility_visible(actor, facility, Permission.SCHEDULE_READ)
    zone = facility_zone(unit)
    lo = dt.datetime.combine(first_day, dt.time.min, tzinfo=zone)
    hi = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    rows = list(
        Appointment.objects.filter(facility=unit, start__gte=lo, start__lt=hi).values(
            "status", "arrived_at", "seen_at", "origin", "schedule__service__wait_standard_minutes"
        )
    )
    waits: list[float] = []
    within = 0
    for r in rows:
        if r["arrived_at"] is not None and r["seen_at"] is not None:
            minutes = max((r["seen_at"] - r["arrived_at"]).total_seconds() / 60, 0.0)
            waits.append(minutes)
            within += minutes <= r["schedule__service__wait_standard_minutes"]
    over = [r for r in rows if r["origin"] == "booked" and r["status"] in (S.FULFILLED, S.NO_SHOW)]
    no_shows = sum(1 for r in over if r["status"] == S.NO_SHOW)
    schedules = list(selectors.active_schedules(unit))
    offered = sum(s.capacity for s in selectors.compute_slots(schedules, first_day, last_day))
    taken = sum(1 for r in rows if r["status"] not in (S.CANCELLED, S.ENTERED_IN_ERROR, S.PROPOSED))
    return WaitFigures(
        seen=len(waits),
        mean_minutes=round(statistics.fmean(waits), 1) if waits else None,
        median_minutes=round(statistics.median(waits), 1) if waits else None,
        p90_minutes=round(_p90(waits), 1) if waits else None,
        within_standard=within / len(waits) if waits else None,
        no_show_rate=no_shows / len(over) if over else None,
        utilisation=min(taken / offered, 1.0) if offered else None,
    )
