"""A demo unit's agenda: one bookable service with weekday hours for the demo clinician, and
appointments of the unit's own (synthetic) patients from today to a week ahead — those of today
already in the past fulfilled or missed, those of this hour waiting. Reproducible from the seed and
idempotent: a day that already has appointments is left as it is, so a later run tops up only the
days that are new."""

from __future__ import annotations

import datetime as dt
import random

from django.db import transaction
from django.utils import timezone

from bienestar.access.models import User
from bienestar.people.models import PersonStatus
from bienestar.scheduling import selectors
from bienestar.scheduling.models import (
    Appointment,
    AppointmentOrigin,
    AppointmentStatus,
    AvailabilityRule,
    Schedule,
    Service,
)
from bienestar.scheduling.timezones import facility_zone
from bienestar.synth.models import SynthProfile

SERVICE_NAME = "Consulta de medicina familiar"
DAYS_AHEAD = 7
S = AppointmentStatus


def seed_demo_agenda(user: User, *, seed: int = 1, fill: float = 0.6) -> int:
    """Appointments created for `user`'s unit (0 when it has no unit or practitioner)."""
    unit = user.facility
    if unit is None or user.practitioner_id is None:
        return 0
    zone = facility_zone(unit)
    now = timezone.now()
    today = now.astimezone(zone).date()
    with transaction.atomic():
        service, _ = Service.objects.get_or_create(
            facility=unit, name=SERVICE_NAME, defaults={"slot_minutes": 20, "capacity": 1}
        )
        schedule = Schedule.objects.filter(service=service, practitioner=user.practitioner).first()
        if schedule is None:
            schedule = Schedule.objects.create(
                service=service,
                facility=unit,
                practitioner=user.practitioner,
                valid_from=today - dt.timedelta(days=30),
            )
            AvailabilityRule.objects.bulk_create(
                [
                    AvailabilityRule(
                        schedule=schedule,
                        weekday=d,
                        start_time=dt.time(8),
                        end_time=dt.time(15 if d < 5 else 12),
                    )
                    for d in range(6)
                ]
            )
        patients = list(
            SynthProfile.objects.filter(facility=unit, person__status=PersonStatus.ACTIVE)
            .order_by("person_id")
            .values_list("person_id", flat=True)[:5000]
        )
        if not patients:
            return 0
        schedule = Schedule.objects.select_related("service", "facility__territory").get(
            pk=schedule.pk
        )
        created: list[Appointment] = []
        for offset in range(DAYS_AHEAD + 1):
            day = today + dt.timedelta(days=offset)
            lo = dt.datetime.combine(day, dt.time.min, tzinfo=zone)
            if Appointment.objects.filter(
                schedule=schedule, start__gte=lo, start__lt=lo + dt.timedelta(days=1)
            ).exists():
                continue
            rng = random.Random(f"{seed}:{unit.pk}:{day.isoformat()}")
            for slot in selectors.compute_slots([schedule], day, day):
                if rng.random() > fill:
                    continue
                status, arrived, seen, finished = S.BOOKED, None, None, None
                if slot.end <= now:
                    if rng.random() < 0.12:
                        status = S.NO_SHOW
                    else:
                        arrived = slot.start - dt.timedelta(minutes=rng.randint(0, 25))
                        seen = slot.start + dt.timedelta(minutes=rng.randint(0, 40))
                        finished = seen + dt.timedelta(minutes=rng.randint(10, 20))
                        status = S.FULFILLED
                elif slot.start <= now + dt.timedelta(hours=1):
                    arrived = min(now, slot.start) - dt.timedelta(minutes=rng.randint(5, 30))
                    status = S.ARRIVED
                created.append(
                    Appointment(
                        schedule=schedule,
                        facility=unit,
                        person_id=rng.choice(patients),
                        start=slot.start,
                        end=slot.end,
                        status=status,
                        origin=AppointmentOrigin.BOOKED,
                        arrived_at=arrived,
                        seen_at=seen,
                        finished_at=finished,
                        booked_by="synth",
                    )
                )
        Appointment.objects.bulk_create(created)
    return len(created)
