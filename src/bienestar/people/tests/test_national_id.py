"""The national health ID's check symbol detects every single substitution and every adjacent swap."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from bienestar.people import national_id
from bienestar.people.national_id import ALPHABET, LENGTH

bodies = st.text(
    alphabet=ALPHABET, min_size=national_id.BODY_LENGTH, max_size=national_id.BODY_LENGTH
)
valid_ids = bodies.map(lambda body: body + national_id.check_symbol(body))


@given(valid_ids)
def test_a_generated_check_symbol_makes_the_id_valid(value):
    assert national_id.is_valid(value)
    assert national_id.is_valid(national_id.display(value).lower())


@settings(max_examples=200)
@given(valid_ids)
def test_every_single_substitution_is_detected(value):
    for position in range(LENGTH):
        for symbol in ALPHABET:
            if symbol != value[position]:
                altered = value[:position] + symbol + value[position + 1 :]
                assert not national_id.is_valid(altered), (value, altered)


@settings(max_examples=500)
@given(valid_ids)
def test_every_adjacent_transposition_is_detected(value):
    for position in range(LENGTH - 1):
        a, b = value[position], value[position + 1]
        if a != b:
            swapped = value[:position] + b + a + value[position + 2 :]
            assert not national_id.is_valid(swapped), (value, swapped)


@given(st.integers(min_value=0, max_value=2**32))
def test_generated_ids_use_only_the_alphabet(seed):
    value = national_id.generate(random.Random(seed))
    assert len(value) == LENGTH
    assert set(value) <= set(ALPHABET)
    assert not set(value) & set("0O1IU")
    assert national_id.is_valid(value)


def test_ids_from_secrets_are_valid_and_unambiguous():
    for _ in range(1000):
        value = national_id.generate()
        assert national_id.is_valid(value)
        assert not set(value) & set("0O1IU")


@given(st.text(max_size=20))
def test_is_valid_never_raises(text):
    assert national_id.is_valid(text) in (True, False)


def test_ambiguous_characters_are_not_in_the_alphabet():
    assert len(ALPHABET) == 31 == len(set(ALPHABET))
    assert not set(ALPHABET) & set("0O1IU")
