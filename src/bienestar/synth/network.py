"""The facilities that serve a synthetic population, and their staff.

Facilities come from the loaded catalogue when it has IMSS-Bienestar units (state services in the
states that did not join IMSS-Bienestar) of the right type in the state; what is missing is created
with a valid-format CLUES (state key + "IMB" or "SSA" + 6 digits from 900001 up, a range the real
catalogue does not use) and `source="synth"`. Staffing follows the
shape of the real network: health centres with family doctors and nurses, mostly filled; general
hospitals with the six core specialties, mostly filled; rural community hospitals that should staff
the six core specialties and are short of them (anaesthesiology worst), more so in deprived states.
"""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
import uuid
from dataclasses import dataclass, field

from bienestar.facilities.models import Facility, FacilityType, Institution, LevelOfCare
from bienestar.synth.demography import NamePicker
from bienestar.synth.models import SynthFacilityRole
from bienestar.synth.population import Municipality
from bienestar.synth.tables import NEIGHBOURHOODS
from bienestar.workforce.models import Specialty

PEOPLE_PER_CENTRE = 2500
PEOPLE_PER_GENERAL_HOSPITAL = 40000
PEOPLE_PER_RURAL_HOSPITAL = 15000
SYNTH_CLUES_FIRST = 900001
CORE = (
    "general_surgery",
    "anaesthesiology",
    "paediatrics",
    "obstetrics_gynaecology",
    "internal_medicine",
    "emergency_medicine",
)
# key: (Spanish name, English name, is_core, is_medical, codes other loaders may have used)
SPECIALTIES: dict[str, tuple[str, str, bool, bool, tuple[str, ...]]] = {
    "family_medicine": (
        "Medicina familiar",
        "Family medicine",
        False,
        True,
        ("medicina_familiar", "MF"),
    ),
    "general_practice": (
        "Medicina general",
        "General practice",
        False,
        True,
        ("general_medicine", "medicina_general", "MG"),
    ),
    "nursing": ("Enfermería", "Nursing", False, False, ("general_nursing", "enfermeria", "ENF")),
    "general_surgery": ("Cirugía general", "General surgery", True, True, ("cirugia_general",)),
    "anaesthesiology": (
        "Anestesiología",
        "Anaesthesiology",
        True,
        True,
        ("anesthesiology", "anestesiologia"),
    ),
    "paediatrics": ("Pediatría", "Paediatrics", True, True, ("pediatrics", "pediatria")),
    "obstetrics_gynaecology": (
        "Ginecología y obstetricia",
        "Obstetrics and gynaecology",
        True,
        True,
        (
            "gynaecology_obstetrics",
            "gynecology_obstetrics",
            "obstetrics_gynecology",
            "ginecologia_obstetricia",
        ),
    ),
    "internal_medicine": (
        "Medicina interna",
        "Internal medicine",
        True,
        True,
        ("medicina_interna",),
    ),
    "emergency_medicine": (
        "Medicina de urgencias",
        "Emergency medicine",
        True,
        True,
        ("urgencias", "urgencias_medicas"),
    ),
}
# Goal range and filled share per role and specialty. Core shares at rural hospitals are lowered
# further by the state's deprivation.
STAFFING: dict[str, tuple[tuple[str, int, int, float], ...]] = {
    SynthFacilityRole.PRIMARY_CARE: (
        ("family_medicine", 1, 3, 0.88),
        ("general_practice", 0, 1, 0.85),
        ("nursing", 2, 5, 0.9),
    ),
    SynthFacilityRole.GENERAL_HOSPITAL: (
        ("general_surgery", 3, 7, 0.85),
        ("anaesthesiology", 4, 8, 0.72),
        ("paediatrics", 3, 7, 0.85),
        ("obstetrics_gynaecology", 4, 8, 0.88),
        ("internal_medicine", 3, 7, 0.84),
        ("emergency_medicine", 4, 8, 0.8),
        ("general_practice", 4, 8, 0.9),
        ("nursing", 25, 50, 0.88),
    ),
    SynthFacilityRole.RURAL_HOSPITAL: (
        ("general_surgery", 1, 2, 0.5),
        ("anaesthesiology", 1, 2, 0.3),
        ("paediatrics", 1, 2, 0.5),
        ("obstetrics_gynaecology", 1, 2, 0.6),
        ("internal_medicine", 1, 2, 0.4),
        ("emergency_medicine", 1, 2, 0.45),
        ("general_practice", 3, 6, 0.85),
        ("nursing", 10, 20, 0.85),
    ),
}
INSTITUTION_CODE: dict[str, str] = {
    Institution.IMSS_BIENESTAR: "IMB",
    Institution.STATE_SERVICES: "SSA",
}
# Ranges of consulting rooms, beds, operating rooms and delivery rooms of created facilities.
SIZES: dict[str, tuple[tuple[int, int], ...]] = {
    SynthFacilityRole.PRIMARY_CARE: ((1, 4), (0, 0), (0, 0), (0, 0)),
    SynthFacilityRole.GENERAL_HOSPITAL: ((10, 24), (40, 120), (3, 6), (1, 3)),
    SynthFacilityRole.RURAL_HOSPITAL: ((3, 6), (12, 30), (1, 2), (1, 3)),
}
# Youngest age in post, and years from birth to the professional licence.
CAREER: dict[str, tuple[int, int]] = {
    "nursing": (24, 22),
    "general_practice": (24, 25),
    "family_medicine": (30, 25),
}
SPECIALIST_CAREER = (31, 25)
ROLE_TYPE: dict[str, str] = {
    SynthFacilityRole.PRIMARY_CARE: FacilityType.HEALTH_CENTRE,
    SynthFacilityRole.GENERAL_HOSPITAL: FacilityType.GENERAL_HOSPITAL,
    SynthFacilityRole.RURAL_HOSPITAL: FacilityType.RURAL_HOSPITAL,
}


