"""/api/households/: scoped and audited like persons; no N+1."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bienestar.access.models import AuditEvent
from bienestar.access.tests.api_client import ApiClient
from bienestar.households.models import Household, HouseholdMember
from bienestar.households.tests.factories import HouseholdFactory, HouseholdMemberFactory
from bienestar.people.tests.factories import PersonFactory

pytestmark = pytest.mark.django_db

URL = "/api/households/"


@pytest.fixture
def home(geo):
    household = HouseholdFactory(territory=geo["oaxaca_centro"], rooms=3, socioeconomic_stratum=2)
    head = PersonFactory(territory=geo["oaxaca_centro"])
    HouseholdMemberFactory(household=household, person=head, relationship="head")
    return household, head


@pytest.mark.parametrize(
    ("who", "status"),
    [
        (None, 401),
        ("pharmacist", 403),
        ("auditor", 403),
        ("other_state_clinician", 404),
        ("clinician", 200),
        ("outreach_manager", 200),
    ],
)
def test_read_matrix(users, home, who, status):
    household, head = home
    before = AuditEvent.objects.count()
    response = ApiClient(users[who] if who else None).get(f"{URL}{household.public_id}")
    assert response.status_code == status
    assert AuditEvent.objects.count() == before + (1 if status == 200 else 0)
    if status == 200:
        body = response.json()
        assert body["rooms"] == 3 and body["territory"]["path"] == "MX.20.067"
        assert [(m["person_public_id"], m["relationship"]) for m in body["members"]] == [
            (str(head.public_id), "head")
        ]
        assert "id" not in body and "id" not in body["members"][0]


def test_list_is_scoped_to_the_callers_territory(users, geo, home):
    HouseholdFactory(territory=geo["pachuca"])
    oax = ApiClient(users["clinician"]).get(URL).json()
    hgo = ApiClient(users["other_state_clinician"]).get(URL).json()
    assert [h["public_id"] for h in oax["items"]] == [str(home[0].public_id)] and oax["count"] == 1
    assert hgo["count"] == 1 and hgo["items"][0]["territory"]["path"] == "MX.13.048"


def test_list_query_count_does_not_depend_on_rows(users, geo, django_assert_num_queries):
    api = ApiClient(users["clinician"])
    for _ in range(25):
        HouseholdFactory(territory=geo["oaxaca_centro"])
    # token, count, page (territory joined), audit insert
    with django_assert_num_queries(4):
        response = api.get(URL, {"limit": 100})
    assert response.json()["count"] == 25


def test_detail_query_count_does_not_depend_on_members(users, geo, home, django_assert_num_queries):
    household = home[0]
    for _ in range(10):
        HouseholdMemberFactory(
            household=household,
            person=PersonFactory(territory=geo["oaxaca_centro"]),
            relationship="child",
        )
    api = ApiClient(users["clinician"])
    # token, household, members with persons, audit insert
    with django_assert_num_queries(4):
        response = api.get(f"{URL}{household.public_id}")
    assert len(response.json()["members"]) == 11


def test_create_household_and_add_a_member(users, geo):
    api = ApiClient(users["outreach_manager"])
    response = api.post(
        URL,
        {
            "territory": "MX.20.067",
            "address_line": "Calle Hidalgo 3",
            "piped_water": True,
            "latitude": "17.0654",
            "longitude": "-96.7236",
        },
    )
    assert response.status_code == 201, response.content
    household = response.json()
    assert Decimal(household["latitude"]) == Decimal("17.0654")
    person = PersonFactory(territory=geo["oaxaca_centro"])
    added = api.post(
        f"{URL}{household['public_id']}/members",
        {"person": str(person.public_id), "relationship": "head"},
    )
    assert added.status_code == 201, added.content
    assert added.json()["person_public_id"] == str(person.public_id)
    again = api.post(
        f"{URL}{household['public_id']}/members",
        {"person": str(person.public_id), "relationship": "child"},
    )
    assert again.status_code == 409
    ended = api.post(f"{URL}{household['public_id']}/members/{added.json()['public_id']}/end", {})
    assert ended.status_code == 200 and ended.json()["until"]


@pytest.mark.parametrize(
    ("who", "body", "status"),
    [
        (None, {"territory": "MX.20.067"}, 401),
        ("clinician", {"territory": "MX.20.067"}, 403),
        ("outreach_manager", {"territory": "MX.13.048"}, 404),
        ("outreach_manager", {"territory": "MX.99"}, 422),
        ("outreach_manager", {"territory": "MX.20.067", "socioeconomic_stratum": 9}, 422),
        ("outreach_manager", {"territory": "MX.20.067", "latitude": "123.5"}, 422),
        ("outreach_manager", {"territory": "MX.20.067", "address_line": "x\x00"}, 422),
        ("outreach_manager", {}, 422),
    ],
)
def test_create_refusals_and_bad_input_write_nothing(users, geo, who, body, status):
    before = (Household.objects.count(), AuditEvent.objects.count())
    response = ApiClient(users[who] if who else None).post(URL, body)
    assert response.status_code == status, response.content
    assert (Household.objects.count(), AuditEvent.objects.count()) == before


def test_add_member_from_another_state_is_404_and_writes_nothing(users, geo, home):
    stranger = PersonFactory(territory=geo["pachuca"])
    before = (HouseholdMember.objects.count(), AuditEvent.objects.count())
    response = ApiClient(users["outreach_manager"]).post(
        f"{URL}{home[0].public_id}/members",
        {"person": str(stranger.public_id), "relationship": "child"},
    )
    assert response.status_code == 404
    assert (HouseholdMember.objects.count(), AuditEvent.objects.count()) == before
