"""CURP (Clave Única de Registro de Población) validation: structure and RENAPO check digit.

We validate CURPs; we never generate one for a real person. The synthetic generator builds
valid-format CURPs for synthetic people only (see `bienestar.synth`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

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


@dataclass(frozen=True)
class CurpParts:
    """What a CURP says about its holder: birth date, sex (Person.sex value), birth state."""

    birth_date: dt.date
    sex: str
    state_code: str
    state_name: str
    initials: str


def _state_names() -> dict[str, str]:
    from bienestar.reference.mexico import state_table  # the shipped state table

    names = {row["clues_abbreviation"]: row["name"] for row in state_table()}
    names["NE"] = "Nacido en el extranjero"
    return names


STATE_NAMES: dict[str, str] = {}


def decode(raw: str) -> CurpParts | None:
    """The parts of a structurally valid CURP (check digit not required: the caller says whether
    it holds), or None. The century comes from the homonym differentiator: a digit for births
    before 2000, a letter from 2000 on."""
    value = normalize(raw)
    if len(value) != 18 or not CURP_RE.match(value):
        return None
    century = 1900 if value[16].isdigit() else 2000
    try:
        born = dt.date(century + int(value[4:6]), int(value[6:8]), int(value[8:10]))
    except ValueError:
        return None
    if not STATE_NAMES:
        STATE_NAMES.update(_state_names())
    state = value[11:13]
    return CurpParts(
        birth_date=born,
        sex={"H": "M", "M": "F"}.get(value[10], "X"),
        state_code=state,
        state_name=STATE_NAMES.get(state, state),
        initials=value[:4],
    )
