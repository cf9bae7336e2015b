"""The verification code printed on a prescription (and in its QR), typed at any pharmacy.

Format: 8 random symbols + 1 check symbol over the same 31-symbol alphabet as the national health ID
(no 0/O, 1/I, U), shown `XXX-XXX-XXX`. The check symbol is computed exactly as in
`people/national_id.py` (weighted sum divisible by 31), so any single mistyped symbol and any swap of
two adjacent symbols is detected before the database is asked.

The random part comes from `secrets`: 31^8 ≈ 8.5e11 codes. A code does not identify a person; out of
the pharmacist's territory it opens only a prescription that can still be dispensed (see
`selectors.prescription_by_code`), and every opening is audited.
"""

from __future__ import annotations

import random
import secrets

from bienestar.people.national_id import ALPHABET, check_symbol

__all__ = ["check_symbol", "display", "generate", "is_valid", "normalize"]

BODY_LENGTH = 8
LENGTH = BODY_LENGTH + 1
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}


def normalize(raw: str) -> str:
    """Upper-case, without spaces, dashes or dots. Does not validate: a typed O, 0, I, 1 or U is
    not in the alphabet and makes `is_valid` false rather than being guessed at."""
    return "".join(ch for ch in (raw or "").upper() if ch not in " -.")


def is_valid(raw: str) -> bool:
    value = normalize(raw)
    if len(value) != LENGTH or any(ch not in _VALUE for ch in value):
        return False
    return check_symbol(value[:-1]) == value[-1]


def generate(rng: random.Random | None = None) -> str:
    """A new code. Real prescriptions use `secrets`; the synthetic generator passes a seeded `rng`."""
    if rng is None:
        body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    else:
        body = "".join(rng.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return body + check_symbol(body)


def display(value: str) -> str:
    v = normalize(value)
    return f"{v[:3]}-{v[3:6]}-{v[6:]}" if len(v) == LENGTH else value
