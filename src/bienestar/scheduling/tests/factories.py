"""A unit with an agenda, in any state's time zone."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bienestar.access.models import User
from bienestar.access.roles import Role
from bienestar.access.tests.factories import UserFactory
from bienestar.facilities.models import Facility
from bienestar.facilities.tests.factories import FacilityFactory
from bienestar.scheduling.models import AvailabilityRule, Schedule, Service
from bienestar.territories.models import Territory
from bienestar.territories.tests.factories import state
from bienestar.workforce.tests.factories import PractitionerFactory


@dataclass
class Unit:
    territory: Territory
    facility: Facility
    service: Service
    schedule: Schedule
    clinician: User


def unit(
    code: str = "20",
    name: str = "Oaxaca",
    *,
    windows: tuple[tuple[int, dt.time, dt.time], ...] | None = None,
    minutes: int = 30,
    capacity: int = 1,
    valid_from: dt.date = dt.date(2020, 1, 1),
    username: str | None = None,
) -> Unit:
    territory = state(code, name)
    facility = FacilityFactory(territory=territory)
    service = Service.objects.create(
        facility=facility, name="Medicina familiar", slot_minutes=minutes, capacity=capacity
    )
    practitioner = PractitionerFactory()
    schedule = Schedule.objects.create(
        service=service, facility=facility, practitioner=practitioner, valid_from=valid_from
    )
    for weekday, start, end in windows or tuple(
        (d, dt.time(8, 0), dt.time(21, 0)) for d in range(7)
    ):
        AvailabilityRule.objects.create(
            schedule=schedule, weekday=weekday, start_time=start, end_time=end
        )
    clinician = UserFactory(
        username=username or f"medico_{code}",
        role=Role.CLINICIAN,
        territory=territory,
        facility=facility,
        practitioner=practitioner,
    )
    return Unit(territory, facility, service, schedule, clinician)
