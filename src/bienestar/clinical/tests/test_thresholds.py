"""The cut-offs of abnormal values, at their boundaries."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bienestar.clinical import thresholds as t


@pytest.mark.parametrize(
    ("systolic", "diastolic", "level"),
    [
        (139, 89, None),
        (140, 80, t.HIGH),
        (130, 90, t.HIGH),
        (150, 95, t.HIGH),
        (179, 109, t.HIGH),
        (180, 100, t.URGENT),
        (160, 110, t.URGENT),
    ],
)
def test_blood_pressure(systolic, diastolic, level):
    flag = t.blood_pressure(systolic, diastolic)
    assert (flag.level if flag else None) == level


def test_a_known_hypertensive_gets_the_control_target():
    flag = t.blood_pressure(150, 95, hypertensive=True)
    assert flag is not None and "Fuera de meta" in flag.text and "140/90" in flag.target
    assert t.blood_pressure(150, 95).target == ""


@pytest.mark.parametrize(
    ("value", "fasting", "flagged"),
    [
        (125, None, False),
        (126, None, True),
        (182, None, True),
        (182, False, False),  # random: normal below 200
        (199, False, False),
        (200, False, True),
        (126, True, True),
    ],
)
def test_glucose(value, fasting, flagged):
    assert (t.glucose(value, fasting=fasting) is not None) is flagged


def test_bmi_and_hba1c():
    assert t.bmi(Decimal("29.9")) is None and t.bmi(30) is not None
    assert t.hba1c(Decimal("6.9")) is None
    assert "< 7" in t.hba1c(Decimal("7.0"), diabetic=True).target


def test_known_conditions_and_flags_of_a_set():
    assert t.known_conditions(["I10", "E11.9"]) == (True, True)
    assert t.known_conditions(["J00"]) == (False, False)
    found = t.flags({"systolic": Decimal(150), "diastolic": Decimal(95), "glucose": Decimal(182)})
    assert set(found) == {"bp", "glucose"}
