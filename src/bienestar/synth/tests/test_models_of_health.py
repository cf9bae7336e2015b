"""The health model's prevalences, on a large sample (no database needed)."""

import datetime as dt
import random

from bienestar.synth.demography import draw_people
from bienestar.synth.health import draw_health

AS_OF = dt.date(2026, 1, 1)


def sample(n: int = 20000):  # type: ignore[no-untyped-def]
    rng = random.Random(11)
    people = draw_people(n, "20", AS_OF, rng)
    return [
        (p, draw_health(p.sex, (AS_OF - p.birth_date).days / 365.2425, AS_OF, rng)) for p in people
    ]


def test_diabetes_hypertension_obesity_prevalence_among_adults():
    adults = [(p, h) for p, h in sample() if p.age >= 20]
    share = lambda pred: sum(1 for p, h in adults if pred(p, h)) / len(adults)  # noqa: E731
    assert 0.16 <= share(lambda p, h: h.diabetes) <= 0.20
    diabetics = [h for _p, h in adults if h.diabetes]
    undiagnosed = sum(not h.diabetes_diagnosed for h in diabetics) / len(diabetics)
    assert 0.28 <= undiagnosed <= 0.39
    assert 0.30 <= share(lambda p, h: h.hypertension) <= 0.48
    assert 0.28 <= share(lambda p, h: h.obesity) <= 0.42


def test_hypertension_rises_with_age_and_nobody_is_diagnosed_without_the_condition():
    data = sample()
    young = [h for p, h in data if 20 <= p.age < 40]
    old = [h for p, h in data if p.age >= 60]
    assert sum(h.hypertension for h in old) / len(old) > 2 * sum(
        h.hypertension for h in young
    ) / len(young)
    assert all(h.diabetes or not h.diabetes_diagnosed for _p, h in data)
    assert all(not h.diabetes and not h.hypertension for p, h in data if p.age < 20)


def test_pregnancy_only_in_women_15_to_45_with_a_due_date():
    data = sample()
    pregnant = [(p, h) for p, h in data if h.pregnant]
    assert pregnant
    assert all(p.sex == "F" and 15 <= p.age <= 45 for p, _h in pregnant)
    assert all(h.due_date is not None and h.due_date >= AS_OF for _p, h in pregnant)
    women = [h for p, h in data if p.sex == "F" and 15 <= p.age <= 45]
    assert 0.02 <= sum(h.pregnant for h in women) / len(women) <= 0.08


def test_body_sizes_are_plausible():
    for _p, h in sample(3000):
        assert 40 <= h.height_cm <= 210
        assert 1.5 <= h.weight_kg <= 250
        assert abs(h.bmi - h.weight_kg / (h.height_cm / 100) ** 2) < 0.01