def _fold(text: str) -> str:
    return "".join(
        c for c in unicodedata.normalize("NFD", text.lower()) if unicodedata.category(c) != "Mn"
    )


def resolve_specialties(rng: random.Random) -> dict[str, Specialty]:
    """The specialties staffing needs, found by code or name among those loaded, else created."""
    loaded = list(Specialty.objects.order_by("code"))
    by_code = {s.code: s for s in loaded}
    by_name = {_fold(s.name): s for s in loaded}
    out: dict[str, Specialty] = {}
    for key, (name, name_en, is_core, is_medical, aliases) in SPECIALTIES.items():
        found = next((by_code[c] for c in (key, *aliases) if c in by_code), None) or by_name.get(
            _fold(name)
        )
        if found is None:
            found = Specialty.objects.create(
                code=key,
                name=name,
                name_en=name_en,
                is_core=is_core,
                is_medical=is_medical,
                public_id=new_uuid(rng),
            )
        out[key] = found
    return out


def new_uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


@dataclass(frozen=True, slots=True)
class CatalogueFacility:
    id: int
    clues: str
    facility_type: str
    municipality: str | None  # path of the municipality it lies in, when known
    consulting_rooms: int
    latitude: float | None
    longitude: float | None


@dataclass(slots=True)
class PlannedFacility:
    role: str
    municipality: str | None
    facility_id: int | None = None  # set for catalogue facilities, and once created
    new: Facility | None = None
    consulting_rooms: int = 0
    latitude: float | None = None
    longitude: float | None = None


@dataclass(slots=True)
class StatePlan:
    facilities: list[PlannedFacility] = field(default_factory=list)


def municipality_of(path: str) -> str | None:
    parts = path.split(".")
    return ".".join(parts[:3]) if len(parts) >= 3 else None


