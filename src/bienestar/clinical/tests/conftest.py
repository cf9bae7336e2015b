"""Fixtures of the clinical tests: facilities with their staff, patients, CIE-10 codes, schedule."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bienestar.access.tests.factories import actor_for
from bienestar.clinical.tests.factories import icd10_codes, schedule_entries
from bienestar.facilities.tests.factories import FacilityFactory
from bienestar.people.tests.factories import PersonFactory
from bienestar.workforce.tests.factories import PractitionerFactory


@pytest.fixture
def codes(db):  # type: ignore[no-untyped-def]
    return icd10_codes()


@pytest.fixture
def vaccine_schedule(db):  # type: ignore[no-untyped-def]
    return schedule_entries()


@pytest.fixture
def clinic(geo, users):  # type: ignore[no-untyped-def]
    """Health centres in Oaxaca (two) and Hidalgo; the clinicians work at them."""
    oax = FacilityFactory(territory=geo["oaxaca_centro"], name="Centro de Salud Oaxaca")
    oax2 = FacilityFactory(territory=geo["oaxaca_centro"], name="Centro de Salud Oaxaca 2")
    hgo = FacilityFactory(territory=geo["pachuca"], name="Centro de Salud Pachuca")
    doctor = PractitionerFactory()
    for key, facility, practitioner in [
        ("clinician", oax, doctor),
        ("other_state_clinician", hgo, None),
        ("pharmacist", oax, None),
        ("facility_director", oax, None),
    ]:
        users[key].facility = facility
        users[key].practitioner = practitioner
        users[key].save()
    return {"oaxaca": oax, "oaxaca2": oax2, "hidalgo": hgo, "doctor": doctor}


@pytest.fixture
def patient(geo):  # type: ignore[no-untyped-def]
    return PersonFactory(territory=geo["oaxaca_centro"], birth_date=dt.date(1970, 3, 1))


@pytest.fixture
def actors(users, clinic):  # type: ignore[no-untyped-def]
    out: dict[str, Any] = {k: actor_for(u) for k, u in users.items()}
    out["anonymous"] = actor_for(None)
    return out
