"""One state's synthetic population, complete: people, households, identifiers, affiliation, health.

Everything random comes from generators seeded by (seed, state, purpose), so a state's population
depends only on the seed, its size and the reference data; never on the clock or on `uuid4`.
"""

from __future__ import annotations

import bisect
import datetime as dt
import random
import uuid
from dataclasses import dataclass, field

from bienestar.people import national_id
from bienestar.synth import curp
from bienestar.synth.demography import (
    CHILD,
    GRANDCHILD,
    HEAD,
    SPOUSE,
    NamePicker,
    SynthHousehold,
    SynthPerson,
    draw_people,
    form_households,
    name_household,
)
from bienestar.synth.health import Health, draw_health
from bienestar.synth.tables import (
    INCOME_BANDS,
    INSURED_SPLIT,
    NEIGHBOURHOODS,
    STATES,
    STREETS,
    StateFacts,
)

# Share without a CURP: some births are registered late, and a few adults never were.
NO_CURP_INFANTS = 0.06
NO_CURP_OTHERS = 0.01
DISABILITY_BY_AGE = ((0, 0.015), (15, 0.02), (30, 0.04), (60, 0.13), (75, 0.3))
DISABILITY_KINDS = (
    ("physical", 0.45),
    ("visual", 0.3),
    ("hearing", 0.1),
    ("speech", 0.03),
    ("intellectual", 0.05),
    ("psychosocial", 0.04),
    ("multiple", 0.03),
)
STREET_KINDS = (
    ("Calle", 0.62),
    ("Avenida", 0.15),
    ("Privada", 0.1),
    ("Callejón", 0.05),
    ("Andador", 0.08),
)


@dataclass(frozen=True, slots=True)
class Municipality:
    territory_id: int
    path: str
    name: str
    weight: float
    latitude: float | None = None
    longitude: float | None = None


@dataclass(slots=True)
class StateInput:
    code: str  # INEGI key, e.g. "20"
    territory_id: int
    name: str
    abbreviation: str
    uninsured_share: float
    weight: float  # population, for apportioning people among states
    municipalities: list[Municipality]


@dataclass
class Taken:
    """Values already used, in the database or earlier in this run; kept unique across the run."""

    curp_prefixes: set[str] = field(default_factory=set)
    health_ids: set[str] = field(default_factory=set)
    nss: set[str] = field(default_factory=set)
    licences: set[str] = field(default_factory=set)
    clues: set[str] = field(default_factory=set)


@dataclass(slots=True)
class Resident:
    """A synthetic person with everything that will be written about them."""

    person: SynthPerson
    public_id: uuid.UUID
    national_health_id: str
    curp: str | None
    nss: str | None
    indigenous: bool
    indigenous_language: str
    disability: str
    health: Health
    affiliation_start: dt.date | None
    member_since: dt.date


@dataclass(slots=True)
class Home:
    household: SynthHousehold
    public_id: uuid.UUID
    municipality: Municipality
    scheme: str
    address_line: str
    neighbourhood: str
    postal_code: str
    latitude: float | None
    longitude: float | None
    rooms: int
    dirt_floor: bool
    piped_water: bool
    drainage: bool
    electricity: bool
    income_band: str
    residents: list[Resident] = field(default_factory=list)
    facility_id: int | None = None


def streams(seed: int, state: str) -> dict[str, random.Random]:
    """Independent generators per purpose, so adding a draw in one does not shift the others."""
    names = ("people", "households", "names", "places", "ids", "health")
    return {n: random.Random(f"bienestar.synth/{seed}/{state}/{n}") for n in names}


def _cum(weights: list[float]) -> list[float]:
    out, total = [], 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


def _nss(birth: dt.date, age: int, rng: random.Random, taken: set[str]) -> str:
    """IMSS social-security number: subdelegation, year registered, birth year, sequence, Luhn digit."""
    while True:
        registered = birth.year + (min(age, rng.randint(16, 30)) if age >= 16 else 0)
        body = f"{rng.randint(1, 99):02d}{registered % 100:02d}{birth.year % 100:02d}{rng.randrange(10000):04d}"
        value = body + _luhn(body)
        if value not in taken:
            taken.add(value)
            return value


