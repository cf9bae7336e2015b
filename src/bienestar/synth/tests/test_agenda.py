"""The demo agenda: reproducible, idempotent, and consistent with the booking rules."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from bienestar.people.tests.factories import PersonFactory
from bienestar.scheduling.models import Appointment
from bienestar.scheduling.tests.factories import unit
from bienestar.synth.agenda import seed_demo_agenda
from bienestar.synth.models import SynthProfile, SynthRun


@pytest.mark.django_db
def test_the_demo_agenda_is_seeded_once_and_never_double_books():
    u = unit()
    run = SynthRun.objects.create(
        seed=1,
        people=3,
        as_of=dt.date(2026, 1, 1),
        generator_version="t",
        started_at=timezone.now(),
    )
    for _ in range(3):
        SynthProfile.objects.create(
            person=PersonFactory(territory=u.territory),
            run=run,
            facility=u.facility,
            height_cm=160,
            weight_kg=70,
            bmi=27,
            systolic_bp=120,
            diastolic_bp=80,
            fasting_glucose=90,
            hba1c=5.4,
        )
    first = seed_demo_agenda(u.clinician, seed=1, fill=1.0)
    assert first > 0
    assert seed_demo_agenda(u.clinician, seed=1, fill=1.0) == 0
    rows = list(Appointment.objects.values_list("schedule_id", "start", "seat", "status"))
    assert len({r[:3] for r in rows}) == len(rows) == first
    now = timezone.now()
    past = Appointment.objects.filter(end__lte=now)
    assert not past.filter(status="booked").exists()  # the past is fulfilled or missed
