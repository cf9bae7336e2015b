"""The National Health System ID (Cédula de Servicios de Salud).

Format: 10 random symbols + 1 check symbol over a 31-symbol alphabet without ambiguous
characters (no 0/O, 1/I, and no U), shown grouped as `XXXX-XXXX-XXX`.

The check symbol makes the weighted sum sum(i * v_i), i = 1..11, divisible by 31. Because 31 is
prime, larger than every symbol value difference, and the weights 1..11 are distinct and non-zero
modulo 31, any single substituted symbol changes the sum by w * d != 0 (mod 31), and any swap of
two adjacent symbols changes it by (w_i - w_{i+1}) * (a - b) = +-(a - b) != 0 (mod 31). Both kinds
of error are therefore always detected.

The random part comes from `secrets` (not derived from name, birth date or CURP), so an ID cannot
be guessed from other data; 31^10 ~ 8.2e14 possible values.
"""

from __future__ import annotations

import random
import secrets

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTVWXYZ"
MODULUS = len(ALPHABET)  # 31, prime
BODY_LENGTH = 10
LENGTH = BODY_LENGTH + 1
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
assert MODULUS == 31


def _weighted_sum(symbols: str) -> int:
    return sum((i + 1) * _VALUE[ch] for i, ch in enumerate(symbols))


def check_symbol(body: str) -> str:
    """The symbol c such that the weighted sum of body + c is 0 mod 31."""
    partial = _weighted_sum(body)
    weight = len(body) + 1
    # weight * c = -partial (mod 31); weight is invertible since 0 < weight < 31.
    c = (-partial * pow(weight, -1, MODULUS)) % MODULUS
    return ALPHABET[c]


def normalize(raw: str) -> str:
    """Upper-case, without spaces or dashes. Does not validate."""
    return "".join(ch for ch in (raw or "").upper() if ch not in " -.")


def is_valid(raw: str) -> bool:
    value = normalize(raw)
    if len(value) != LENGTH or any(ch not in _VALUE for ch in value):
        return False
    return _weighted_sum(value) % MODULUS == 0


def generate(rng: random.Random | None = None) -> str:
    """A new ID. Real issuance uses `secrets`; the synthetic generator passes a seeded `rng`."""
    if rng is None:
        body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    else:
        body = "".join(rng.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return body + check_symbol(body)


def display(value: str) -> str:
    v = normalize(value)
    return f"{v[:4]}-{v[4:8]}-{v[8:]}" if len(v) == LENGTH else value
