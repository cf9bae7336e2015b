"""A network built on one day and topped up on a later one (what `make demo` does when re-run), and
the vaccine doses and allergies the generator writes."""

from __future__ import annotations

import datetime as dt

import pytest

from bienestar.clinical.models import AllergyIntolerance, Encounter, Immunization
from bienestar.ops.checks import CHECKS
from bienestar.synth.activity import load_patients
from bienestar.synth.generate import activity_until, build_network
from bienestar.synth.immunizations import planned_doses
from bienestar.synth.models import SynthRun
from bienestar.synth.tests.test_activity import activity_world
from bienestar.terminology.models import VaccineScheduleEntry

N = 900
SEED = 5
AS_OF = dt.date(2026, 1, 1)
LATER = dt.date(2026, 2, 15)

SCHEDULE = [
    (0, "BCG", "unica", "universal"),
    (2, "Hexavalente acelular", "1", "universal"),
    (4, "Hexavalente acelular", "2", "universal"),
    (6, "Hexavalente acelular", "3", "universal"),
    (12, "SRP", "1", "universal"),
    (18, "SRP", "2", "universal"),
    (6, "Anti influenza estacional", "1", "temporada invernal"),
]


def _schedule() -> None:
    for months, vaccine, dose, condition in SCHEDULE:
        VaccineScheduleEntry.objects.create(
            country="MX",
            age_months=months,
            age_label=f"{months} meses",
            vaccine=vaccine,
            dose=dose,
            condition=condition,
            source="test",
        )


def _doses() -> set[tuple[int, str, str, dt.date]]:
    return set(Immunization.objects.values_list("person_id", "vaccine", "dose", "occurrence_date"))


@pytest.mark.django_db
def test_a_later_run_tops_up_the_missing_days_once_and_keeps_every_invariant():
    activity_world()
    _schedule()
    first = build_network(people=N, seed=SEED, months=2, as_of=AS_OF)
    assert not first.skipped and first.counts["immunizations"] > 0
    encounters = Encounter.objects.count()
    assert not Encounter.objects.filter(start__date__gt=AS_OF).exists()

    later = build_network(people=N, seed=SEED, months=2, as_of=LATER)
    assert later.topped_up_from == AS_OF + dt.timedelta(days=1)
    assert "completada" in later.message
    added = Encounter.objects.filter(start__date__gt=AS_OF)
    assert added.count() == later.counts["encounters"] > 0
    assert Encounter.objects.count() == encounters + added.count()
    assert not Encounter.objects.filter(start__date__gt=LATER).exists()
    run = SynthRun.objects.get()
    assert activity_until(run) == LATER and run.as_of == AS_OF

    # Idempotent: the same day again adds nothing.
    again = build_network(people=N, seed=SEED, months=2, as_of=LATER)
    assert again.skipped and Encounter.objects.count() == encounters + added.count()
    for name, check in CHECKS:
        assert check() == [], name

    # The doses are exactly those of the schedule draws up to the later day: none twice, none
    # lost at the seam, conditional entries (winter season) never given.
    patients = load_patients(run.id)
    entries = list(VaccineScheduleEntry.objects.order_by("age_months", "vaccine", "dose", "id"))
    expected = {
        (p.person_id, e.vaccine, e.dose, day)
        for p in patients
        for e, day in planned_doses(
            seed=SEED, patient=p, entries=entries, reference=AS_OF, until=LATER
        )
    }
    assert _doses() == expected
    assert not Immunization.objects.filter(vaccine="Anti influenza estacional").exists()
    # Card transcriptions before the first window, applied here inside it.
    assert Immunization.objects.filter(primary_source=False).exists()
    assert not Immunization.objects.filter(
        primary_source=False, occurrence_date__gte=dt.date(2025, 11, 1)
    ).exists()
    # Dropout: fewer third doses than first doses; some doses late.
    hexa = Immunization.objects.filter(vaccine="Hexavalente acelular")
    assert hexa.filter(dose="3").count() < hexa.filter(dose="1").count()
    assert Immunization.objects.filter(schedule_fit="late").exists()
    allergies = AllergyIntolerance.objects.count()
    assert 0 < allergies < len(patients) * 0.1


@pytest.mark.django_db
def test_an_earlier_day_than_the_network_is_refused_and_the_same_day_skips():
    activity_world()
    build_network(people=300, seed=SEED, months=1, as_of=AS_OF)
    assert build_network(people=300, seed=SEED, months=1, as_of=AS_OF).skipped
    from bienestar.core.errors import Conflict

    with pytest.raises(Conflict):
        build_network(people=300, seed=SEED, months=1, as_of=AS_OF - dt.timedelta(days=3))
