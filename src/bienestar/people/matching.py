"""Is this the same person? Comparisons designed for Spanish names, with the reasons a clerk reads.

Pure functions, no database: the registration page's candidates (people/candidates.py) are scored
here. Each field is compared into a level (the same levels a probabilistic model uses); each level
carries a weight (log-odds, Fellegi-Sunter style) and the sum becomes a probability from 0 to 1. The
weights below are set by hand from the error patterns the issue names; the batch linkage model
(Splink, EM-estimated) is meant to replace them with measured ones.

Names are folded (case, accents, punctuation), particles dropped ("de", "del", "de la", "y"…),
abbreviations expanded ("Ma." → María) and nicknames mapped to their formal names through a
table kept as data (people/data/nicknames_mx.csv).
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache
from pathlib import Path

from django.utils.translation import gettext as _

from bienestar.people import curp as curp_mod

PARTICLES = frozenset({"de", "del", "la", "las", "los", "y", "e", "da", "van", "von", "mc", "mac"})
NICKNAMES_CSV = Path(__file__).with_name("data") / "nicknames_mx.csv"

# Probability bands of the registration page (ADR 0012).
STRONG = 0.9
POSSIBLE = 0.5
SHOWN = 0.2


@lru_cache(maxsize=1)
def _table() -> tuple[dict[str, frozenset[str]], dict[str, str]]:
    """(nickname → formal names, abbreviation → word)."""
    nicknames: dict[str, set[str]] = {}
    abbreviations: dict[str, str] = {}
    with NICKNAMES_CSV.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            short, formal = fold(row["short"]), fold(row["formal"])
            if row["kind"] == "abbreviation":
                abbreviations[short] = formal
            else:
                nicknames.setdefault(short, set()).add(formal)
    return {k: frozenset(v) for k, v in nicknames.items()}, abbreviations


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Lower case, accents removed (ñ kept as n), only letters and single spaces."""
    out = []
    for ch in unicodedata.normalize("NFD", (text or "").lower()):
        if unicodedata.category(ch) == "Mn":
            continue
        out.append(ch if ch.isalpha() else " ")
    return " ".join("".join(out).split())


def name_words(text: str) -> list[str]:
    """Folded words without particles, abbreviations expanded."""
    return list(_name_words(text))


@lru_cache(maxsize=65536)
def _name_words(text: str) -> tuple[str, ...]:
    _nick, abbreviations = _table()
    words = []
    for word in fold(text).split():
        if word in PARTICLES:
            continue
        words.extend(abbreviations.get(word, word).split())
    return tuple(words)


def _formal_options(word: str) -> list[list[str]]:
    nicknames, _abbr = _table()
    return [f.split() for f in sorted(nicknames.get(word, ()))]


@lru_cache(maxsize=65536)
def given_forms(text: str) -> list[tuple[str, ...]]:
    """Every reading of a given name with each nickname replaced by a formal name it stands for."""
    forms: list[list[str]] = [[]]
    for word in name_words(text):
        options = [[word], *_formal_options(word)]
        forms = [f + o for f in forms for o in options][:16]
    return [tuple(f) for f in forms]


@lru_cache(maxsize=65536)
def similarity(a: str, b: str) -> float:
    if not a or not b:
        return 0.0
    return SequenceMatcher(None, a, b).ratio()


# --- comparison levels -------------------------------------------------------------------------------


def compare_given(a: str, b: str) -> str:
    """exact | nickname | compound (one is the other shortened) | fuzzy | different | missing."""
    wa, wb = name_words(a), name_words(b)
    if not wa or not wb:
        return "missing"
    if wa == wb:
        return "exact"
    fa, fb = given_forms(a), given_forms(b)
    if set(fa) & set(fb):
        return "nickname"
    for x in fa:
        for y in fb:
            shorter, longer = (x, y) if len(x) <= len(y) else (y, x)
            if shorter and set(shorter) <= set(longer):
                # "Lupita" for "María Guadalupe": a nickname of a part of the compound name.
                return "nickname" if (x, y) != (tuple(wa), tuple(wb)) else "compound"
    if similarity(" ".join(wa), " ".join(wb)) >= 0.85:
        return "fuzzy"
    return "different"


def compare_surnames(a1: str, a2: str, b1: str, b2: str) -> str:
    """exact | swapped | second_missing | fuzzy | different."""
    fa1, fa2 = " ".join(name_words(a1)), " ".join(name_words(a2))
    fb1, fb2 = " ".join(name_words(b1)), " ".join(name_words(b2))
    if fa1 == fb1 and fa2 == fb2:
        return "exact"
    if fa1 and fa2 and fa1 == fb2 and fa2 == fb1:
        return "swapped"
    if fa1 == fb1 and bool(fa2) != bool(fb2):
        return "second_missing"
    if similarity(fa1 + " " + fa2, fb1 + " " + fb2) >= 0.85:
        return "fuzzy"
    return "different"


