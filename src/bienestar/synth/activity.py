"""Months of clinical activity consistent with each synthetic person's ground truth (`SynthProfile`).

Who comes: the network's own population, the people without social security (IMSS-Bienestar's
mandate), and a share (`INSURED_USE_SHARE`) of the insured, who mostly use IMSS, ISSSTE and the
other institutions. Everyone else has a profile but no activity.

When (the window is the `months` before the run's `as_of`, `as_of` included):
- a person with diagnosed diabetes or hypertension comes for follow-up every 1, 2 or 3 months (fixed
  per person; about one visit in ten is missed, never the first), from the day of diagnosis when it
  falls inside the window; the oldest are sometimes seen at home;
- a woman pregnant on `as_of` comes for prenatal care from her first visit (6-13 weeks of gestation):
  monthly to week 28, fortnightly to 36, weekly after;
- anyone may come for an acute problem (respiratory infection, diarrhoea, urinary infection…) at a
  rate by age (regimens.ACUTE_RATE_BY_AGE).
Everyone is seen at their usual health centre (`SynthProfile.facility`) by a doctor who holds a
position there (their own doctor for follow-ups), or with no practitioner when the centre has none.

What is recorded: a finished encounter, its diagnoses in CIE-10 (the principal one is the reason
code), vital signs around the person's true values (blood pressure and glucose with visit-to-visit
noise, weight and height and the BMI computed from them exactly as the clinical service does; growth
for children; weight gain in pregnancy), and a prescription from the national catalogue (see
regimens.py). Dispensing and stock are simulated afterwards, per pharmacy, in `pharmacy.py`.

Reproducible: persons are taken in id order (their generation order) and every draw comes from
generators seeded from the run's seed; public ids and verification codes come from their own seeded
generators. No clock, no `uuid4`, no `secrets`.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import connection

from bienestar.clinical.vitals import VITALS, compute_bmi
from bienestar.prescribing import codes as prescription_codes
from bienestar.prescribing.models import validity_days
from bienestar.synth import regimens as rx
from bienestar.synth.health import CHILD_BMI_MEDIAN, HEIGHT_MEDIAN, interpolate

# Share of people with social security who use the network's health centres anyway.
INSURED_USE_SHARE = 0.15
MISSED_VISIT = 0.1
HOME_VISIT_AGE = 75
HOME_VISIT_SHARE = 0.15
# Follow-up interval in months and its share among chronic patients.
INTERVALS = ((1, 0.5), (2, 0.3), (3, 0.2))
YEAR = 365.2425


def fast_uuid(rng: random.Random) -> str:
    """A version-4 UUID as text, from a seeded generator (the text PostgreSQL prints for it)."""
    n = rng.getrandbits(128)
    n = (n & ~(0xF000 << 64)) | (0x4000 << 64)  # version 4
    n = (n & ~(0xC000 << 48)) | (0x8000 << 48)  # RFC 4122 variant
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@dataclass(slots=True)
class Patient:
    """What the generator knows of a person (from SynthProfile and Person), in plain floats."""

    person_id: int
    facility_id: int
    sex: str
    birth: dt.date
    height: float
    weight: float
    bmi: float
    obesity: bool
    diabetes_since: dt.date | None  # set only when diagnosed
    hypertension_since: dt.date | None
    systolic: int
    diastolic: int
    glucose: int
    hba1c: float
    pregnancy_weeks: int | None  # on as_of, when pregnant
    insured: bool  # affiliated to a social-security institution


@dataclass(slots=True)
class PlannedEncounter:
    index: int
    public_id: str
    person_id: int
    facility_id: int
    practitioner_id: int | None
    encounter_class: str
    reason_text: str
    reason_code: str | None
    start: dt.datetime
    end: dt.datetime


@dataclass(slots=True)
class PlannedLine:
    index: int  # position in the run's flat list of lines (ids are reserved in this order)
    public_id: str
    position: int
    medicine: str
    dose: str
    frequency: str
    duration_days: int
    quantity: int
    dispensed: int = 0
    fully_at: dt.datetime | None = None

    @property
    def remaining(self) -> int:
        return self.quantity - self.dispensed

    @property
    def status(self) -> str:
        if self.dispensed == 0:
            return "pending"
        return "completed" if self.dispensed == self.quantity else "partially_dispensed"


@dataclass(slots=True)
class PlannedPrescription:
    index: int
    public_id: str
    code: str
    person_id: int
    facility_id: int
    encounter: int
    prescriber_id: int | None
    authored_at: dt.datetime
    valid_until: dt.date
    lines: list[PlannedLine]

    def status_on(self, as_of: dt.date) -> str:
        """What the record says on `as_of`, once the nightly expiry job has run up to that day."""
        if all(line.remaining == 0 for line in self.lines):
            return "completed"
        if self.valid_until < as_of:
            return "expired"
        if any(line.dispensed for line in self.lines):
            return "partially_dispensed"
        return "active"


# (encounter, person, facility, code, clinical status, rank, onset, abatement, recorded_at, public id)
ConditionRow = tuple[int, int, int, str, str, int, dt.date | None, dt.date | None, dt.datetime, str]
# A blood-pressure panel: (encounter, person, facility, effective_at, public id)
PanelRow = tuple[int, int, int, dt.datetime, str]
# (encounter, panel index or None, person, facility, LOINC, value, unit, derived, at, public id)
ObservationRow = tuple[int, int | None, int, int, str, str, str, bool, dt.datetime, str]


@dataclass
class Plan:
    encounters: list[PlannedEncounter] = field(default_factory=list)
    conditions: list[ConditionRow] = field(default_factory=list)
    panels: list[PanelRow] = field(default_factory=list)
    observations: list[ObservationRow] = field(default_factory=list)
    prescriptions: list[PlannedPrescription] = field(default_factory=list)
    lines: int = 0


class CodeBook:
    """CIE-10 codes as loaded: a 4-character code, else its 3-character category, else nothing."""

    def __init__(self, present: Iterable[str]) -> None:
        self.present = set(present)

    def get(self, code: str) -> str | None:
        if code in self.present:
            return code
        category = code.split(".")[0]
        return category if category in self.present else None


def load_patients(run_id: int) -> list[Patient]:
    """The run's people who have a usual health centre, in id order."""
    sql = """
        SELECT s.person_id, s.facility_id, p.sex, p.birth_date, s.height_cm::float8,
               s.weight_kg::float8, s.bmi::float8, s.obesity,
               CASE WHEN s.diabetes_diagnosed THEN s.diabetes_since END,
               CASE WHEN s.hypertension_diagnosed THEN s.hypertension_since END,
               s.systolic_bp, s.diastolic_bp, s.fasting_glucose, s.hba1c::float8,
               CASE WHEN s.pregnant THEN s.pregnancy_weeks END,
               EXISTS (SELECT 1 FROM people_personaffiliation a WHERE a.person_id = s.person_id
                       AND a.scheme <> 'none' AND a."end" IS NULL)
        FROM synth_synthprofile s JOIN people_person p ON p.id = s.person_id
        WHERE s.run_id = %s AND s.facility_id IS NOT NULL
        ORDER BY s.person_id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [run_id])
        return [Patient(*row) for row in cursor.fetchall()]


def load_doctors(facility_ids: list[int]) -> dict[int, list[int]]:
    """Per facility, the practitioners holding a medical position there (nurses do not prescribe)."""
    sql = """
        SELECT DISTINCT p.facility_id, p.practitioner_id
        FROM workforce_position p JOIN workforce_specialty s ON s.id = p.specialty_id
        WHERE p.practitioner_id IS NOT NULL AND s.is_medical AND p.facility_id = ANY(%s)
        ORDER BY 1, 2
    """
    out: dict[int, list[int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, [facility_ids])
        for facility_id, practitioner_id in cursor.fetchall():
            out.setdefault(facility_id, []).append(practitioner_id)
    return out


def _weekday(day: dt.date) -> dt.date:
    """Health centres see scheduled patients on weekdays: a weekend date moves to Monday."""
    wd = day.weekday()
    return day + dt.timedelta(days=7 - wd) if wd >= 5 else day


def _months_back(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 - months
    year = day.year + month // 12
    month = month % 12 + 1
    return dt.date(year, month, min(day.day, 28))


def _clamp(value: float, low: float, high: float) -> float:
    return low if value < low else high if value > high else value


class Planner:
    """Plans every person's encounters in the window, in order (see the module docstring)."""

    def __init__(
        self,
        *,
        seed: int | str,
        as_of: dt.date,
        months: int,
        codes: CodeBook,
        medicines: set[str],
        doctors: dict[int, list[int]],
        tz: ZoneInfo,
        start: dt.date | None = None,
        reference: dt.date | None = None,
    ) -> None:
        # The window is [start, as_of]; a top-up passes its own start (the day after the last one)
        # and the network's reference date, on which the profiles (pregnancy weeks) are stated.
        self.as_of = as_of
        self.start = start if start is not None else _months_back(as_of, months)
        self.reference = reference if reference is not None else as_of
        self.months = months
        self.codes = codes
        self.medicines = medicines
        self.doctors = doctors
        self.tz = tz
        self.validity = dt.timedelta(days=validity_days())
        self.rng = random.Random(f"bienestar.synth/{seed}/activity")
        self.ids = random.Random(f"bienestar.synth/{seed}/activity/ids")
        self.code_rng = random.Random(f"bienestar.synth/{seed}/activity/codes")
        self.users_rng = random.Random(f"bienestar.synth/{seed}/activity/users")
        self.issued_codes: set[str] = set()
        self.plan = Plan()
        self.month_starts = []
        first = dt.date(self.start.year, self.start.month, 1)
        while first <= as_of:
            self.month_starts.append(first)
            first = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
        episode_weights = [[e.weights[g] for e in rx.EPISODES] for g in range(4)]
        self.episode_weights = [
            [w if self.codes.get(e.code) else 0.0 for w, e in zip(ws, rx.EPISODES, strict=True)]
            for ws in episode_weights
        ]

    # --- per person -------------------------------------------------------------------------------

    def uses_network(self, p: Patient) -> bool:
        """Drawn for everyone, in order, so that the share can change without moving other draws."""
        draw = self.users_rng.random()
        return not p.insured or draw < INSURED_USE_SHARE

    def add(self, p: Patient) -> None:
        if not self.uses_network(p):
            return
        rng = self.rng
        doctors = self.doctors.get(p.facility_id, [])
        own_doctor = rng.choice(doctors) if doctors else None
        self._chronic(p, own_doctor)
        self._prenatal(p, own_doctor)
        self._acute(p, doctors)

    def _age(self, p: Patient, day: dt.date) -> float:
        return (day - p.birth).days / YEAR

    def _lmp(self, p: Patient) -> dt.date | None:
        if p.pregnancy_weeks is None:
            return None
        return self.reference - dt.timedelta(weeks=p.pregnancy_weeks)

    def _pregnant_on(self, p: Patient, day: dt.date) -> bool:
        lmp = self._lmp(p)
        return lmp is not None and day >= lmp

    def _chronic(self, p: Patient, doctor: int | None) -> None:
        rng = self.rng
        sinces = [d for d in (p.diabetes_since, p.hypertension_since) if d is not None]
        if not sinces:
            return
        interval = rng.choices([k for k, _ in INTERVALS], [w for _, w in INTERVALS])[0]
        regimen = self._regimen(p)
        diabetes_code = rx.DIABETES
        long_standing = p.diabetes_since and (self.as_of - p.diabetes_since).days >= 8 * YEAR
        if long_standing and rng.random() < 0.35:
            diabetes_code = rng.choice(rx.DIABETES_COMPLICATED)
        obesity_noted = p.obesity and rng.random() < 0.6
        first_since = min(sinces)
        step = interval * 30
        if first_since >= self.start:
            day = first_since  # the visit where the first condition was diagnosed
        else:
            span = min(step, (self.as_of - self.start).days + 1)
            day = self.start + dt.timedelta(days=rng.randrange(span))
            # The first visit always falls inside the window, on a weekend if it must.
            day = _weekday(day) if _weekday(day) <= self.as_of else day
        first = True
        last_hba1c: dt.date | None = None
        while day <= self.as_of:
            if first or rng.random() >= MISSED_VISIT:
                last_hba1c = self._chronic_visit(
                    p,
                    day,
                    doctor,
                    regimen=regimen,
                    diabetes_code=diabetes_code,
                    obesity=obesity_noted,
                    supply_days=step,
                    last_hba1c=last_hba1c,
                )
            first = False
            day = _weekday(day + dt.timedelta(days=step + rng.randint(-5, 5)))

    def _regimen(self, p: Patient) -> list[tuple[rx.Drug, str]]:
        """The person's treatment, each drug with the condition it treats ("dm" or "ht")."""
        rng = self.rng
        age = self._age(p, self.as_of)
        drugs: list[tuple[rx.Drug, str]] = []
        if p.diabetes_since:
            drugs.append((rx.METFORMIN, "dm"))
            if p.glucose >= 160 and rng.random() < 0.6:
                drugs.append((rx.GLIBENCLAMIDE, "dm"))
            if p.glucose >= 250 and rng.random() < 0.5:
                drugs.append((rx.INSULIN_NPH, "dm"))
            if age >= 40 and rng.random() < 0.45:
                drugs.append((rx.ATORVASTATIN, "dm"))
        if p.hypertension_since:
            drugs.append((rx.ENALAPRIL if rng.random() < 0.55 else rx.LOSARTAN, "ht"))
            if p.systolic >= 145 and rng.random() < 0.6:
                drugs.append(
                    (rx.HYDROCHLOROTHIAZIDE if rng.random() < 0.5 else rx.AMLODIPINE, "ht")
                )
        return drugs

    def _chronic_visit(
        self,
        p: Patient,
        day: dt.date,
        doctor: int | None,
        *,
        regimen: list[tuple[rx.Drug, str]],
        diabetes_code: str,
        obesity: bool,
        supply_days: int,
        last_hba1c: dt.date | None,
    ) -> dt.date | None:
        rng = self.rng
        has_dm = p.diabetes_since is not None and p.diabetes_since <= day
        has_ht = p.hypertension_since is not None and p.hypertension_since <= day
        pregnant = self._pregnant_on(p, day)
        diagnoses: list[tuple[str, dt.date | None]] = []
        if has_dm:
            diagnoses.append((diabetes_code, p.diabetes_since))
        if has_ht:
            diagnoses.append((rx.HYPERTENSION, p.hypertension_since))
        if obesity:
            diagnoses.append((rx.OBESITY, None))
        if has_dm and has_ht:
            reason = "Control de diabetes mellitus tipo 2 e hipertensión arterial"
        elif has_dm:
            reason = "Control de diabetes mellitus tipo 2"
        else:
            reason = "Control de hipertensión arterial"
        home = self._age(p, day) >= HOME_VISIT_AGE and rng.random() < HOME_VISIT_SHARE
        enc = self._encounter(p, day, doctor, "home" if home else "ambulatory", reason, diagnoses)
        if enc is None:
            return last_hba1c
        values = self._body(p, day)
        values.update(self._blood_pressure(p))
        values["heart_rate"] = str(round(_clamp(rng.gauss(76, 9), 45, 130)))
        if has_dm or rng.random() < 0.3:
            values["glucose"] = self._glucose(p)
        if has_dm and (last_hba1c is None or (day - last_hba1c).days >= 80):
            values["hba1c"] = f"{_clamp(p.hba1c + rng.gauss(0, 0.3), 4.0, 16.0):.1f}"
            last_hba1c = day
        self._observations(enc, values)
        lines = []
        for drug, condition in regimen:
            if (condition == "dm" and not has_dm) or (condition == "ht" and not has_ht):
                continue
            if pregnant and drug.key not in PREGNANCY_SAFE:
                continue
            quantity = max(1, math.ceil(drug.per_day * supply_days - 1e-9))
            lines.append((drug.key, drug.dose, drug.frequency, supply_days, quantity))
        self._prescribe(enc, lines)
        return last_hba1c

    def _prenatal(self, p: Patient, doctor: int | None) -> None:
        lmp = self._lmp(p)
        if lmp is None:
            return
        rng = self.rng
        weeks = rng.randint(6, 13)
        young = self._age(p, lmp) < 16
        while True:
            day = _weekday(lmp + dt.timedelta(days=weeks * 7 + rng.randint(-2, 2)))
            if day > self.as_of or weeks > 41:  # a top-up long after the reference date
                break
            if day >= self.start:
                self._prenatal_visit(p, day, doctor, young=young)
            weeks += 4 if weeks < 28 else 2 if weeks < 36 else 1

    def _prenatal_visit(self, p: Patient, day: dt.date, doctor: int | None, *, young: bool) -> None:
        rng = self.rng
        has_dm = p.diabetes_since is not None and p.diabetes_since <= day
        has_ht = p.hypertension_since is not None and p.hypertension_since <= day
        diagnoses: list[tuple[str, dt.date | None]] = []
        if has_dm or has_ht:
            diagnoses.append((rx.PRENATAL_HIGH_RISK, self._lmp(p)))
        elif young:
            diagnoses.append((rx.PRENATAL_VERY_YOUNG, self._lmp(p)))
        else:
            diagnoses.append((rx.PRENATAL, self._lmp(p)))
        if has_dm:
            diagnoses += [(rx.PREGNANCY_DIABETES, self._lmp(p)), (rx.DIABETES, p.diabetes_since)]
        if has_ht:
            diagnoses += [
                (rx.PREGNANCY_HYPERTENSION, self._lmp(p)),
                (rx.HYPERTENSION, p.hypertension_since),
            ]
        enc = self._encounter(p, day, doctor, "ambulatory", "Control prenatal", diagnoses)
        if enc is None:
            return
        values = self._body(p, day)
        values.update(self._blood_pressure(p))
        values["heart_rate"] = str(round(_clamp(rng.gauss(84, 9), 50, 130)))
        if has_dm or rng.random() < 0.35:
            values["glucose"] = self._glucose(p)
        self._observations(enc, values)
        drug = rx.FERROUS_FUMARATE
        self._prescribe(enc, [(drug.key, drug.dose, drug.frequency, 30, 30)])

    def _acute(self, p: Patient, doctors: list[int]) -> None:
        rng = self.rng
        age_now = self._age(p, self.as_of)
        rate = 0.0
        for lower, value in rx.ACUTE_RATE_BY_AGE:
            if age_now >= lower:
                rate = value
        monthly = rate / 12
        for first in self.month_starts:
            if rng.random() >= monthly:
                continue
            days = (dt.date(first.year + first.month // 12, first.month % 12 + 1, 1) - first).days
            day = first + dt.timedelta(days=rng.randrange(days))
            if day < self.start or day > self.as_of or (day - p.birth).days < 28:
                continue
            self._acute_visit(p, day, rng.choice(doctors) if doctors else None)

    def _acute_visit(self, p: Patient, day: dt.date, doctor: int | None) -> None:
        rng = self.rng
        age = self._age(p, day)
        group = (
            rx.CHILD if age < 5 else rx.SCHOOL if age < 15 else rx.WOMAN if p.sex == "F" else rx.MAN
        )
        weights = self.episode_weights[group]
        if not any(weights):
            return
        episode = rng.choices(rx.EPISODES, weights)[0]
        pregnant = self._pregnant_on(p, day)
        code = episode.pregnant_code if pregnant and episode.pregnant_code else episode.code
        if self.codes.get(code) is None:
            code = episode.code
        enc = self._encounter(
            p,
            day,
            doctor,
            "ambulatory",
            episode.reason,
            [(code, day)],
            resolved=day + dt.timedelta(days=10),
        )
        if enc is None:
            return
        fever = rng.random() < episode.fever
        values = {}
        if age < 15 or rng.random() < 0.5:
            values.update(self._body(p, day))
        if age >= 12 and rng.random() < 0.7:
            values.update(self._blood_pressure(p))
        mean_hr = 115 if age < 5 else 90 if age < 15 else 78
        values["heart_rate"] = str(
            round(_clamp(rng.gauss(mean_hr + (12 if fever else 0), 9), 45, 190))
        )
        temperature = rng.uniform(37.8, 39.6) if fever else rng.uniform(36.1, 37.3)
        values["temperature"] = f"{temperature:.1f}"
        self._observations(enc, values)
        options = (
            episode.pregnant
            if pregnant and episode.pregnant is not None
            else episode.child
            if age < 12
            else episode.adult
        )
        courses = rng.choices([c for _w, c in options], [w for w, _c in options])[0]
        self._prescribe(enc, [(c.key, c.dose, c.frequency, c.days, c.quantity) for c in courses])

    # --- records ----------------------------------------------------------------------------------

    def _encounter(
        self,
        p: Patient,
        day: dt.date,
        doctor: int | None,
        encounter_class: str,
        reason: str,
        diagnoses: list[tuple[str, dt.date | None]],
        resolved: dt.date | None = None,
    ) -> PlannedEncounter | None:
        rng = self.rng
        if day < p.birth:
            return None
        minute = rng.randrange(600)
        start = dt.datetime(
            day.year, day.month, day.day, 8 + minute // 60, minute % 60, tzinfo=self.tz
        )
        end = start + dt.timedelta(minutes=rng.randint(12, 30))
        resolved_codes: list[tuple[str, dt.date | None]] = []
        for code, onset in diagnoses:
            loaded = self.codes.get(code)
            # Two codes may fall back to one category: it is recorded once.
            if loaded and all(loaded != c for c, _onset in resolved_codes):
                resolved_codes.append((loaded, onset))
        enc = PlannedEncounter(
            index=len(self.plan.encounters),
            public_id=fast_uuid(self.ids),
            person_id=p.person_id,
            facility_id=p.facility_id,
            practitioner_id=doctor,
            encounter_class=encounter_class,
            reason_text=reason,
            reason_code=resolved_codes[0][0] if resolved_codes else None,
            start=start,
            end=end,
        )
        self.plan.encounters.append(enc)
        recorded = start + dt.timedelta(minutes=8)
        for rank, (code, onset) in enumerate(resolved_codes, start=1):
            abated = resolved is not None and resolved <= self.as_of
            self.plan.conditions.append(
                (
                    enc.index,
                    p.person_id,
                    p.facility_id,
                    code,
                    "resolved" if abated else "active",
                    rank,
                    onset,
                    resolved if abated else None,
                    recorded,
                    fast_uuid(self.ids),
                )
            )
        return enc

    def _body(self, p: Patient, day: dt.date) -> dict[str, str]:
        """Weight and height on `day` (growth for children, weight gain in pregnancy) and the BMI."""
        rng = self.rng
        height, weight = p.height, p.weight
        age_now, age = self._age(p, self.as_of), self._age(p, day)
        if age_now < 18:
            table = HEIGHT_MEDIAN[p.sex]
            height = p.height * interpolate(table, age) / interpolate(table, age_now)
            bmi = (
                p.bmi * interpolate(CHILD_BMI_MEDIAN, age) / interpolate(CHILD_BMI_MEDIAN, age_now)
            )
            weight = bmi * (height / 100) ** 2
        lmp = self._lmp(p)
        if lmp is not None and p.pregnancy_weeks is not None:
            weeks = max(0.0, (day - lmp).days / 7)
            # About 0.4 kg a week after the first trimester; the profile's weight is on as_of.
            weight -= 0.4 * (max(p.pregnancy_weeks, 13) - max(min(weeks, p.pregnancy_weeks), 13))
        weight = _clamp(weight * (1 + rng.gauss(0, 0.01)), 0.5, 350)
        h = f"{_clamp(height, 30, 250):.1f}"
        w = f"{weight:.1f}"
        return {"weight": w, "height": h, "bmi": str(compute_bmi(Decimal(w), Decimal(h)))}

    def _blood_pressure(self, p: Patient) -> dict[str, str]:
        rng = self.rng
        systolic = round(_clamp(p.systolic + rng.gauss(0, 7), 70, 260))
        diastolic = round(_clamp(p.diastolic + rng.gauss(0, 5), 35, 150))
        diastolic = min(diastolic, systolic - 15)
        return {"systolic": str(systolic), "diastolic": str(diastolic)}

    def _glucose(self, p: Patient) -> str:
        return str(round(_clamp(p.glucose * math.exp(self.rng.gauss(0, 0.12)), 50, 600)))

    def _observations(self, enc: PlannedEncounter, values: dict[str, str]) -> None:
        at = enc.start + dt.timedelta(minutes=5)
        obs = self.plan.observations
        panel: int | None = None
        if "systolic" in values:
            panel = len(self.plan.panels)
            self.plan.panels.append(
                (enc.index, enc.person_id, enc.facility_id, at, fast_uuid(self.ids))
            )
        for key, value in values.items():
            spec = VITALS[key]
            obs.append(
                (
                    enc.index,
                    panel if key in ("systolic", "diastolic") else None,
                    enc.person_id,
                    enc.facility_id,
                    spec.code,
                    value,
                    spec.unit,
                    key == "bmi",
                    at,
                    fast_uuid(self.ids),
                )
            )

    def _prescribe(
        self, enc: PlannedEncounter, lines: list[tuple[str, str, str, int, int]]
    ) -> None:
        wanted = []
        seen = set()
        for line in lines:
            if line[0] in self.medicines and line[0] not in seen:
                seen.add(line[0])
                wanted.append(line)
        if not wanted:
            return
        authored = enc.end - dt.timedelta(minutes=2)
        planned = []
        for position, (key, dose, frequency, days, quantity) in enumerate(wanted, start=1):
            planned.append(
                PlannedLine(
                    index=self.plan.lines,
                    public_id=fast_uuid(self.ids),
                    position=position,
                    medicine=key,
                    dose=dose,
                    frequency=frequency,
                    duration_days=days,
                    quantity=quantity,
                )
            )
            self.plan.lines += 1
        self.plan.prescriptions.append(
            PlannedPrescription(
                index=len(self.plan.prescriptions),
                public_id=fast_uuid(self.ids),
                code=self.new_code(),
                person_id=enc.person_id,
                facility_id=enc.facility_id,
                encounter=enc.index,
                prescriber_id=enc.practitioner_id,
                authored_at=authored,
                valid_until=authored.date() + self.validity,
                lines=planned,
            )
        )

    def new_code(self) -> str:
        """A verification code not yet issued in this plan."""
        while True:
            code = prescription_codes.generate(self.code_rng)
            if code not in self.issued_codes:
                self.issued_codes.add(code)
                return code


# Keys a pregnant woman keeps receiving for a chronic condition (see regimens.py).
PREGNANCY_SAFE = frozenset({rx.METFORMIN.key, rx.GLIBENCLAMIDE.key, rx.INSULIN_NPH.key})
