"""Each unit's own time zone. Slots are defined and shown in the unit's local time and stored in UTC.

Mexico has four zones (plus the border strip that follows the United States' daylight saving);
Colombia has one. A facility may name its zone explicitly (`Facility.time_zone`); otherwise it is
derived from its state, the rule the Mexican time law (Ley de los Husos Horarios, 2022) sets.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, available_timezones

from bienestar.facilities.models import Facility

MEXICO_CITY = "America/Mexico_City"

# INEGI state code → IANA zone. States not listed use central time (America/Mexico_City).
_STATE_ZONES = {
    "02": "America/Tijuana",  # Baja California: Pacific time with United States daylight saving
    "03": "America/Mazatlan",  # Baja California Sur
    "08": "America/Chihuahua",  # Chihuahua (Ciudad Juárez follows the border strip; name it)
    "18": "America/Mazatlan",  # Nayarit (Bahía de Banderas keeps central time; name it)
    "23": "America/Cancun",  # Quintana Roo: UTC-5 all year
    "25": "America/Mazatlan",  # Sinaloa
    "26": "America/Hermosillo",  # Sonora: UTC-7 all year
}
_COUNTRY_ZONES = {"MX": MEXICO_CITY, "CO": "America/Bogota"}


def zone_for_path(path: str) -> str:
    """The zone of a territory path such as `MX.23.005` or `CO.11001.03`."""
    parts = path.split(".")
    country = parts[0]
    if country == "MX" and len(parts) > 1:
        return _STATE_ZONES.get(parts[1], MEXICO_CITY)
    return _COUNTRY_ZONES.get(country, MEXICO_CITY)


def facility_zone(facility: Facility) -> ZoneInfo:
    name = facility.time_zone or zone_for_path(facility.territory.path)
    return ZoneInfo(name)


def is_known_zone(name: str) -> bool:
    return name in available_timezones()


def local_datetime(day: dt.date, at: dt.time, zone: ZoneInfo) -> dt.datetime | None:
    """The instant a wall-clock time on a local day names, or None when the clock skips it (the
    spring-forward gap). An ambiguous time (the autumn repeat) is its first occurrence."""
    naive = dt.datetime.combine(day, at)
    aware = naive.replace(tzinfo=zone, fold=0)
    round_trip = aware.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None)
    if round_trip != naive:
        return None
    return aware
