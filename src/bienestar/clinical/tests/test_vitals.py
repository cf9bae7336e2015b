"""The physiological ranges: what is accepted, what is refused, and how the message reads."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bienestar.clinical import vitals
from bienestar.core.errors import ValidationFailed


def refusal(values: dict) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as info:
        vitals.check_vitals(values)
    return info.value


def test_normal_values_are_accepted_and_rounded_as_decimals():
    out = vitals.check_vitals(
        {"systolic": 120, "diastolic": "80", "temperature": 36.6, "weight": "72,456", "glucose": ""}
    )
    assert out == {
        "systolic": Decimal("120"),
        "diastolic": Decimal("80"),
        "temperature": Decimal("36.6"),
        "weight": Decimal("72.46"),
    }
    assert all(isinstance(v, Decimal) for v in out.values())


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [
        (
            {"systolic": 400, "diastolic": 80},
            "systolic",
            ["Presión sistólica", "400", "50 a 300 mmHg"],
        ),
        (
            {"systolic": 120, "diastolic": 130},
            "diastolic",
            ["diastólica (130 mmHg)", "sistólica (120 mmHg)"],
        ),
        ({"systolic": 120, "diastolic": 120}, "diastolic", ["menor que la sistólica"]),
        ({"temperature": 50}, "temperature", ["Temperatura", "50 °C", "30 a 45 °C"]),
        ({"weight": 0}, "weight", ["Peso", "0.3 a 400 kg"]),
        ({"height": 400}, "height", ["Talla", "20 a 260 cm"]),
        ({"heart_rate": 0}, "heart_rate", ["Frecuencia cardiaca", "20 a 300 lpm"]),
        ({"glucose": 5}, "glucose", ["Glucosa capilar", "10 a 1500 mg/dL"]),
        ({"hba1c": 35}, "hba1c", ["2 a 20 %"]),
        ({"waist": -3}, "waist", ["20 a 300 cm"]),
        ({"systolic": 120}, "diastolic", ["requiere sistólica y diastólica"]),
        ({"temperature": "abc"}, "temperature", ["no es un número"]),
        ({"temperature": "NaN"}, "temperature", ["no es un número"]),
        ({"weight": "Infinity"}, "weight", ["no es un número"]),
        ({"bmi": 25}, "bmi", ["se calcula"]),
        ({"pulse_ox": 98}, "vitals", ["desconocido"]),
    ],
)
def test_impossible_values_are_refused_naming_field_and_range(values, field, words):
    error = refusal(values)
    assert error.field == field
    for word in words:
        assert word in str(error.message), str(error.message)


def test_bmi_is_weight_over_height_squared_to_one_decimal():
    assert vitals.compute_bmi(Decimal("80"), Decimal("170")) == Decimal("27.7")
    assert vitals.compute_bmi(Decimal("3.2"), Decimal("50")) == Decimal("12.8")
    with pytest.raises(ValidationFailed) as info:
        vitals.compute_bmi(Decimal("400"), Decimal("20"))  # each value possible, together not
    assert info.value.field == "bmi"


def test_every_vital_has_a_loinc_code_and_ucum_unit():
    assert {s.code for s in vitals.VITALS.values()} == {
        "8480-6",
        "8462-4",
        "8867-4",
        "8310-5",
        "29463-7",
        "8302-2",
        "39156-5",
        "8280-0",
        "2339-0",
        "4548-4",
    }
    assert vitals.VITALS["systolic"].unit == "mm[Hg]"
    assert vitals.VITALS["temperature"].unit == "Cel"
    assert vitals.VITALS["bmi"].unit == "kg/m2"


@given(
    data=st.data(),
    key=st.sampled_from([k for k in vitals.ENTERABLE if k not in ("systolic", "diastolic")]),
)
def test_inside_the_range_accepted_outside_refused(data, key):
    spec = vitals.VITALS[key]
    steps = int((spec.maximum - spec.minimum) / spec.quantum)
    inside = spec.minimum + spec.quantum * data.draw(st.integers(0, steps))
    assert vitals.check_vitals({key: str(inside)}) == {key: inside}
    outside = data.draw(
        st.one_of(
            st.integers(1, 10_000).map(lambda n: spec.minimum - spec.quantum * n),
            st.integers(1, 10_000).map(lambda n: spec.maximum + spec.quantum * n),
        )
    )
    with pytest.raises(ValidationFailed):
        vitals.check_vitals({key: str(outside)})
