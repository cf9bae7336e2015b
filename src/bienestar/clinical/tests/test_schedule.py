"""How a dose fits the national schedule, and the status of each scheduled dose for one person."""

from __future__ import annotations

import datetime as dt

import pytest

from bienestar.clinical import schedule
from bienestar.clinical.models import Immunization, ScheduleFit
from bienestar.clinical.tests.factories import SCHEDULE
from bienestar.terminology.models import VaccineScheduleEntry

ENTRIES = [
    VaccineScheduleEntry(
        id=i, country="MX", age_months=m, age_label=label, vaccine=v, dose=d, condition=c
    )
    for i, (m, label, v, d, c) in enumerate(SCHEDULE, start=1)
]
BIRTH = dt.date(2025, 1, 15)


def entry(vaccine: str, dose: str, birth: dt.date = BIRTH) -> VaccineScheduleEntry | None:
    return schedule.matching_entry(ENTRIES, vaccine=vaccine, dose=dose, birth=birth)


@pytest.mark.parametrize(
    ("vaccine", "dose", "on", "expected"),
    [
        ("Hexavalente acelular", "1", dt.date(2025, 3, 15), ScheduleFit.ON_SCHEDULE),
        ("hexavalente ACELULAR", "1", dt.date(2025, 3, 5), ScheduleFit.ON_SCHEDULE),  # within grace
        ("Hexavalente acelular", "1", dt.date(2025, 2, 15), ScheduleFit.EARLY),
        ("Hexavalente acelular", "1", dt.date(2025, 8, 1), ScheduleFit.LATE),
        ("Hexavalente acelular", "4", dt.date(2025, 8, 1), ScheduleFit.NOT_IN_SCHEDULE),
        ("Fiebre amarilla", "1", dt.date(2025, 8, 1), ScheduleFit.NOT_IN_SCHEDULE),
        ("Anti hepatitis B", "Nacimiento", dt.date(2025, 1, 15), ScheduleFit.ON_SCHEDULE),
    ],
)
def test_fit(vaccine, dose, on, expected):
    assert schedule.fit(entry(vaccine, dose), birth=BIRTH, on=on) == expected


def test_birth_cohort_picks_the_right_entry_of_a_shared_dose():
    young = entry("SRP (triple viral)", "2", dt.date(2021, 1, 1))
    old = entry("SRP (triple viral)", "2", dt.date(2019, 1, 1))
    assert young is not None and young.age_months == 18
    assert old is not None and old.age_months == 72


def test_canonical_spelling_and_accents():
    assert schedule.canonical_vaccine("anti HEPATITIS b", ENTRIES) == "Anti hepatitis B"
    assert schedule.canonical_vaccine("  Nueva   vacuna ", ENTRIES) == "Nueva vacuna"
    assert schedule.canonical_dose("Única") == "unica"
    assert schedule.normalize("Neumocócica") == "neumococica"


def test_age_in_months_and_add_months():
    assert schedule.age_in_months(dt.date(2024, 1, 31), dt.date(2024, 2, 29)) == 0
    assert schedule.age_in_months(dt.date(2024, 1, 31), dt.date(2024, 3, 31)) == 2
    assert schedule.add_months(dt.date(2024, 1, 31), 1) == dt.date(2024, 2, 29)


def statuses(birth, today, given=()):
    imms = [
        Immunization(vaccine=v, dose=d, occurrence_date=on, status="completed")
        for v, d, on in given
    ]
    return {
        (d.entry.vaccine, d.entry.dose, d.entry.age_months): d.status
        for d in schedule.schedule_status(ENTRIES, imms, birth=birth, today=today)
    }


def test_status_of_each_dose_for_a_seven_month_old():
    out = statuses(
        BIRTH,
        dt.date(2025, 8, 1),
        given=[
            ("BCG", "unica", dt.date(2025, 1, 16)),
            ("Hexavalente acelular", "1", dt.date(2025, 3, 15)),
        ],
    )
    assert out[("BCG", "unica", 0)] == "applied"
    assert out[("Anti hepatitis B", "nacimiento", 0)] == "overdue"
    assert out[("Hexavalente acelular", "1", 2)] == "applied"
    assert out[("Hexavalente acelular", "2", 4)] == "overdue"  # due 2025-05-15, a month passed
    assert out[("Hexavalente acelular", "3", 6)] == "due"  # due 2025-07-15, within its month
    assert out[("Anti influenza estacional", "1", 6)] == "conditional"
    assert out[("SRP (triple viral)", "1", 12)] == "upcoming"
    assert out[("SRP (triple viral)", "2", 18)] == "upcoming"  # born after July 2020
    assert out[("SRP (triple viral)", "2", 72)] == "not_applicable"


def test_adults_missing_childhood_doses_are_not_recorded_not_overdue():
    out = statuses(dt.date(1970, 1, 1), dt.date(2025, 1, 1))
    assert out[("BCG", "unica", 0)] == "not_recorded"
    assert out[("Anti influenza estacional", "anual", 60)] == "conditional"
    assert out[("SRP (triple viral)", "2", 18)] == "not_applicable"


def test_annual_dose_counts_for_a_year():
    birth = dt.date(2018, 1, 1)
    recent = statuses(
        birth,
        dt.date(2025, 12, 1),
        given=[("Anti influenza estacional", "anual", dt.date(2025, 11, 1))],
    )
    old = statuses(
        birth,
        dt.date(2025, 12, 1),
        given=[("Anti influenza estacional", "anual", dt.date(2024, 10, 1))],
    )
    assert recent[("Anti influenza estacional", "anual", 60)] == "applied"
    assert old[("Anti influenza estacional", "anual", 60)] == "conditional"
