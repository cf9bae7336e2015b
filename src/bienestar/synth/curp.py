"""Valid-format CURPs for synthetic people, built the way RENAPO builds them.

Positions: 1 first letter of the first surname, 2 its first internal vowel, 3 first letter of the
second surname (X if none), 4 first letter of the given name (the second one when the first is María
or José), 5-10 birth date YYMMDD, 11 sex (H/M), 12-13 state of birth, 14-16 first internal
consonant of each of first surname, second surname and given name, 17 homonym differentiator (a digit
for births before 2000, a letter from 2000), 18 check digit. Particles (de, la, del, y…) are skipped,
Ñ becomes X, and the first four letters never spell one of RENAPO's inconvenient words (the second
letter becomes X when they would).

Only for synthetic people: a real person's CURP is issued by RENAPO and never invented.
"""

from __future__ import annotations

import datetime as dt
import unicodedata

from bienestar.people.curp import check_digit

VOWELS = frozenset("AEIOU")
PARTICLES = frozenset(
    [
        "DA",
        "DAS",
        "DE",
        "DEL",
        "DER",
        "DI",
        "DIE",
        "DD",
        "EL",
        "LA",
        "LOS",
        "LAS",
        "LE",
        "LES",
        "MAC",
        "MC",
        "VAN",
        "VON",
        "Y",
    ]
)
SKIPPED_GIVEN = frozenset(["MARIA", "MA.", "MA", "M.", "M", "JOSE", "J.", "J"])
# RENAPO's list of inconvenient words (Instructivo normativo para la asignación de la CURP, anexo 2).
INCONVENIENT = frozenset(
    [
        "BACA",
        "BAKA",
        "BUEI",
        "BUEY",
        "CACA",
        "CACO",
        "CAGA",
        "CAGO",
        "CAKA",
        "CAKO",
        "COGE",
        "COGI",
        "COJA",
        "COJE",
        "COJI",
        "COJO",
        "COLA",
        "CULO",
        "FALO",
        "FETO",
        "GETA",
        "GUEI",
        "GUEY",
        "JETA",
        "JOTO",
        "KACA",
        "KACO",
        "KAGA",
        "KAGO",
        "KAKA",
        "KAKO",
        "KOGE",
        "KOGI",
        "KOJA",
        "KOJE",
        "KOJI",
        "KOJO",
        "KOLA",
        "KULO",
        "LILO",
        "LOCA",
        "LOCO",
        "LOKA",
        "LOKO",
        "MAME",
        "MAMO",
        "MEAR",
        "MEAS",
        "MEON",
        "MIAR",
        "MION",
        "MOCO",
        "MOKO",
        "MULA",
        "MULO",
        "NACA",
        "NACO",
        "PEDA",
        "PEDO",
        "PENE",
        "PIPI",
        "PITO",
        "POPO",
        "PUTA",
        "PUTO",
        "QULO",
        "RATA",
        "ROBA",
        "ROBE",
        "ROBO",
        "RUIN",
        "SENO",
        "TETA",
        "VACA",
        "VAGA",
        "VAGO",
        "VAKA",
        "VUEI",
        "VUEY",
        "WUEI",
        "WUEY",
    ]
)
DIGITS = "0123456789"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _plain(text: str) -> str:
    """Upper case, accents removed, Ñ kept apart (it becomes X), only letters and spaces."""
    out = []
    for ch in text.upper():
        if ch == "Ñ":
            out.append("X")
            continue
        base = unicodedata.normalize("NFD", ch)[0]
        if "A" <= base <= "Z" or base == " ":
            out.append(base)
    return "".join(out)


def _significant(text: str) -> str:
    """The part of a (possibly compound) name that the CURP uses: particles removed."""
    words = [w for w in _plain(text).split() if w not in PARTICLES]
    return "".join(words)


def _given(text: str) -> str:
    words = [w for w in _plain(text).split() if w not in PARTICLES]
    if len(words) > 1 and words[0] in SKIPPED_GIVEN:
        words = words[1:]
    return words[0] if words else ""


def _first_internal(word: str, vowels: bool) -> str:
    for ch in word[1:]:
        if (ch in VOWELS) == vowels:
            return ch
    return "X"


def stem(
    *,
    given_names: str,
    first_surname: str,
    second_surname: str,
    birth_date: dt.date,
    sex: str,
    state: str,
) -> str:
    """The first 16 characters (everything but the homonym differentiator and the check digit).

    `sex` is the Person.sex value ("F", "M" or "X"); `state` the two-letter CURP state key.
    """
    first = _significant(first_surname) or "X"
    second = _significant(second_surname)
    given = _given(given_names) or "X"
    head = first[0] + _first_internal(first, vowels=True) + (second[:1] or "X") + given[0]
    if head in INCONVENIENT:
        head = head[0] + "X" + head[2:]
    sex_letter = {"F": "M", "M": "H"}.get(sex, "X")
    consonants = (
        _first_internal(first, vowels=False)
        + (_first_internal(second, vowels=False) if second else "X")
        + _first_internal(given, vowels=False)
    )
    return f"{head}{birth_date:%y%m%d}{sex_letter}{state}{consonants}"


def complete(stem16: str, birth_year: int, taken: set[str]) -> str | None:
    """The full CURP with the first free homonym differentiator, or None if all are taken.

    `taken` holds the 17-character prefixes already in use; the chosen one is added to it.
    """
    for ch in DIGITS if birth_year < 2000 else LETTERS:
        prefix = stem16 + ch
        if prefix not in taken:
            taken.add(prefix)
            return prefix + check_digit(prefix)
    return None
