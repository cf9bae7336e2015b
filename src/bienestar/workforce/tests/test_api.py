"""/api/workforce/: specialties (registry) and practitioners, positions, staffing (WORKFORCE_READ)."""

from __future__ import annotations

import datetime as dt

import pytest

from bienestar.access.tests.api_client import ApiClient
from bienestar.facilities.tests.factories import FacilityFactory
from bienestar.workforce.tests.factories import (
    PositionFactory,
    PractitionerFactory,
    SpecialtyFactory,
    StaffingGoalFactory,
)

pytestmark = pytest.mark.django_db

URL = "/api/workforce/"


@pytest.fixture
def hospital(geo):
    """A rural hospital: surgery goal 2 (1 filled, 1 vacant), paediatrics goal 1 (none), and a
    family doctor with no goal."""
    facility = FacilityFactory(
        clues="OCIMB000010", name="Hospital Comunitario", territory=geo["oaxaca_centro"]
    )
    surgery = SpecialtyFactory(code="general_surgery", name="Cirugía general", is_core=True)
    paediatrics = SpecialtyFactory(code="paediatrics", name="Pediatría", is_core=True)
    family = SpecialtyFactory(code="family_medicine", name="Medicina familiar")
    surgeon = PractitionerFactory(
        given_names="Laura", first_surname="Méndez", licence_number="12345678"
    )
    surgeon.specialties.add(surgery)
    PositionFactory(facility=facility, specialty=surgery, practitioner=surgeon)
    PositionFactory(facility=facility, specialty=surgery, since=dt.date(2025, 3, 1))
    PositionFactory(facility=facility, specialty=family, practitioner=PractitionerFactory())
    StaffingGoalFactory(facility=facility, specialty=surgery, goal=2)
    StaffingGoalFactory(facility=facility, specialty=paediatrics, goal=1)
    return facility


@pytest.mark.parametrize(
    ("who", "status"), [(None, 401), ("warehouse_manager", 200), ("auditor", 200)]
)
def test_specialties_are_a_registry(users, hospital, who, status):
    response = ApiClient(users[who] if who else None).get(f"{URL}specialties", {"core": "true"})
    assert response.status_code == status
    if status == 200:
        codes = {s["code"] for s in response.json()}
        assert {"general_surgery", "paediatrics"} <= codes and "family_medicine" not in codes


@pytest.mark.parametrize(
    ("who", "status"),
    [
        (None, 401),
        ("warehouse_manager", 403),
        ("pharmacist", 403),
        ("outreach_manager", 403),
        ("auditor", 200),
        ("clinician", 200),
        ("other_state_clinician", 200),
    ],
)
def test_professional_data_needs_workforce_read(users, hospital, who, status):
    api = ApiClient(users[who] if who else None)
    for path in [
        "practitioners",
        "facilities/OCIMB000010/positions",
        "facilities/OCIMB000010/staffing",
    ]:
        assert api.get(f"{URL}{path}").status_code == status, path


def test_wrong_role_learns_nothing_about_which_facilities_exist(users, hospital):
    api = ApiClient(users["pharmacist"])
    assert api.get(f"{URL}facilities/OCIMB999999/staffing").status_code == 403


def test_staffing_goal_versus_filled(users, hospital):
    body = ApiClient(users["clinician"]).get(f"{URL}facilities/OCIMB000010/staffing").json()
    assert body["facility"]["clues"] == "OCIMB000010"
    lines = {line["specialty"]["code"]: line for line in body["lines"]}
    assert lines["general_surgery"] | {"specialty": None} == {
        "specialty": None,
        "goal": 2,
        "positions": 2,
        "filled": 1,
        "vacant": 1,
        "gap": 1,
    }
    assert (
        lines["paediatrics"]["goal"],
        lines["paediatrics"]["filled"],
        lines["paediatrics"]["gap"],
    ) == (1, 0, 1)
    assert (
        lines["family_medicine"]["goal"],
        lines["family_medicine"]["filled"],
        lines["family_medicine"]["gap"],
    ) == (None, 1, None)
    assert (body["goal"], body["filled"]) == (3, 2)


def test_positions_show_practitioner_or_vacancy(users, hospital):
    positions = (
        ApiClient(users["auditor"]).get(f"{URL}facilities/{hospital.public_id}/positions").json()
    )
    surgery = [p for p in positions if p["specialty"]["code"] == "general_surgery"]
    assert [p["filled"] for p in surgery] == [True, False]
    assert (
        surgery[0]["practitioner"]["name"] == "Laura Méndez" and surgery[1]["practitioner"] is None
    )


def test_practitioner_search_and_detail(users, hospital):
    api = ApiClient(users["clinician"])
    page = api.get(f"{URL}practitioners", {"specialty": "general_surgery"}).json()
    assert [p["licence_number"] for p in page["items"]] == ["12345678"]
    assert page["items"][0]["specialties"] == [
        {"code": "general_surgery", "name": "Cirugía general"}
    ]
    assert [
        p["licence_number"] for p in api.get(f"{URL}practitioners", {"q": "MENDEZ"}).json()["items"]
    ][:1] == ["12345678"]
    detail = api.get(f"{URL}practitioners/{page['items'][0]['public_id']}")
    assert detail.status_code == 200
    assert api.get(f"{URL}practitioners/not-a-uuid").status_code == 422


def test_list_query_counts_do_not_depend_on_rows(users, hospital, django_assert_num_queries):
    api = ApiClient(users["clinician"])
    surgery = SpecialtyFactory(code="general_surgery")
    for i in range(20):
        p = PractitionerFactory()
        p.specialties.add(surgery, SpecialtyFactory(code=f"extra_{i}"))
        PositionFactory(
            facility=hospital, specialty=SpecialtyFactory(code=f"extra_{i}"), practitioner=p
        )
        StaffingGoalFactory(
            facility=hospital, specialty=SpecialtyFactory(code=f"extra_{i}"), goal=1
        )
    # token, count, page, specialties prefetch
    with django_assert_num_queries(4):
        assert len(api.get(f"{URL}practitioners", {"limit": 100}).json()["items"]) == 22
    # token, facility, positions
    with django_assert_num_queries(3):
        assert len(api.get(f"{URL}facilities/OCIMB000010/positions").json()) == 23
    # token, facility, position counts, goals, specialties
    with django_assert_num_queries(5):
        assert len(api.get(f"{URL}facilities/OCIMB000010/staffing").json()["lines"]) == 23
    # token, specialties
    with django_assert_num_queries(2):
        api.get(f"{URL}specialties")
