"""Households formed from a census-shaped pool (no database needed)."""

import collections
import datetime as dt
import itertools
import random

from bienestar.synth.demography import NamePicker, draw_people, form_households, name_household
from bienestar.synth.generate import apportion

AS_OF = dt.date(2026, 1, 1)


def world(n: int = 20000):  # type: ignore[no-untyped-def]
    rng = random.Random(5)
    people = draw_people(n, "13", AS_OF, rng)
    households = form_households(people, rng)
    names = NamePicker("13")
    for hh in households:
        name_household(people, hh, names, rng)
    return people, households


def test_everyone_lives_in_exactly_one_household_with_one_head():
    people, households = world()
    members = [i for hh in households for i in hh.members]
    assert sorted(members) == list(range(len(people)))
    for hh in households:
        assert [people[i].relationship for i in hh.members].count("head") == 1
        assert people[hh.members[0]].relationship == "head"


def test_household_size_and_composition_are_realistic():
    people, households = world()
    mean = len(people) / len(households)
    assert 3.1 <= mean <= 3.7
    sizes = collections.Counter(len(hh.members) for hh in households)
    assert 0.07 <= sizes[1] / len(households) <= 0.18
    female_heads = sum(people[hh.head].sex == "F" for hh in households) / len(households)
    assert 0.25 <= female_heads <= 0.42


def test_kinship_ages_and_surnames_are_consistent():
    people, households = world()
    for hh in households:
        head = people[hh.head]
        mother = people[hh.mother] if hh.mother >= 0 else None
        father = people[hh.father] if hh.father >= 0 else None
        births = sorted(
            people[i].birth_date for i in hh.members if people[i].relationship == "child"
        )
        assert all((b - a).days >= 300 for a, b in itertools.pairwise(births))
        for i in hh.members:
            p = people[i]
            if p.relationship == "spouse":
                assert p.sex != head.sex and p.age >= 18
            if p.relationship == "child":
                parent = mother or head
                assert 15 <= parent.age - p.age <= 50
                if mother and father:
                    assert (p.first_surname, p.second_surname) == (
                        father.first_surname,
                        mother.first_surname,
                    )
            if p.relationship == "parent":
                assert p.age - head.age >= 16
                assert p.first_surname in (head.first_surname, head.second_surname)
            assert p.given_names and p.first_surname


def test_apportion_is_exact_and_proportional():
    sizes = apportion(300, [("09", 9.2), ("13", 3.1), ("20", 4.1)])
    assert sum(sizes.values()) == 300
    assert sizes == {"09": 168, "13": 57, "20": 75}