def _luhn(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


def generate_state(
    *,
    state: StateInput,
    people: int,
    seed: int,
    as_of: dt.date,
    taken: Taken,
    birth_states: tuple[list[str], list[float]],
) -> list[Home]:
    """The homes of `people` synthetic residents of `state`, with all their attributes."""
    if people <= 0:
        return []
    rng = streams(seed, state.code)
    facts = STATES.get(state.code)
    deprivation = facts.deprivation if facts else 0.45
    pop = draw_people(people, state.code, as_of, rng["people"])
    households = form_households(pop, rng["households"])
    names = NamePicker(state.code)
    muni_cum = _cum([m.weight for m in state.municipalities])
    schemes = [s for s, _w in INSURED_SPLIT]
    scheme_cum = _cum([w for _s, w in INSURED_SPLIT])
    street_kinds = [k for k, _w in STREET_KINDS]
    street_cum = _cum([w for _k, w in STREET_KINDS])
    postal = facts.postal_prefixes if facts else (1, 99)
    homes: list[Home] = []
    places = rng["places"]
    for hh in households:
        name_household(pop, hh, names, rng["names"])
        muni = places.choices(state.municipalities, cum_weights=muni_cum)[0]
        insured = places.random() >= state.uninsured_share
        scheme = places.choices(schemes, cum_weights=scheme_cum)[0] if insured else "none"
        wealth = places.gauss(0, 1) + (0.5 if insured else -0.5) - 1.2 * deprivation + 0.5
        poor = wealth < -0.5
        size = len(hh.members)
        number = places.randint(1, 2500) if places.random() < 0.85 else 0
        line = (
            f"{places.choices(street_kinds, cum_weights=street_cum)[0]} {places.choice(STREETS)} "
        )
        line += f"{number}" if number else "s/n"
        if places.random() < 0.1:
            line += f" int. {places.randint(1, 12)}"
        home = Home(
            household=hh,
            public_id=_uuid(places),
            municipality=muni,
            scheme=scheme,
            address_line=line,
            neighbourhood=places.choice(NEIGHBOURHOODS),
            postal_code=f"{places.randint(postal[0], postal[1]):02d}{places.randrange(1000):03d}",
            latitude=round(muni.latitude + places.gauss(0, 0.02), 6)
            if muni.latitude is not None
            else None,
            longitude=round(muni.longitude + places.gauss(0, 0.02), 6)
            if muni.longitude is not None
            else None,
            rooms=max(
                1, min(8, int(size / 2.2 + places.random() * 1.5 + max(0.0, wealth) * 0.6 + 0.5))
            ),
            dirt_floor=places.random()
            < ((0.03 + 0.15 * deprivation) if poor else (0.004 + 0.02 * deprivation)),
            piped_water=places.random() < 0.97 - 0.12 * deprivation - (0.06 if poor else 0),
            drainage=places.random() < 0.97 - 0.1 * deprivation - (0.06 if poor else 0),
            electricity=places.random() < 0.997 - 0.015 * deprivation,
            income_band=INCOME_BANDS[
                bisect.bisect([-1.3, -0.3, 0.7, 1.6], wealth + places.gauss(0, 0.4))
            ],
        )
        _residents(home, pop, state, facts, as_of, rng, taken, birth_states)
        homes.append(home)
    return homes


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _residents(
    home: Home,
    pop: list[SynthPerson],
    state: StateInput,
    facts: StateFacts | None,
    as_of: dt.date,
    rng: dict[str, random.Random],
    taken: Taken,
    birth_states: tuple[list[str], list[float]],
) -> None:
    ids, places, health_rng = rng["ids"], rng["places"], rng["health"]
    hh = home.household
    speakers = facts.speakers if facts else 0.06
    self_ascribed = facts.self_ascribed if facts else 0.19
    languages = facts.languages if facts else ("Náhuatl",)
    indigenous = places.random() < self_ascribed
    language = languages[0] if places.random() < 0.6 else places.choice(languages)
    speak_share = min(1.0, speakers / self_ascribed) if self_ascribed else 0.0
    head_age = pop[hh.head].age
    head_since = as_of - dt.timedelta(
        days=int(places.uniform(0.5, max(1.0, min(35.0, head_age - 17.0))) * 365.25)
    )
    affiliated_since = as_of - dt.timedelta(days=int(places.uniform(0.2, 25) * 365.25))
    for i in hh.members:
        p = pop[i]
        age_factor = 0.0 if p.age < 3 else 0.55 if p.age < 15 else 1.0 if p.age < 50 else 1.4
        speaks = indigenous and places.random() < speak_share * age_factor
        disability = "none"
        rate = DISABILITY_BY_AGE[0][1]
        for lower, r in DISABILITY_BY_AGE:
            if p.age >= lower:
                rate = r
        if places.random() < rate:
            disability = places.choices(
                [k for k, _w in DISABILITY_KINDS], weights=[w for _k, w in DISABILITY_KINDS]
            )[0]
        if p.relationship in (HEAD, SPOUSE):
            since = head_since
        elif p.relationship in (CHILD, GRANDCHILD) and p.birth_date >= head_since:
            since = p.birth_date
        else:
            since = max(
                p.birth_date, as_of - dt.timedelta(days=int(places.uniform(0.1, 15) * 365.25))
            )
        nhid = national_id.generate(ids)
        while nhid in taken.health_ids:
            nhid = national_id.generate(ids)
        taken.health_ids.add(nhid)
        key = None
        if ids.random() >= (NO_CURP_INFANTS if p.age < 1 else NO_CURP_OTHERS):
            born_in = (
                state.code
                if ids.random() < 0.85
                else ids.choices(birth_states[0], cum_weights=birth_states[1])[0]
            )
            born_facts = STATES.get(born_in)
            stem = curp.stem(
                given_names=p.given_names,
                first_surname=p.first_surname,
                second_surname=p.second_surname,
                birth_date=p.birth_date,
                sex=p.sex,
                state=born_facts.abbreviation if born_facts else state.abbreviation,
            )
            key = curp.complete(stem, p.birth_date.year, taken.curp_prefixes)
        nss = _nss(p.birth_date, p.age, ids, taken.nss) if home.scheme == "imss" else None
        home.residents.append(
            Resident(
                person=p,
                public_id=_uuid(ids),
                national_health_id=nhid,
                curp=key,
                nss=nss,
                indigenous=indigenous,
                indigenous_language=language if speaks else "",
                disability=disability,
                health=draw_health(
                    p.sex, (as_of - p.birth_date).days / 365.2425, as_of, health_rng
                ),
                affiliation_start=max(p.birth_date, affiliated_since)
                if home.scheme != "none"
                else None,
                member_since=since,
            )
        )
