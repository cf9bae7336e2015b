"""A labelled person list for record linkage (issue 14): realistic duplicates and hard non-matches.

Each synthetic person gets one clean record; about a third get one to three more records typed
with the errors clinics make (accents and case dropped, surnames swapped, second surname missing,
a nickname, a compound name shortened, day and month swapped, a typo in a date or a surname, a
CURP with one wrong character or missing, a phone changed). Hard non-matches are separate people
built to look alike: twins (same surnames, birth date and place, another given name), namesakes
(same full name, another birth date) and a father and son sharing the name. The `person_id`
column is the truth; the other columns are those of `bienestar mpi link` (CONTRACTS.md).

Only synthetic data: names from the synthetic generator's tables, CURPs built for synthetic
people (synth/curp.py).
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from collections.abc import Iterator
from pathlib import Path

from bienestar.people import matching
from bienestar.synth import curp as synth_curp
from bienestar.synth.demography import NamePicker

COLUMNS = [
    "record_id",
    "given_names",
    "first_surname",
    "second_surname",
    "sex",
    "birth_date",
    "curp",
    "state",
    "municipality",
    "phone",
    "person_id",
]
STATES = [
    "AS", "BC", "BS", "CC", "CL", "CM", "CS", "CH", "DF", "DG", "GT", "GR", "HG", "JC", "MC", "MN",
    "MS", "NT", "NL", "OC", "PL", "QT", "QR", "SP", "SL", "SR", "TC", "TS", "TL", "VZ", "YN", "ZS",
]  # fmt: skip
AS_OF = dt.date(2026, 1, 1)
DUPLICATE_SHARE = 0.33
TWIN_SHARE = 0.03
NAMESAKE_SHARE = 0.02
FATHER_SON_SHARE = 0.02
ABBREVIATIONS = {"María": "Ma.", "José": "J."}


def _nicknames() -> dict[str, list[str]]:
    """formal (folded) → nicknames, from the table the matcher reads."""
    out: dict[str, list[str]] = {}
    with matching.NICKNAMES_CSV.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["kind"] == "nickname":
                out.setdefault(row["formal"], []).append(row["short"].capitalize())
    return out


class _Maker:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.names = NamePicker("OC")
        self.nicknames = _nicknames()
        self.taken: set[str] = set()
        self.next_person = 0

    def person(
        self,
        *,
        sex: str | None = None,
        born: dt.date | None = None,
        given: str | None = None,
        first: str | None = None,
        second: str | None = None,
        state: str | None = None,
    ) -> dict[str, str]:
        rng = self.rng
        sex = sex or rng.choice("FM")
        born = born or AS_OF - dt.timedelta(days=rng.randrange(0, 90 * 365))
        given = given or self.names.given_name(sex, born.year, rng)
        first = first or self.names.surname(rng)
        second = second if second is not None else self.names.surname(rng)
        state = state or rng.choice(STATES)
        stem = synth_curp.stem(
            given_names=given,
            first_surname=first,
            second_surname=second,
            birth_date=born,
            sex=sex,
            state=state,
        )
        curp = synth_curp.complete(stem, born.year, self.taken) or ""
        self.next_person += 1
        return {
            "given_names": given,
            "first_surname": first,
            "second_surname": second,
            "sex": {"F": "M", "M": "H"}[sex],
            "birth_date": born.isoformat(),
            "curp": curp if rng.random() < 0.85 else "",
            "state": state,
            "municipality": f"{rng.randrange(1, 125):03d}",
            "phone": f"{rng.randrange(2, 10)}{rng.randrange(10**8, 10**9)}"
            if rng.random() < 0.6
            else "",
            "person_id": f"P{self.next_person}",
        }

    # --- the errors a clinic makes -------------------------------------------------------------

    def garble(self, clean: dict[str, str]) -> dict[str, str]:
        rng = self.rng
        rec = dict(clean)
        errors = [
            self._no_accents,
            self._swap_surnames,
            self._drop_second,
            self._nickname,
            self._shorten,
            self._swap_day_month,
            self._date_typo,
            self._surname_typo,
            self._curp_typo,
            self._curp_missing,
            self._phone,
        ]
        for error in rng.sample(errors, rng.choice((1, 1, 2, 2, 3))):
            error(rec)
        return rec

    def _no_accents(self, rec: dict[str, str]) -> None:
        for key in ("given_names", "first_surname", "second_surname"):
            rec[key] = matching.fold(rec[key]).upper()

    def _swap_surnames(self, rec: dict[str, str]) -> None:
        if rec["second_surname"]:
            rec["first_surname"], rec["second_surname"] = (
                rec["second_surname"],
                rec["first_surname"],
            )

    def _drop_second(self, rec: dict[str, str]) -> None:
        rec["second_surname"] = ""

    def _nickname(self, rec: dict[str, str]) -> None:
        words = rec["given_names"].split()
        for i, word in enumerate(words):
            options = self.nicknames.get(matching.fold(word))
            if options:
                rec["given_names"] = self.rng.choice(options)
                return
            if i == 0 and len(words) > 1:
                continue

    def _shorten(self, rec: dict[str, str]) -> None:
        words = rec["given_names"].split()
        if len(words) > 1:
            if words[0] in ABBREVIATIONS and self.rng.random() < 0.5:
                words[0] = ABBREVIATIONS[words[0]]
                rec["given_names"] = " ".join(words)
            else:
                rec["given_names"] = words[-1] if words[0] in ABBREVIATIONS else words[0]

    def _swap_day_month(self, rec: dict[str, str]) -> None:
        born = dt.date.fromisoformat(rec["birth_date"])
        if born.day <= 12 and born.day != born.month:
            rec["birth_date"] = born.replace(month=born.day, day=born.month).isoformat()

    def _date_typo(self, rec: dict[str, str]) -> None:
        born = dt.date.fromisoformat(rec["birth_date"])
        which = self.rng.randrange(3)
        try:
            if which == 0:
                born = born.replace(year=born.year + self.rng.choice((-1, 1)))
            elif which == 1:
                born = born.replace(day=max(1, min(28, born.day + self.rng.choice((-1, 1)))))
            else:
                born = born.replace(month=max(1, min(12, born.month + self.rng.choice((-1, 1)))))
        except ValueError:
            return
        rec["birth_date"] = born.isoformat()

    def _surname_typo(self, rec: dict[str, str]) -> None:
        word = rec["first_surname"]
        if len(word) > 3:
            i = self.rng.randrange(1, len(word) - 2)
            rec["first_surname"] = word[:i] + word[i + 1] + word[i] + word[i + 2 :]

    def _curp_typo(self, rec: dict[str, str]) -> None:
        value = rec["curp"]
        if value:
            i = self.rng.randrange(len(value))
            rec["curp"] = (
                value[:i] + self.rng.choice("ABCDEFGHJKLMNPRSTUVXZ0123456789") + value[i + 1 :]
            )

    def _curp_missing(self, rec: dict[str, str]) -> None:
        rec["curp"] = ""

    def _phone(self, rec: dict[str, str]) -> None:
        rec["phone"] = "" if self.rng.random() < 0.5 else f"55{self.rng.randrange(10**7, 10**8)}"


def labelled_records(people: int, seed: int = 1) -> Iterator[dict[str, str]]:
    """About `people` synthetic people and their records (rows of COLUMNS), shuffled."""
    rng = random.Random(seed)
    maker = _Maker(rng)
    rows: list[dict[str, str]] = []
    while maker.next_person < people:
        clean = maker.person()
        rows.append(clean)
        if rng.random() < DUPLICATE_SHARE:
            rows += [maker.garble(clean) for _ in range(rng.choice((1, 1, 1, 2, 3)))]
        draw = rng.random()
        born = dt.date.fromisoformat(clean["birth_date"])
        sex = {"M": "F", "H": "M"}[clean["sex"]]
        if draw < TWIN_SHARE:
            twin_sex = rng.choice("FM")
            rows.append(
                maker.person(
                    sex=twin_sex,
                    born=born,
                    first=clean["first_surname"],
                    second=clean["second_surname"],
                    state=clean["state"],
                )
            )
        elif draw < TWIN_SHARE + NAMESAKE_SHARE:
            rows.append(
                maker.person(
                    sex=sex,
                    given=clean["given_names"],
                    first=clean["first_surname"],
                    second=clean["second_surname"],
                )
            )
        elif draw < TWIN_SHARE + NAMESAKE_SHARE + FATHER_SON_SHARE and sex == "M":
            try:
                father_born = born.replace(year=born.year - rng.randrange(20, 40))
            except ValueError:
                father_born = born.replace(year=born.year - 21, day=28)
            rows.append(
                maker.person(
                    sex="M",
                    born=father_born,
                    given=clean["given_names"],
                    first=clean["first_surname"],
                    second=maker.names.surname(rng),
                    state=clean["state"],
                )
            )
    rng.shuffle(rows)
    for index, row in enumerate(rows, start=1):
        yield {"record_id": f"R{index}", **row}


def write_labelled(path: Path, people: int, seed: int = 1) -> int:
    count = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        for row in labelled_records(people, seed):
            writer.writerow(row)
            count += 1
    return count