def compare_dates(a: dt.date | None, b: dt.date | None) -> str:
    """exact | day_month_swapped | one_part | different | missing."""
    if a is None or b is None:
        return "missing"
    if a == b:
        return "exact"
    if a.year == b.year and a.day == b.month and a.month == b.day:
        return "day_month_swapped"
    same = (a.year == b.year) + (a.month == b.month) + (a.day == b.day)
    return "one_part" if same == 2 else "different"


def compare_curps(a: str, b: str) -> str:
    """exact | one_char | different | missing."""
    a, b = curp_mod.normalize(a), curp_mod.normalize(b)
    if not a or not b:
        return "missing"
    if a == b:
        return "exact"
    if len(a) == len(b) == 18 and sum(x != y for x, y in zip(a, b, strict=True)) == 1:
        return "one_char"
    return "different"


# Log-odds of each level; the prior is the log-odds that two persons found by the candidate query
# are the same person before looking at any field.
PRIOR = -10.0
WEIGHTS: dict[str, dict[str, float]] = {
    "curp": {"exact": 20.0, "one_char": 7.0, "different": -7.0, "missing": 0.0},
    "given": {
        "exact": 4.0,
        "nickname": 3.0,
        "compound": 3.0,
        "fuzzy": 2.0,
        "different": -5.0,
        "missing": 0.0,
    },
    "surnames": {
        "exact": 6.0,
        "swapped": 4.5,
        "second_missing": 4.0,
        "fuzzy": 3.0,
        "different": -6.0,
    },
    "birth_date": {
        "exact": 6.0,
        "day_month_swapped": 4.0,
        "one_part": 1.5,
        "different": -6.0,
        "missing": 0.0,
    },
    "sex": {"same": 0.5, "different": -3.0, "missing": 0.0},
}


@dataclass
class Record:
    given_names: str
    first_surname: str
    second_surname: str = ""
    sex: str = ""
    birth_date: dt.date | None = None
    curp: str = ""


@dataclass
class Match:
    probability: float
    levels: dict[str, str]

    @property
    def reasons(self) -> list[str]:
        """In the active language; computed only for the candidates shown."""
        return _reasons(self.levels)

    @property
    def band(self) -> str:
        if self.probability >= STRONG:
            return "strong"
        return "possible" if self.probability >= POSSIBLE else "weak"


def compare(typed: Record, existing: Record) -> Match:
    levels = {
        "curp": compare_curps(typed.curp, existing.curp),
        "given": compare_given(typed.given_names, existing.given_names),
        "surnames": compare_surnames(
            typed.first_surname,
            typed.second_surname,
            existing.first_surname,
            existing.second_surname,
        ),
        "birth_date": compare_dates(typed.birth_date, existing.birth_date),
        "sex": "missing"
        if not typed.sex or not existing.sex
        else ("same" if typed.sex == existing.sex else "different"),
    }
    score = PRIOR + sum(WEIGHTS[k][v] for k, v in levels.items())
    return Match(probability=1 / (1 + math.exp(-score)), levels=levels)


def _reasons(levels: dict[str, str]) -> list[str]:
    out = []
    curp = levels["curp"]
    if curp == "exact":
        out.append(_("Misma CURP"))
    elif curp == "one_char":
        out.append(_("CURP igual salvo un carácter"))
    elif curp == "different":
        out.append(_("CURP distinta"))
    name_same = levels["given"] == "exact" and levels["surnames"] == "exact"
    if name_same and levels["birth_date"] == "exact":
        out.append(_("Mismo nombre y fecha de nacimiento"))
    else:
        if name_same:
            out.append(_("Mismo nombre"))
        if levels["birth_date"] == "exact" and not name_same:
            out.append(_("Misma fecha de nacimiento"))
        out += [
            text
            for level, text in (
                (levels["surnames"] == "swapped", _("Apellidos invertidos")),
                (levels["surnames"] == "second_missing", _("Falta el segundo apellido")),
                (levels["given"] == "compound", _("Nombre compuesto abreviado")),
                (levels["given"] == "nickname", _("Apodo o hipocorístico")),
                (levels["birth_date"] == "day_month_swapped", _("Día y mes invertidos")),
                (levels["birth_date"] == "one_part", _("Fecha de nacimiento parecida")),
                (levels["sex"] == "different", _("Sexo distinto")),
            )
            if level
        ]
    return out


def curp_disagreements(typed: Record) -> list[str]:
    """What the typed CURP says that the typed data contradicts (birth date, sex)."""
    parts = curp_mod.decode(typed.curp) if typed.curp else None
    if parts is None:
        return []
    out = []
    if typed.birth_date and parts.birth_date != typed.birth_date:
        out.append(
            _("La fecha de nacimiento de la CURP (%(d)s) no coincide con la escrita.")
            % {"d": parts.birth_date.strftime("%d/%m/%Y")}
        )
    if typed.sex in ("F", "M") and parts.sex in ("F", "M") and parts.sex != typed.sex:
        out.append(_("El sexo de la CURP no coincide con el escrito."))
    return out
