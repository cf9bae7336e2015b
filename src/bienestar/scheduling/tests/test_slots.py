"""Slots computed from weekly windows in each unit's own time zone."""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

from bienestar.scheduling.slots import (
    DayOff,
    Window,
    parse_slot_id,
    schedule_slots,
    slot_id,
)
from bienestar.scheduling.timezones import zone_for_path

SCHEDULE = uuid.UUID("11111111-2222-3333-4444-555555555555")


def _slots(zone: str, first: dt.date, last: dt.date, **kw):  # type: ignore[no-untyped-def]
    args = {
        "schedule": SCHEDULE,
        "zone": ZoneInfo(zone),
        "windows": [Window(d, dt.time(8, 0), dt.time(10, 0)) for d in range(7)],
        "days_off": [],
        "minutes": 20,
        "capacity": 1,
        "first_day": first,
        "last_day": last,
    }
    args.update(kw)
    return schedule_slots(**args)


def test_a_window_is_cut_into_slots_that_end_by_its_end():
    found = _slots("America/Mexico_City", dt.date(2026, 12, 8), dt.date(2026, 12, 8))
    local = [s.start.astimezone(ZoneInfo("America/Mexico_City")).strftime("%H:%M") for s in found]
    assert local == ["08:00", "08:20", "08:40", "09:00", "09:20", "09:40"]
    # a 25-minute service leaves the last 20 minutes unused rather than overrunning the window
    found = _slots("America/Mexico_City", dt.date(2026, 12, 8), dt.date(2026, 12, 8), minutes=25)
    assert [
        s.start.astimezone(ZoneInfo("America/Mexico_City")).strftime("%H:%M") for s in found
    ] == [
        "08:00",
        "08:25",
        "08:50",
        "09:15",
    ]


def test_days_are_inclusive_and_days_off_are_skipped():
    found = _slots(
        "America/Mexico_City",
        dt.date(2026, 12, 7),
        dt.date(2026, 12, 9),
        days_off=[DayOff(dt.date(2026, 12, 8), dt.date(2026, 12, 8))],
    )
    days = sorted({s.start.astimezone(ZoneInfo("America/Mexico_City")).date() for s in found})
    assert days == [dt.date(2026, 12, 7), dt.date(2026, 12, 9)]


def test_evening_slots_are_found_at_their_local_time_in_each_zone():
    evening = [Window(d, dt.time(19, 0), dt.time(21, 0)) for d in range(7)]
    expected_utc = {
        "America/Cancun": dt.datetime(2026, 12, 9, 0, 30, tzinfo=dt.UTC),
        "America/Tijuana": dt.datetime(2026, 12, 9, 3, 30, tzinfo=dt.UTC),
        "America/Bogota": dt.datetime(2026, 12, 9, 0, 30, tzinfo=dt.UTC),
    }
    for zone, utc in expected_utc.items():
        found = _slots(
            zone, dt.date(2026, 12, 8), dt.date(2026, 12, 8), windows=evening, minutes=30
        )
        s = found[1]
        assert s.start.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M") == "2026-12-08 19:30"
        # stored in UTC on the next calendar day, where naive code loses evening slots
        assert s.start == utc


def test_baja_california_keeps_daylight_saving_and_quintana_roo_does_not():
    evening = [Window(d, dt.time(19, 30), dt.time(20, 0)) for d in range(7)]
    summer, winter = dt.date(2027, 7, 1), dt.date(2027, 1, 15)
    tj_summer = _slots("America/Tijuana", summer, summer, windows=evening, minutes=30)[0]
    tj_winter = _slots("America/Tijuana", winter, winter, windows=evening, minutes=30)[0]
    assert tj_summer.start == dt.datetime(2027, 7, 2, 2, 30, tzinfo=dt.UTC)  # UTC-7 (PDT)
    assert tj_winter.start == dt.datetime(2027, 1, 16, 3, 30, tzinfo=dt.UTC)  # UTC-8 (PST)
    qr_summer = _slots("America/Cancun", summer, summer, windows=evening, minutes=30)[0]
    qr_winter = _slots("America/Cancun", winter, winter, windows=evening, minutes=30)[0]
    assert qr_summer.start == dt.datetime(2027, 7, 2, 0, 30, tzinfo=dt.UTC)
    assert qr_winter.start == dt.datetime(2027, 1, 16, 0, 30, tzinfo=dt.UTC)


def test_the_hour_the_clock_skips_gives_no_slot_and_slots_keep_their_length():
    night = [Window(d, dt.time(1, 0), dt.time(4, 0)) for d in range(7)]
    spring = dt.date(2027, 3, 14)  # the United States' spring forward, followed by Tijuana
    found = _slots("America/Tijuana", spring, spring, windows=night, minutes=60)
    local = [s.start.astimezone(ZoneInfo("America/Tijuana")).strftime("%H:%M") for s in found]
    assert local == ["01:00", "03:00"]
    assert all(s.end - s.start == dt.timedelta(hours=1) for s in found)


def test_slot_ids_round_trip_and_refuse_garbage():
    start = dt.datetime(2026, 12, 9, 1, 30, tzinfo=dt.UTC)
    sid = slot_id(SCHEDULE, start)
    assert len(sid) == 49
    assert parse_slot_id(sid) == (SCHEDULE, start)
    for bad in ["", "x", sid[:-1], sid.replace("-2026", "_2026"), f"{SCHEDULE}-209913321299"]:
        assert parse_slot_id(bad) is None


def test_each_state_has_its_zone():
    assert zone_for_path("MX.23.005") == "America/Cancun"
    assert zone_for_path("MX.02") == "America/Tijuana"
    assert zone_for_path("MX.26.030") == "America/Hermosillo"
    assert zone_for_path("MX.20.067") == "America/Mexico_City"
    assert zone_for_path("CO.11001") == "America/Bogota"
