"""Vaccine doses against the national schedule, and allergies, for the synthetic network.

Immunizations: every child under 10 with a usual health centre follows the universal entries of the
national schedule (terminology.VaccineScheduleEntry, conditional entries left out). Each dose is
applied with a probability that falls with the dose number (first doses ~95 %, later ones less), and
once a dose of a vaccine is missed the later doses of that vaccine are missed too (dropout); most are
applied in the fortnight after the scheduled age, some weeks later, a few months late (flagged
`late` by the clinical rule `clinical.schedule.fit`). Doses before the activity window are
transcriptions from the vaccination card (`primary_source` false); doses inside it were applied at
the child's health centre.

The draws are per person (a generator seeded from the seed and the person's id) and do not depend on
the window, so a top-up writes exactly the doses a full build up to the later day would hold: those
dated inside [start, until]. Nothing is written twice (the schedule's one-dose-per-person rule holds).

Allergies: a few patients (`ALLERGY_SHARE`) have one, drawn once per person, recorded on a day
inside the first window; top-ups add none.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator, Sequence
from typing import Any

from bienestar.clinical.models import AllergyIntolerance, Immunization
from bienestar.clinical.schedule import add_months, fit, is_universal
from bienestar.synth.activity import Patient, fast_uuid
from bienestar.synth.models import SynthRun
from bienestar.synth.writer import copy_rows
from bienestar.terminology.models import VaccineScheduleEntry

UNDER_MONTHS = 120
FIRST_DOSE = 0.95
LATER_DOSE_LOSS = 0.04
ALLERGY_SHARE = 0.04
# (category, substance, reaction, criticality, weight)
ALLERGIES: tuple[tuple[str, str, str, str, float], ...] = (
    ("medication", "Penicilina", "Urticaria", "high", 0.35),
    ("medication", "Sulfonamidas", "Exantema", "low", 0.1),
    ("medication", "Ácido acetilsalicílico", "Broncoespasmo", "high", 0.08),
    ("food", "Cacahuate", "Angioedema", "high", 0.1),
    ("food", "Mariscos", "Urticaria", "low", 0.12),
    ("food", "Leche de vaca", "Diarrea", "low", 0.08),
    ("environment", "Polen", "Rinitis", "low", 0.1),
    ("environment", "Picadura de abeja", "Anafilaxia", "high", 0.07),
)
_IMMUNIZATION_COLUMNS = [
    "public_id",
    "created_at",
    "updated_at",
    "vaccine",
    "dose",
    "lot",
    "occurrence_date",
    "primary_source",
    "schedule_fit",
    "status",
    "recorded_at",
    "facility_id",
    "person_id",
    "recorded_by_id",
    "schedule_entry_id",
]


def _schedule() -> list[VaccineScheduleEntry]:
    return list(
        VaccineScheduleEntry.objects.filter(country="MX", age_months__lt=UNDER_MONTHS).order_by(
            "age_months", "vaccine", "dose", "id"
        )
    )


def planned_doses(
    *,
    seed: int,
    patient: Patient,
    entries: Sequence[VaccineScheduleEntry],
    reference: dt.date,
    until: dt.date,
) -> Iterator[tuple[VaccineScheduleEntry, dt.date]]:
    """The doses this child (under 10 on the network's `reference` date) receives up to `until`,
    with their dates. The draws do not depend on `until`: a later `until` only adds doses."""
    if add_months(patient.birth, UNDER_MONTHS) <= reference:
        return
    rng = random.Random(f"bienestar.synth/{seed}/immunization/{patient.person_id}")
    missed: set[str] = set()
    given: dict[str, int] = {}
    for entry in entries:
        # Every draw is taken whether or not it is used, so that later doses keep their draws.
        take, delay_kind, days = rng.random(), rng.random(), rng.random()
        if not is_universal(entry, patient.birth) or entry.dose == "anual":
            continue
        if entry.vaccine in missed:
            continue
        probability = FIRST_DOSE - LATER_DOSE_LOSS * given.get(entry.vaccine, 0)
        if take >= probability:
            missed.add(entry.vaccine)
            continue
        scheduled = add_months(patient.birth, entry.age_months)
        if delay_kind < 0.7:
            delay = int(days * 14)
        elif delay_kind < 0.92:
            delay = 14 + int(days * 45)
        else:
            delay = 75 + int(days * 120)
        day = scheduled + dt.timedelta(days=delay)
        given[entry.vaccine] = given.get(entry.vaccine, 0) + 1
        if day <= until:
            yield entry, day


def _recorded(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(10, 0), tzinfo=dt.UTC)


def write_immunizations(
    *,
    run: SynthRun,
    patients: Sequence[Patient],
    start: dt.date,
    until: dt.date,
    user_id: int,
    history: bool,
) -> dict[str, int]:
    """COPY the doses dated in [start, until] (and, with `history`, those before `start`, as
    transcriptions from the card). Returns {"immunizations": rows}."""
    entries = _schedule()
    if not entries:
        return {}
    ids = random.Random(f"bienestar.synth/{run.seed}/immunization/ids/{start.isoformat()}")

    def rows() -> Iterator[Sequence[Any]]:
        for patient in patients:
            for entry, day in planned_doses(
                seed=run.seed, patient=patient, entries=entries, reference=run.as_of, until=until
            ):
                if day < start and not history:
                    continue
                at = _recorded(day)
                yield (
                    fast_uuid(ids),
                    at,
                    at,
                    entry.vaccine,
                    entry.dose,
                    f"L{day:%y%m}-{entry.id % 97:02d}",
                    day,
                    day >= start,
                    fit(entry, birth=patient.birth, on=day),
                    "completed",
                    at,
                    patient.facility_id,
                    patient.person_id,
                    user_id,
                    entry.id,
                )

    return {"immunizations": copy_rows(Immunization, _IMMUNIZATION_COLUMNS, rows())}


def write_allergies(
    *, run: SynthRun, patients: Sequence[Patient], start: dt.date, until: dt.date, user_id: int
) -> dict[str, int]:
    """COPY one allergy for about ALLERGY_SHARE of the patients, recorded inside [start, until]."""
    span = max(1, (until - start).days + 1)
    weights = [a[4] for a in ALLERGIES]
    ids = random.Random(f"bienestar.synth/{run.seed}/allergy/ids")

    def rows() -> Iterator[Sequence[Any]]:
        for patient in patients:
            rng = random.Random(f"bienestar.synth/{run.seed}/allergy/{patient.person_id}")
            if rng.random() >= ALLERGY_SHARE:
                continue
            category, substance, reaction, criticality, _w = rng.choices(ALLERGIES, weights)[0]
            day = start + dt.timedelta(days=rng.randrange(span))
            if day <= patient.birth:
                continue
            at = _recorded(day)
            yield (
                fast_uuid(ids),
                at,
                at,
                substance,
                "allergy",
                category,
                criticality,
                reaction,
                "active",
                None,
                at,
                patient.facility_id,
                patient.person_id,
                user_id,
            )

    columns = [
        "public_id",
        "created_at",
        "updated_at",
        "substance",
        "allergy_type",
        "category",
        "criticality",
        "reaction",
        "status",
        "onset_date",
        "recorded_at",
        "facility_id",
        "person_id",
        "recorded_by_id",
    ]
    return {"allergies": copy_rows(AllergyIntolerance, columns, rows())}
