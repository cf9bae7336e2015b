"""Slots computed on the fly from a schedule's weekly rules and exceptions, in the unit's time zone.

Pure functions over plain data: no queries here, so a unit's eight weeks for twenty practitioners
are computed from three queries in the selector.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bienestar.scheduling.timezones import local_datetime

SLOT_ID_TIME = "%Y%m%d%H%M"


@dataclass(frozen=True)
class Window:
    weekday: int
    start: dt.time
    end: dt.time


@dataclass(frozen=True)
class DayOff:
    first_day: dt.date
    last_day: dt.date

    def covers(self, day: dt.date) -> bool:
        return self.first_day <= day <= self.last_day


@dataclass(frozen=True)
class Slot:
    schedule: uuid.UUID
    start: dt.datetime  # aware
    end: dt.datetime
    capacity: int
    taken: int = 0

    @property
    def free(self) -> int:
        return max(self.capacity - self.taken, 0)

    @property
    def slot_id(self) -> str:
        return slot_id(self.schedule, self.start)


def slot_id(schedule: uuid.UUID, start: dt.datetime) -> str:
    """`<schedule uuid>-<UTC start YYYYMMDDHHMM>`: opaque, stable, a valid FHIR id (49 chars)."""
    return f"{schedule}-{start.astimezone(dt.UTC).strftime(SLOT_ID_TIME)}"


def parse_slot_id(value: str) -> tuple[uuid.UUID, dt.datetime] | None:
    value = (value or "").strip()
    if len(value) != 49 or value[36] != "-":
        return None
    try:
        schedule = uuid.UUID(value[:36])
        start = dt.datetime.strptime(value[37:], SLOT_ID_TIME).replace(tzinfo=dt.UTC)
    except ValueError:
        return None
    return schedule, start


def days(first: dt.date, last: dt.date) -> Iterator[dt.date]:
    day = first
    while day <= last:
        yield day
        day += dt.timedelta(days=1)


def schedule_slots(
    *,
    schedule: uuid.UUID,
    zone: ZoneInfo,
    windows: Iterable[Window],
    days_off: Iterable[DayOff],
    minutes: int,
    capacity: int,
    first_day: dt.date,
    last_day: dt.date,
    valid_from: dt.date | None = None,
    valid_to: dt.date | None = None,
) -> list[Slot]:
    """Every slot of one schedule on the local days `first_day`..`last_day`, in order.

    A window `08:00-10:00` with 20-minute slots gives 08:00, 08:20, … 09:40 (a slot must end by the
    window's end). Wall-clock times the clock skips (the spring-forward hour) give no slot.
    """
    by_weekday: dict[int, list[Window]] = {}
    for w in windows:
        by_weekday.setdefault(w.weekday, []).append(w)
    offs = list(days_off)
    step = dt.timedelta(minutes=minutes)
    out: list[Slot] = []
    for day in days(first_day, last_day):
        if valid_from is not None and day < valid_from:
            continue
        if valid_to is not None and day > valid_to:
            continue
        todays = by_weekday.get(day.weekday())
        if not todays or any(off.covers(day) for off in offs):
            continue
        for w in sorted(todays, key=lambda w: w.start):
            cursor = dt.datetime.combine(day, w.start)
            window_end = dt.datetime.combine(day, w.end)
            while cursor + step <= window_end:
                local = local_datetime(day, cursor.time(), zone)
                if local is not None:
                    start = local.astimezone(dt.UTC)
                    out.append(
                        Slot(schedule=schedule, start=start, end=start + step, capacity=capacity)
                    )
                cursor += step
    return out
