"""FHIR instants in search parameters keep every digit of their fraction."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from bienestar.fhir.params import parse_moment


@given(st.integers(min_value=0, max_value=999_999))
def test_six_digit_fraction_is_kept_to_the_microsecond(micro: int) -> None:
    moment = parse_moment("_lastUpdated", f"2026-03-01T10:20:30.{micro:06d}Z")
    assert moment.start == dt.datetime(2026, 3, 1, 10, 20, 30, micro, tzinfo=dt.UTC)
    assert moment.end - moment.start == dt.timedelta(microseconds=1)


def test_fractions_that_a_float_rounded_down() -> None:
    # int(float(".000249") * 1_000_000) == 248: the fractions that lost a microsecond.
    for text, micro in [(".000249", 249), (".000983", 983), (".5", 500_000), (".1234567", 123_456)]:
        moment = parse_moment("date", f"2026-03-01T10:20:30{text}+00:00")
        assert moment.start.microsecond == micro