def plan_state(
    *,
    state_name: str,
    abbreviation: str,
    state_territory_id: int,
    people: int,
    institution: str,
    households_by_municipality: dict[str, int],
    municipalities: dict[str, Municipality],
    catalogue: list[CatalogueFacility],
    taken_clues: set[str],
    rng: random.Random,
) -> StatePlan:
    """Choose catalogue facilities (of `institution`) for the state's network and describe the ones
    to create. `municipalities` maps a municipality path to the municipality."""
    plan = StatePlan()
    busiest = sorted(households_by_municipality, key=lambda m: (-households_by_municipality[m], m))
    wanted = {
        SynthFacilityRole.PRIMARY_CARE: max(1, round(people / PEOPLE_PER_CENTRE)),
        SynthFacilityRole.GENERAL_HOSPITAL: max(1, round(people / PEOPLE_PER_GENERAL_HOSPITAL)),
        SynthFacilityRole.RURAL_HOSPITAL: max(1, round(people / PEOPLE_PER_RURAL_HOSPITAL)),
    }
    for role, count in wanted.items():
        candidates = [f for f in catalogue if f.facility_type == ROLE_TYPE[role]]
        if role == SynthFacilityRole.PRIMARY_CARE:
            # Where the catalogue has a health centre in a municipality with households, people
            # are served there rather than by a synthetic centre further away.
            covered = {f.municipality for f in candidates} & set(busiest)
            count = max(count, len(covered))
        chosen = _choose(candidates, busiest, count, rng)
        for f in chosen:
            plan.facilities.append(
                PlannedFacility(
                    role=role,
                    municipality=f.municipality,
                    facility_id=f.id,
                    consulting_rooms=f.consulting_rooms,
                    latitude=f.latitude,
                    longitude=f.longitude,
                )
            )
        # Create the shortfall where people live, busiest municipalities first.
        with_one = {f.municipality for f in chosen}
        order = [m for m in busiest if m not in with_one] + busiest
        if role == SynthFacilityRole.RURAL_HOSPITAL:
            order = order[::-1]  # rural hospitals go to the least busy places
        for n in range(count - len(chosen)):
            muni = order[n % len(order)] if order else None
            plan.facilities.append(
                _new_facility(
                    role,
                    municipalities.get(muni) if muni else None,
                    state_name,
                    abbreviation,
                    state_territory_id,
                    institution,
                    taken_clues,
                    rng,
                )
            )
    return plan


def _choose(
    candidates: list[CatalogueFacility], busiest: list[str], count: int, rng: random.Random
) -> list[CatalogueFacility]:
    """Up to `count` candidates, one per municipality in order of households, then the rest."""
    by_muni: dict[str | None, list[CatalogueFacility]] = {}
    for f in candidates:
        by_muni.setdefault(f.municipality, []).append(f)
    chosen: list[CatalogueFacility] = []
    while len(chosen) < count:
        progressed = False
        for muni in busiest:
            options = by_muni.get(muni)
            if options and len(chosen) < count:
                chosen.append(options.pop(rng.randrange(len(options))))
                progressed = True
        if not progressed:
            break
    rest = [f for options in by_muni.values() for f in options]
    rest.sort(key=lambda f: (f.clues, f.id))
    while len(chosen) < count and rest:
        chosen.append(rest.pop(rng.randrange(len(rest))))
    return chosen


def _new_facility(
    role: str,
    muni: Municipality | None,
    state_name: str,
    abbreviation: str,
    state_territory_id: int,
    institution: str,
    taken_clues: set[str],
    rng: random.Random,
) -> PlannedFacility:
    code = INSTITUTION_CODE[institution]
    number = SYNTH_CLUES_FIRST
    while f"{abbreviation}{code}{number:06d}" in taken_clues:
        number += 1
    clues = f"{abbreviation}{code}{number:06d}"
    taken_clues.add(clues)
    territory_id, place = (
        (muni.territory_id, muni.name) if muni else (state_territory_id, state_name)
    )
    hospital = role != SynthFacilityRole.PRIMARY_CARE
    rooms, beds, operating, delivery = (rng.randint(low, high) for low, high in SIZES[role])
    if role == SynthFacilityRole.PRIMARY_CARE:
        name = f"Centro de Salud {rng.choice(NEIGHBOURHOODS)}, {place}"
    elif role == SynthFacilityRole.GENERAL_HOSPITAL:
        name = f"Hospital General de {place}"
    else:
        name = f"Hospital Comunitario de {place}"
    facility = Facility(
        public_id=new_uuid(rng),
        clues=clues,
        name=name,
        institution=institution,
        facility_type=ROLE_TYPE[role],
        level_of_care=LevelOfCare.SECOND if hospital else LevelOfCare.FIRST,
        territory_id=territory_id,
        consulting_rooms=rooms,
        beds=beds,
        operating_rooms=operating,
        delivery_rooms=delivery,
        open_24_hours=hospital,
        open_7_days=hospital,
        in_operation=True,
        source="synth",
    )
    return PlannedFacility(
        role=role,
        municipality=muni.path if muni else None,
        new=facility,
        consulting_rooms=rooms,
        latitude=muni.latitude if muni else None,
        longitude=muni.longitude if muni else None,
    )


