"""CURP (Clave Única de Registro de Población) validation: structure and RENAPO check digit.

We validate CURPs; we never generate one for a real person. The synthetic generator builds
valid-format CURPs for synthetic people only (see `bienestar.synth`).
"""

from __future__ import annotations

import re

# 4 letters, birth date YYMMDD, sex (H/M, X since 2023 for non-binary), 2-letter state,
# 3 internal consonants, homonym differentiator (digit for births before 2000, letter after), check digit.
CURP_RE = re.compile(
    r"^[A-Z][AEIOUX][A-Z]{2}\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])[HMX]"
    r"(AS|BC|BS|CC|CL|CM|CS|CH|DF|DG|GT|GR|HG|JC|MC|MN|MS|NT|NL|OC|PL|QT|QR|SP|SL|SR|TC|TS|TL|VZ|YN|ZS|NE)"
    r"[B-DF-HJ-NP-TV-Z]{3}[0-9A-Z]\d$"
)
_CHARSET = "0123456789ABCDEFGHIJKLMNÑOPQRSTUVWXYZ"


def check_digit(first17: str) -> str:
    total = sum(_CHARSET.index(ch) * (18 - i) for i, ch in enumerate(first17))
    return str((10 - total % 10) % 10)


def normalize(raw: str) -> str:
    return (raw or "").strip().upper()


def validate(raw: str) -> str | None:
    """Returns None when valid, else the reason (in Spanish, for the caller to translate)."""
    value = normalize(raw)
    if len(value) != 18:
        return "La CURP debe tener 18 caracteres."
    if not CURP_RE.match(value):
        return "La CURP no tiene la estructura oficial."
    if check_digit(value[:17]) != value[17]:
        return "El dígito verificador de la CURP no corresponde."
    return None


def is_valid(raw: str) -> bool:
    return validate(raw) is None
