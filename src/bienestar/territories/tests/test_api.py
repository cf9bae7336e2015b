"""/api/territories/: a registry, readable by every role with REGISTRY_READ; no N+1."""

from __future__ import annotations

import pytest

from bienestar.access.tests.api_client import ApiClient
from bienestar.territories.models import PopulationDenominator, Subnetwork, TerritoryKind
from bienestar.territories.tests.factories import TerritoryFactory, municipality

pytestmark = pytest.mark.django_db

URL = "/api/territories/"


@pytest.fixture
def api(users):
    return ApiClient(users["warehouse_manager"])  # the narrowest role still reads registries


def test_anonymous_is_401(geo):
    assert ApiClient(None).get(URL).status_code == 401


def test_a_user_without_a_role_is_403(geo):
    from bienestar.access.tests.factories import UserFactory

    assert ApiClient(UserFactory(username="norole", role="")).get(URL).status_code == 403


@pytest.mark.parametrize(
    "who", ["warehouse_manager", "auditor", "clinician", "other_state_clinician"]
)
def test_every_role_reads_the_registry_whatever_its_territory(users, who):
    response = ApiClient(users[who]).get(URL, {"kind": "state"})
    assert response.status_code == 200
    assert [t["path"] for t in response.json()["items"]] == ["MX.13", "MX.20"]


def test_list_by_parent_kind_within_and_name(api, geo):
    assert [t["path"] for t in api.get(URL, {"parent": "MX.20"}).json()["items"]] == ["MX.20.067"]
    within = api.get(URL, {"within": "MX.13"}).json()
    assert [t["path"] for t in within["items"]] == ["MX.13", "MX.13.048"]
    assert within["count"] == 2
    assert [t["name"] for t in api.get(URL, {"q": "pachuca"}).json()["items"]] == [
        "Pachuca de Soto"
    ]
    item = api.get(URL, {"kind": "municipality", "parent": "MX.20"}).json()["items"][0]
    assert item["parent_path"] == "MX.20" and item["kind"] == "municipality"
    assert "id" not in item


def test_pagination_with_count_and_next(api, geo):
    oax = geo["oaxaca"]
    for i in range(7):
        municipality(oax, f"{100 + i:03d}", f"Municipio {i}")
    page = api.get(URL, {"parent": "MX.20", "limit": 5}).json()
    assert (page["count"], len(page["items"])) == (8, 5)
    page2 = api.client.get(page["next"], headers=api._headers()).json()
    assert len(page2["items"]) == 3 and page2["next"] is None


def test_list_query_count_does_not_depend_on_rows(api, geo, django_assert_num_queries):
    subnet = Subnetwork.objects.create(code="SUR", name="Subred Sur")
    for i in range(30):
        TerritoryFactory(
            kind=TerritoryKind.LOCALITY,
            code=f"{i:04d}",
            name=f"Loc {i}",
            parent=geo["oaxaca_centro"],
            subnetwork=subnet,
        )
    # token lookup, count, page (subnetwork joined)
    with django_assert_num_queries(3):
        response = api.get(URL, {"within": "MX.20", "limit": 40})
    assert len(response.json()["items"]) == 32
    assert response.json()["items"][-1]["subnetwork"] == {"code": "SUR", "name": "Subred Sur"}


def test_detail_with_population_denominators(api, geo):
    PopulationDenominator.objects.create(
        territory=geo["oaxaca"],
        year=2020,
        total=4132148,
        uninsured=1800000,
        source="INEGI censo 2020",
    )
    PopulationDenominator.objects.create(
        territory=geo["oaxaca"], year=2025, total=4200000, source="CONAPO"
    )
    body = api.get(f"{URL}MX.20").json()
    assert body["name"] == "Oaxaca" and body["parent_path"] == "MX"
    assert [(p["year"], p["total"], p["uninsured"]) for p in body["populations"]] == [
        (2020, 4132148, 1800000),
        (2025, 4200000, None),
    ]
    only = api.get(f"{URL}MX.20/populations", {"year": 2025}).json()
    assert [p["source"] for p in only] == ["CONAPO"]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"{URL}MX.99", 404),
        (f"{URL}MX..20", 422),
        (f"{URL}MX.20%00", 422),
        (f"{URL}?kind=planet", 422),
        (f"{URL}?parent=MX%00", 422),
        (f"{URL}?limit=0", 422),
        (f"{URL}?offset=99999999", 422),
        (f"{URL}MX.20/populations?year=abc", 422),
    ],
)
def test_bad_input_is_4xx_json(api, geo, path, status):
    response = api.client.get(path, headers=api._headers())
    assert response.status_code == status, response.content
    assert "error" in response.json()
