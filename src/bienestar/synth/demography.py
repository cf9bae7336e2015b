"""Synthetic people of one state and the households they live in.

Ages and sexes are drawn from the 2020 census pyramid; then households are formed from that pool
(so the pyramid holds exactly): heads are chosen by age- and sex-specific headship rates, partners
matched by age, children placed with a mother-figure 15-49 years older, young adults stay as children,
older adults live with a son or daughter, and whoever is left joins as sibling or other relative or
lives alone. Surnames follow Mexican usage: a child carries the father's first surname and the
mother's first surname.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from bienestar.synth.tables import (
    AGE_PYRAMID_2020,
    FEMALE_NAMES,
    HOUSEHOLD_SIZES,
    MALE_NAMES,
    MAYA_STATES,
    MAYA_SURNAMES,
    MEAN_HOUSEHOLD_SIZE,
    SURNAMES,
)

MIN_SIBLING_SPACING = 300  # days
HEAD, SPOUSE, CHILD, PARENT, GRANDCHILD, SIBLING, OTHER, NON_RELATIVE = (
    "head",
    "spouse",
    "child",
    "parent",
    "grandchild",
    "sibling",
    "other_relative",
    "non_relative",
)


@dataclass(slots=True)
class SynthPerson:
    sex: str  # "F" or "M"
    birth_date: dt.date
    age: int
    state: str  # INEGI key of the state of residence
    household: int = -1
    relationship: str = ""
    given_names: str = ""
    first_surname: str = ""
    second_surname: str = ""


@dataclass(slots=True)
class SynthHousehold:
    head: int
    capacity: int
    members: list[int] = field(default_factory=list)
    mother: int = -1  # female partner among head and spouse, if any
    father: int = -1
    child_births: list[int] = field(default_factory=list)  # ordinal birth dates of the children


def age_on(birth: dt.date, on: dt.date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


class Pyramid:
    """Draws (sex, age) from the national 2020 pyramid."""

    def __init__(self) -> None:
        cells: list[tuple[str, int]] = []
        weights: list[float] = []
        for lower, men, women in AGE_PYRAMID_2020:
            cells += [("M", lower), ("F", lower)]
            weights += [men, women]
        self.cells = cells
        total = 0.0
        self.cum: list[float] = []
        for w in weights:
            total += w
            self.cum.append(total)

    def draw(self, rng: random.Random) -> tuple[str, int]:
        sex, lower = rng.choices(self.cells, cum_weights=self.cum)[0]
        if lower == 85:
            return sex, 85 + min(14, int(rng.expovariate(1 / 4.5)))
        return sex, lower + rng.randrange(5)


def draw_people(n: int, state: str, as_of: dt.date, rng: random.Random) -> list[SynthPerson]:
    pyramid = Pyramid()
    ref = as_of.toordinal()
    out = []
    for _ in range(n):
        sex, age = pyramid.draw(rng)
        birth = dt.date.fromordinal(ref - int((age + rng.random()) * 365.2425))
        out.append(SynthPerson(sex=sex, birth_date=birth, age=age_on(birth, as_of), state=state))
    return out


def _headship(sex: str, age: int) -> float:
    if sex == "M":
        if age < 25:
            return 0.15
        if age < 30:
            return 0.45
        if age < 35:
            return 0.65
        if age < 45:
            return 0.75
        return 0.8 if age < 65 else 0.72
    if age < 25:
        return 0.06
    if age < 35:
        return 0.14
    if age < 45:
        return 0.24
    return 0.3 if age < 65 else 0.45


def _partner_probability(sex: str, age: int) -> float:
    if sex == "F":
        return 0.2
    if age < 25:
        return 0.55
    if age < 65:
        return 0.87
    return 0.75 if age < 75 else 0.55


class _Buckets:
    """Households indexed by an age (of the mother-figure or of the head), for quick matching."""

    def __init__(self) -> None:
        self.open: dict[int, list[int]] = {}  # households with room left (pruned lazily)
        self.all: dict[int, list[int]] = {}

    def add(self, age: int, h: int) -> None:
        self.open.setdefault(age, []).append(h)
        self.all.setdefault(age, []).append(h)

    def pick(
        self,
        target: int,
        lo: int,
        hi: int,
        rng: random.Random,
        households: list[SynthHousehold],
        overflow: bool,
        accept: Callable[[int], bool] | None = None,
    ) -> int:
        """A household whose age is nearest `target` within [lo, hi] (and that `accept`s); -1 if none."""
        table = self.all if overflow else self.open
        for distance in range(max(target - lo, hi - target) + 1):
            for age in (target,) if distance == 0 else (target - distance, target + distance):
                if age < lo or age > hi:
                    continue
                bucket = table.get(age)
                refusals = 0
                while bucket and refusals < 4:
                    i = rng.randrange(len(bucket))
                    h = bucket[i]
                    if not overflow and len(households[h].members) >= households[h].capacity:
                        bucket[i] = bucket[-1]
                        bucket.pop()
                    elif accept is None or accept(h):
                        return h
                    else:
                        refusals += 1
        return -1


def form_households(people: list[SynthPerson], rng: random.Random) -> list[SynthHousehold]:
    """Group `people` (one state's pool) into households; sets each person's household and role."""
    if not people:
        return []
    adults = [i for i, p in enumerate(people) if p.age >= 18]
    if not adults:
        adults = [max(range(len(people)), key=lambda i: (people[i].age, -i))]
    target = min(len(adults), max(1, round(len(people) / MEAN_HOUSEHOLD_SIZE)))
    # Weighted sampling without replacement (Efraimidis-Spirakis): key = u ** (1 / w).
    keyed = sorted(
        ((rng.random() ** (1.0 / _headship(people[i].sex, people[i].age)), i) for i in adults),
        reverse=True,
    )
    heads = [i for _k, i in keyed[:target]]
    sizes = [s for s, _w in HOUSEHOLD_SIZES]
    size_weights = [w for _s, w in HOUSEHOLD_SIZES]
    households: list[SynthHousehold] = []

    def new_household(head: int, capacity: int) -> int:
        h = len(households)
        households.append(SynthHousehold(head=head, capacity=capacity, members=[head]))
        people[head].household, people[head].relationship = h, HEAD
        if people[head].sex == "F":
            households[h].mother = head
        else:
            households[h].father = head
        return h

    for head_index in heads:
        new_household(head_index, rng.choices(sizes, weights=size_weights)[0])

    # Partners: opposite sex, age-matched, from adults who are not heads.
    pool: dict[tuple[str, int], list[int]] = {}
    for i in adults:
        if people[i].household < 0:
            pool.setdefault((people[i].sex, people[i].age), []).append(i)
    for h, hh in enumerate(households):
        head = people[hh.head]
        if rng.random() >= _partner_probability(head.sex, head.age):
            continue
        hh.capacity = max(hh.capacity, 2)
        gap = round(rng.gauss(3, 4))
        want_sex = "F" if head.sex == "M" else "M"
        want_age = head.age - gap if head.sex == "M" else head.age + gap
        for step in range(0, 21):
            age = want_age + (step + 1) // 2 * (1 if step % 2 else -1)
            bucket = pool.get((want_sex, age))
            if age >= 18 and bucket:
                j = bucket.pop(rng.randrange(len(bucket)))
                hh.members.append(j)
                people[j].household, people[j].relationship = h, SPOUSE
                if want_sex == "F":
                    hh.mother = j
                else:
                    hh.father = j
                break

    by_parent_age = _Buckets()
    by_head_age = _Buckets()
    for h, hh in enumerate(households):
        parent = hh.mother if hh.mother >= 0 else hh.head
        by_parent_age.add(people[parent].age, h)
        by_head_age.add(people[hh.head].age, h)

    rest = [i for i, p in enumerate(people) if p.household < 0]
    rng.shuffle(rest)
    rest.sort(key=lambda i: 0 if people[i].age < 18 else 1 if people[i].age < 35 else 2)

    def join(i: int, h: int, relationship: str) -> None:
        households[h].members.append(i)
        people[i].household, people[i].relationship = h, relationship
        if relationship == CHILD:
            households[h].child_births.append(people[i].birth_date.toordinal())

    def spaced(i: int) -> Callable[[int], bool]:
        """Siblings are born at least ~10 months apart."""
        born = people[i].birth_date.toordinal()
        return lambda h: all(
            abs(born - other) >= MIN_SIBLING_SPACING for other in households[h].child_births
        )

    for i in rest:
        age = people[i].age
        if age < 18:
            gap = min(45, max(16, round(rng.gauss(27, 6))))
            h = by_parent_age.pick(age + gap, age + 15, age + 49, rng, households, False, spaced(i))
            if h < 0:
                h = by_parent_age.pick(
                    age + gap, age + 15, age + 49, rng, households, True, spaced(i)
                )
            if h >= 0:
                join(i, h, CHILD)
                continue
            h = by_head_age.pick(age + 55, age + 34, age + 90, rng, households, overflow=True)
            if h >= 0:
                join(i, h, GRANDCHILD)
            else:
                join(i, rng.randrange(len(households)), OTHER)
            continue
        # Adults: first a household with room; failing that most still live with relatives
        # (crowded households are common), and the rest live alone.
        crowd = rng.random() < 0.8
        if age < 35:
            gap = min(45, max(17, round(rng.gauss(27, 6))))
            for overflow in (False, True) if crowd else (False,):
                h = by_parent_age.pick(
                    age + gap, age + 16, age + 45, rng, households, overflow, spaced(i)
                )
                if h >= 0:
                    break
            if h >= 0:
                join(i, h, CHILD)
                continue
        elif age >= 55:
            for overflow in (False, True) if crowd else (False,):
                h = by_head_age.pick(age - 27, age - 45, age - 16, rng, households, overflow)
                if h >= 0:
                    break
            if h >= 0:
                join(i, h, PARENT)
                continue
        for overflow in (False, True) if crowd else (False,):
            h = by_head_age.pick(age, age - 12, age + 12, rng, households, overflow)
            if h >= 0:
                break
        if h >= 0:
            roll = rng.random()
            join(i, h, SIBLING if roll < 0.6 else OTHER if roll < 0.85 else NON_RELATIVE)
            continue
        h = new_household(i, 1)
        by_head_age.add(age, h)
    return households


class NamePicker:
    """Given names by sex and birth cohort, surnames by national frequency (plus Maya ones in the
    Yucatán peninsula)."""

    def __init__(self, state: str) -> None:
        self.given: dict[tuple[str, int], tuple[list[str], list[float]]] = {}
        for sex, table in (("F", FEMALE_NAMES), ("M", MALE_NAMES)):
            for cohort in (0, 1, 2):
                self.given[(sex, cohort)] = (
                    [n for n, *_w in table],
                    _cum([(w0, w1, w2)[cohort] for _n, w0, w1, w2 in table]),
                )
        surnames = list(SURNAMES) + (list(MAYA_SURNAMES) if state in MAYA_STATES else [])
        self.surnames = [s for s, _w in surnames]
        self.surname_cum = _cum([w for _s, w in surnames])

    def given_name(self, sex: str, birth_year: int, rng: random.Random) -> str:
        cohort = 0 if birth_year < 1975 else 1 if birth_year < 2000 else 2
        names, cum = self.given[(sex, cohort)]
        return rng.choices(names, cum_weights=cum)[0]

    def surname(self, rng: random.Random) -> str:
        return rng.choices(self.surnames, cum_weights=self.surname_cum)[0]


def _cum(weights: list[float]) -> list[float]:
    out, total = [], 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


def name_household(
    people: list[SynthPerson], hh: SynthHousehold, names: NamePicker, rng: random.Random
) -> None:
    """Give every member names consistent with the household's kinship."""
    head = people[hh.head]
    for i in hh.members:
        p = people[i]
        p.given_names = names.given_name(p.sex, p.birth_date.year, rng)
        rel = p.relationship
        if rel == CHILD:
            father = people[hh.father] if hh.father >= 0 else None
            mother = people[hh.mother] if hh.mother >= 0 else None
            if father is not None and mother is not None:
                p.first_surname, p.second_surname = father.first_surname, mother.first_surname
            elif mother is not None:
                # Registered by the mother alone (her two surnames), or recognised by the father.
                if rng.random() < 0.6:
                    p.first_surname, p.second_surname = mother.first_surname, mother.second_surname
                else:
                    p.first_surname, p.second_surname = names.surname(rng), mother.first_surname
            elif father is not None:
                p.first_surname, p.second_surname = father.first_surname, names.surname(rng)
        elif rel == GRANDCHILD:
            if rng.random() < 0.5:  # a son's child
                p.first_surname, p.second_surname = head.first_surname, names.surname(rng)
            else:  # a daughter's child
                p.first_surname, p.second_surname = names.surname(rng), head.first_surname
        elif rel == PARENT:
            own = head.first_surname if p.sex == "M" else head.second_surname
            p.first_surname, p.second_surname = own, names.surname(rng)
        elif rel == SIBLING:
            p.first_surname, p.second_surname = head.first_surname, head.second_surname
        if not p.first_surname:
            p.first_surname, p.second_surname = names.surname(rng), names.surname(rng)
