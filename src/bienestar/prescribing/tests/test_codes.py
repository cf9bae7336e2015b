"""Verification codes: format, check symbol, and the QR that carries them."""

from __future__ import annotations

import random
import xml.etree.ElementTree as ET

import qrcode
from hypothesis import given
from hypothesis import strategies as st

from bienestar.people.national_id import ALPHABET
from bienestar.prescribing import codes
from bienestar.prescribing.qr import verification_qr_svg

bodies = st.text(alphabet=ALPHABET, min_size=codes.BODY_LENGTH, max_size=codes.BODY_LENGTH)


def test_generated_codes_are_valid_and_unambiguous():
    rng = random.Random(7)
    values = {codes.generate(rng) for _ in range(2000)}
    assert len(values) == 2000
    for value in values:
        assert len(value) == 9 and codes.is_valid(value)
        assert not set(value) & set("01OIU")
    assert codes.is_valid(codes.generate())  # the secrets-based path


def test_display_and_normalize():
    value = codes.generate(random.Random(1))
    shown = codes.display(value)
    assert shown == f"{value[:3]}-{value[3:6]}-{value[6:]}"
    assert codes.normalize(f" {shown.lower()} ") == value


@given(body=bodies, position=st.integers(0, 8), shift=st.integers(1, 30))
def test_any_single_substitution_is_detected(body, position, shift):
    value = body + codes.check_symbol(body)
    wrong = ALPHABET[(ALPHABET.index(value[position]) + shift) % 31]
    assert not codes.is_valid(value[:position] + wrong + value[position + 1 :])


@given(body=bodies, position=st.integers(0, 7))
def test_any_adjacent_swap_is_detected(body, position):
    value = body + codes.check_symbol(body)
    a, b = value[position], value[position + 1]
    if a != b:
        assert not codes.is_valid(value[:position] + b + a + value[position + 2 :])


def test_qr_is_an_svg_of_the_code():
    value = codes.generate(random.Random(3))
    svg = verification_qr_svg(codes.display(value))
    root = ET.fromstring(svg)  # noqa: S314 (our own output, not untrusted input)
    assert root.tag.endswith("svg")
    assert root.find(".//{http://www.w3.org/2000/svg}path") is not None
    # The same matrix qrcode draws for the normalised code: the dashes are not encoded.
    assert svg == verification_qr_svg(value)
    assert svg != verification_qr_svg(codes.generate(random.Random(4)))
    expected = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M)
    expected.add_data(value)
    expected.make(fit=True)
    assert expected.version == 1  # 9 symbols fit the smallest QR: large modules, easy to scan
