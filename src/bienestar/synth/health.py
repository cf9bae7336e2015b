"""Ground-truth health of a synthetic person: body size, diabetes, hypertension, pregnancy, smoking.

Prevalences follow ENSANUT 2022 in round numbers: diabetes in ~18% of adults (20+), one third of
them undiagnosed; hypertension in ~38% of adults, rising from ~15% in the twenties to ~70% after 70,
about half of them undiagnosed; obesity (BMI >= 30) in ~35% of adults, more in women; obesity raises
the risk of both conditions without changing their overall prevalence. Pregnancy follows the 2020
age-specific fertility rates (a pregnancy lasts ~3/4 of a year, so point prevalence ~ 0.75 x ASFR).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import random
from dataclasses import dataclass

# (lower age, rate) for adults 20+; overall ~18% diabetes and ~38% hypertension among adults.
DIABETES_BY_AGE = ((20, 0.042), (30, 0.088), (40, 0.18), (50, 0.30), (60, 0.375), (70, 0.385))
HYPERTENSION_BY_AGE = ((20, 0.15), (30, 0.25), (40, 0.38), (50, 0.52), (60, 0.63), (70, 0.72))
DIABETES_DIAGNOSED = 2 / 3
OBESITY_RR_DIABETES = 1.8
OBESITY_RR_HYPERTENSION = 1.6
ADULT_OBESITY_SHARE = 0.34  # used to keep the overall prevalence when obesity raises the risk
# Age-specific fertility rates 2020 (births per woman per year) by 5-year band from 15.
ASFR = ((15, 0.070), (20, 0.115), (25, 0.105), (30, 0.078), (35, 0.042), (40, 0.012), (45, 0.002))
# Median height (cm) by age for girls and boys (WHO growth references, rounded).
HEIGHT_MEDIAN = {
    "F": (
        (0, 50),
        (1, 74),
        (2, 86),
        (3, 95),
        (5, 109),
        (8, 127),
        (10, 138),
        (12, 151),
        (14, 159),
        (16, 162),
        (18, 163),
    ),
    "M": (
        (0, 50),
        (1, 76),
        (2, 87),
        (3, 96),
        (5, 110),
        (8, 128),
        (10, 138),
        (12, 149),
        (14, 163),
        (16, 172),
        (18, 175),
    ),
}
# Median BMI by age for children (WHO), rounded.
CHILD_BMI_MEDIAN = (
    (0, 13.4),
    (1, 17.0),
    (2, 16.2),
    (5, 15.3),
    (8, 15.8),
    (10, 16.6),
    (12, 17.8),
    (14, 19.2),
    (16, 20.4),
    (19, 21.5),
)
ADULT_HEIGHT = {"F": (155.0, 6.5), "M": (167.0, 7.0)}  # Mexican adults, mean and SD


@dataclass(slots=True)
class Health:
    height_cm: float
    weight_kg: float
    bmi: float
    obesity: bool
    smoker: bool
    diabetes: bool
    diabetes_diagnosed: bool
    diabetes_since: dt.date | None
    hypertension: bool
    hypertension_diagnosed: bool
    hypertension_since: dt.date | None
    systolic_bp: int
    diastolic_bp: int
    fasting_glucose: int
    hba1c: float
    pregnant: bool
    pregnancy_weeks: int | None
    due_date: dt.date | None


def _by_age(table: tuple[tuple[int, float], ...], age: int) -> float:
    value = table[0][1]
    for lower, rate in table:
        if age >= lower:
            value = rate
    return value


def interpolate(table: tuple[tuple[int, float], ...], age: float) -> float:
    if age <= table[0][0]:
        return table[0][1]
    for (a0, v0), (a1, v1) in itertools.pairwise(table):
        if age <= a1:
            return v0 + (v1 - v0) * (age - a0) / (a1 - a0)
    return table[-1][1]


def _adult_bmi_mean(sex: str, age: int) -> float:
    if sex == "F":
        return 26.8 if age < 30 else 28.8 if age < 40 else 30.0 if age < 60 else 29.2
    return 26.0 if age < 30 else 27.9 if age < 40 else 28.6 if age < 60 else 27.7


def _with_risk(base: float, exposed: bool, rr: float, share: float) -> float:
    """Split `base` between exposed and unexposed so that exposed have `rr` times the risk."""
    unexposed = base / (share * rr + (1 - share))
    return min(0.95, unexposed * rr if exposed else unexposed)


def _diagnosed_since(as_of: dt.date, age: int, rng: random.Random) -> dt.date:
    years = rng.uniform(0, max(0.5, min(20.0, age - 20.0)))
    return as_of - dt.timedelta(days=int(years * 365.25))


def draw_health(sex: str, age: float, as_of: dt.date, rng: random.Random) -> Health:
    """`age` in years with decimals (so that infants get infant sizes)."""
    whole = int(age)
    adult = whole >= 20
    if whole >= 18:
        mean, sd = ADULT_HEIGHT[sex]
        height = rng.gauss(mean, sd) - max(0, whole - 50) * 0.1
    else:
        height = interpolate(HEIGHT_MEDIAN[sex], age) * rng.gauss(1, 0.04)
    if adult:
        mu = _adult_bmi_mean(sex, whole)
        sigma = 0.17
        bmi = mu * math.exp(rng.gauss(0, sigma) - sigma * sigma / 2)
        obesity = bmi >= 30
    else:
        median = interpolate(CHILD_BMI_MEDIAN, age)
        obesity = whole >= 2 and rng.random() < (0.16 if whole >= 5 else 0.07)
        bmi = median * (
            rng.uniform(1.25, 1.6) if obesity else min(1.2, math.exp(rng.gauss(0, 0.08)))
        )
    bmi = max(11.0, min(bmi, 65.0))
    weight = bmi * (height / 100) ** 2

    diabetes = diagnosed_dm = hypertension = diagnosed_ht = False
    dm_since = ht_since = None
    if adult:
        p = _with_risk(
            _by_age(DIABETES_BY_AGE, whole), obesity, OBESITY_RR_DIABETES, ADULT_OBESITY_SHARE
        )
        diabetes = rng.random() < p
        if diabetes and rng.random() < DIABETES_DIAGNOSED:
            diagnosed_dm, dm_since = True, _diagnosed_since(as_of, whole, rng)
        p = _with_risk(
            _by_age(HYPERTENSION_BY_AGE, whole),
            obesity,
            OBESITY_RR_HYPERTENSION,
            ADULT_OBESITY_SHARE,
        )
        hypertension = rng.random() < p
        aware = 0.3 if whole < 40 else 0.45 if whole < 60 else 0.6
        if hypertension and rng.random() < aware:
            diagnosed_ht, ht_since = True, _diagnosed_since(as_of, whole, rng)

    if hypertension:
        controlled = diagnosed_ht and rng.random() < 0.5
        systolic = rng.gauss(132, 7) if controlled else max(140.0, rng.gauss(150, 12))
        diastolic = rng.gauss(84, 5) if controlled else rng.gauss(92, 8)
    elif whole >= 18:
        systolic = min(139.0, rng.gauss(112 + 0.3 * (whole - 18), 9))
        diastolic = min(89.0, rng.gauss(73, 7))
    else:
        systolic = rng.gauss(95 + whole, 7)
        diastolic = rng.gauss(60, 6)

    if diabetes:
        controlled = diagnosed_dm and rng.random() < 0.4
        glucose = rng.gauss(118, 10) if controlled else max(126.0, rng.gauss(185, 45))
    elif adult and rng.random() < 0.2:  # prediabetes: impaired fasting glucose
        glucose = rng.uniform(100, 125)
    else:
        glucose = min(99.0, max(65.0, rng.gauss(88, 7)))
    hba1c = (glucose + 46.7) / 28.7  # ADAG estimated average glucose relation

    pregnant, weeks, due = False, None, None
    if sex == "F" and 15 <= whole <= 45:
        pregnant = rng.random() < 0.75 * _by_age(ASFR, whole)
        if pregnant:
            weeks = rng.randint(4, 40)
            due = as_of + dt.timedelta(days=(40 - weeks) * 7)

    smoker = whole >= 15 and rng.random() < (0.24 if sex == "M" else 0.08)
    return Health(
        height_cm=height,
        weight_kg=weight,
        bmi=bmi,
        obesity=obesity,
        smoker=smoker,
        diabetes=diabetes,
        diabetes_diagnosed=diagnosed_dm,
        diabetes_since=dm_since,
        hypertension=hypertension,
        hypertension_diagnosed=diagnosed_ht,
        hypertension_since=ht_since,
        systolic_bp=round(systolic),
        diastolic_bp=round(diastolic),
        fasting_glucose=round(glucose),
        hba1c=hba1c,
        pregnant=pregnant,
        pregnancy_weeks=weeks,
        due_date=due,
    )
