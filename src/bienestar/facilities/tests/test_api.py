"""/api/facilities/: filters, lookup by UUID or CLUES, opening hours; no N+1."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from bienestar.access.tests.api_client import ApiClient
from bienestar.facilities.models import FacilityType, Institution, OpeningHours
from bienestar.facilities.tests.factories import FacilityFactory

pytestmark = pytest.mark.django_db

URL = "/api/facilities/"


@pytest.fixture
def network(geo):
    hospital = FacilityFactory(
        clues="OCIMB000001",
        name="Hospital General de Oaxaca",
        territory=geo["oaxaca_centro"],
        facility_type=FacilityType.GENERAL_HOSPITAL,
        level_of_care=2,
        open_24_hours=True,
    )
    centre = FacilityFactory(
        clues="OCIMB000002",
        name="Centro de Salud Santa Lucía",
        territory=geo["oaxaca_centro"],
        parent=hospital,
    )
    imss = FacilityFactory(
        clues="OCIMS000003",
        name="UMF 1 IMSS",
        institution=Institution.IMSS,
        territory=geo["oaxaca_centro"],
    )
    pachuca = FacilityFactory(
        clues="HGIMB000004", name="Centro de Salud Pachuca", territory=geo["pachuca"]
    )
    for weekday in range(5):
        OpeningHours.objects.create(
            facility=centre, weekday=weekday, opens=dt.time(8), closes=dt.time(20)
        )
    return {"hospital": hospital, "centre": centre, "imss": imss, "pachuca": pachuca}


@pytest.fixture
def api(users):
    return ApiClient(users["pharmacist"])


def names(response):
    assert response.status_code == 200, response.content
    return [f["name"] for f in response.json()["items"]]


def test_anonymous_is_401(network):
    assert ApiClient(None).get(URL).status_code == 401


def test_filters(api, network):
    assert names(api.get(URL, {"territory": "MX.13"})) == ["Centro de Salud Pachuca"]
    assert names(api.get(URL, {"institution": "IMSS"})) == ["UMF 1 IMSS"]
    assert names(api.get(URL, {"type": "general_hospital"})) == ["Hospital General de Oaxaca"]
    assert names(api.get(URL, {"level": 2})) == ["Hospital General de Oaxaca"]
    assert names(api.get(URL, {"q": "SANTA lucia"})) == ["Centro de Salud Santa Lucía"]
    assert names(api.get(URL, {"q": "Santa Luc"})) == ["Centro de Salud Santa Lucía"]
    assert names(api.get(URL, {"q": "ocims000003"})) == ["UMF 1 IMSS"]
    assert names(api.get(URL, {"territory": "MX.20", "institution": "IMSS_BIENESTAR"})) == [
        "Centro de Salud Santa Lucía",
        "Hospital General de Oaxaca",
    ]


def test_list_item_shape(api, network):
    item = next(f for f in api.get(URL).json()["items"] if f["clues"] == "OCIMB000002")
    assert item["territory"] == {"path": "MX.20.067", "name": "Oaxaca de Juárez"}
    assert item["parent"] == {
        "public_id": str(network["hospital"].public_id),
        "clues": "OCIMB000001",
        "name": "Hospital General de Oaxaca",
    }
    assert "id" not in item


def test_detail_by_clues_or_public_id_with_opening_hours(api, network):
    by_clues = api.get(f"{URL}ocimb000002").json()
    by_uuid = api.get(f"{URL}{network['centre'].public_id}").json()
    assert by_clues == by_uuid
    assert by_clues["opening_hours"][0] == {"weekday": 0, "opens": "08:00:00", "closes": "20:00:00"}
    assert len(by_clues["opening_hours"]) == 5


@pytest.mark.parametrize(
    ("key", "status"),
    [
        ("OCIMB999999", 404),
        (str(uuid.uuid4()), 404),
        ("not-a-key", 422),
        ("OCIMB00000", 422),
        ("%00", 422),
    ],
)
def test_detail_bad_or_unknown_key(api, network, key, status):
    response = api.client.get(f"{URL}{key}", headers=api._headers())
    assert response.status_code == status
    assert "error" in response.json()


@pytest.mark.parametrize(
    "query", ["type=castle", "institution=NASA", "level=9", "territory=MX%00", "limit=101"]
)
def test_bad_filters_are_422(api, network, query):
    response = api.client.get(f"{URL}?{query}", headers=api._headers())
    assert response.status_code == 422


def test_list_query_count_does_not_depend_on_rows(api, geo, network, django_assert_num_queries):
    for i in range(25):
        FacilityFactory(
            clues=f"OCIMB1{i:05d}", territory=geo["oaxaca_centro"], parent=network["hospital"]
        )
    # token lookup, count, page (territory and parent joined)
    with django_assert_num_queries(3):
        response = api.get(URL, {"limit": 100})
    assert response.json()["count"] == 29


def test_detail_query_count(api, network, django_assert_num_queries):
    # token lookup, facility, opening hours
    with django_assert_num_queries(3):
        assert api.get(f"{URL}OCIMB000002").status_code == 200