@dataclass(frozen=True, slots=True)
class NewPractitioner:
    public_id: uuid.UUID
    given_names: str
    first_surname: str
    second_surname: str
    licence_number: str
    specialty: str


@dataclass
class Staff:
    """Staff to write. Positions refer to practitioners by their index in `practitioners`."""

    practitioners: list[NewPractitioner] = field(default_factory=list)
    # (facility id, specialty key, practitioner index or None, since, shift, public id)
    positions: list[tuple[int, str, int | None, dt.date, str, uuid.UUID]] = field(
        default_factory=list
    )
    # (facility id, specialty key, goal, public id)
    goals: list[tuple[int, str, int, uuid.UUID]] = field(default_factory=list)


def staff_facility(
    *,
    staff: Staff,
    facility_id: int,
    role: str,
    consulting_rooms: int,
    deprivation: float,
    taken_licences: set[str],
    names: NamePicker,
    as_of: dt.date,
    rng: random.Random,
) -> None:
    """Goals, positions (filled or vacant, with since dates) and practitioners of one facility."""
    hospital = role != SynthFacilityRole.PRIMARY_CARE
    shifts = (
        ("matutino", "vespertino", "nocturno", "jornada acumulada")
        if hospital
        else ("matutino", "vespertino")
    )
    for key, low, high, filled_share in STAFFING[role]:
        goal = rng.randint(low, high)
        if key == "family_medicine" and consulting_rooms:
            goal = max(1, min(consulting_rooms, 6))
        if goal == 0:
            continue
        if role == SynthFacilityRole.RURAL_HOSPITAL and key in CORE:
            filled_share *= 1.15 - 0.35 * deprivation
        staff.goals.append((facility_id, key, goal, new_uuid(rng)))
        for _ in range(goal):
            if rng.random() >= filled_share:
                since = as_of - dt.timedelta(days=rng.randint(30, 1460))
                staff.positions.append(
                    (facility_id, key, None, since, rng.choice(shifts), new_uuid(rng))
                )
                continue
            female = rng.random() < (0.85 if key == "nursing" else 0.55)
            sex = "F" if female else "M"
            youngest, to_licence = CAREER.get(key, SPECIALIST_CAREER)
            birth = as_of - dt.timedelta(days=int(rng.uniform(youngest, 64) * 365.2425))
            licence_year = birth.year + to_licence + rng.randint(0, 2)
            licence = _licence(licence_year, taken_licences, rng)
            staff.practitioners.append(
                NewPractitioner(
                    public_id=new_uuid(rng),
                    given_names=names.given_name(sex, birth.year, rng),
                    first_surname=names.surname(rng),
                    second_surname=names.surname(rng),
                    licence_number=licence,
                    specialty=key,
                )
            )
            pid = len(staff.practitioners) - 1
            years_in_post = rng.uniform(0, max(0.2, min(25, as_of.year - birth.year - youngest)))
            since = as_of - dt.timedelta(days=int(years_in_post * 365.25))
            staff.positions.append(
                (facility_id, key, pid, since, rng.choice(shifts), new_uuid(rng))
            )


def _licence(year: int, taken: set[str], rng: random.Random) -> str:
    """A cédula profesional: 7 digits for the older registry, 8 for those issued from 2011 on."""
    while True:
        value = str(
            rng.randint(1_000_000, 7_999_999)
            if year < 2011
            else rng.randint(10_000_000, 14_999_999)
        )
        if value not in taken:
            taken.add(value)
            return value
