"""The persons API: the authorization matrix through HTTP, bad input, and no N+1.

Audit policy (as in test_services.py): refusals — 401, 403, 404 — write no audit row; each allowed
call writes exactly one.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from bienestar.access.models import AuditEvent
from bienestar.access.tests.api_client import ApiClient, count_queries
from bienestar.people import national_id
from bienestar.people.identifier_systems import CURP_URI
from bienestar.people.models import Person, PersonChange, PersonIdentifier
from bienestar.people.tests.factories import PersonFactory
from bienestar.people.tests.helpers import CURP_ANA, CURP_JOSE, snapshot

pytestmark = pytest.mark.django_db

URL = "/api/people/"


@pytest.fixture
def jose(geo):
    person = PersonFactory(territory=geo["oaxaca_centro"])
    PersonIdentifier.objects.create(person=person, system="curp", value=CURP_JOSE)
    return person


def client_for(users, who):
    return ApiClient(users[who] if who else None)


# --- the matrix: read, search, update ----------------------------------------------------------------

REFUSALS = [
    (None, 401),
    ("warehouse_manager", 403),
    ("auditor", 403),
    ("other_state_clinician", 404),
]


@pytest.mark.parametrize(
    ("who", "status"), [*REFUSALS, ("clinician", 200), ("national_coordinator", 200)]
)
def test_read_matrix(users, jose, who, status):
    api = client_for(users, who)
    before = snapshot(jose)
    response = api.get(f"{URL}{jose.public_id}")
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    after = snapshot(jose)
    if status == 200:
        body = response.json()
        assert body["public_id"] == str(jose.public_id)
        assert body["national_health_id"] == jose.national_health_id
        assert body["identifiers"] == [
            {
                "system": "curp",
                "system_uri": CURP_URI,
                "value": CURP_JOSE,
                "source": "",
                "valid_until": None,
            }
        ]
        assert "id" not in body
        assert after["audit"] == before["audit"] + 1
        event = AuditEvent.objects.latest("id")
        assert (event.action, event.channel, event.person_id) == ("read", "api", jose.id)
        after["audit"] = before["audit"]
    assert after == before


@pytest.mark.parametrize(("who", "status"), [*REFUSALS, ("clinician", 200)])
def test_read_by_national_id_and_by_identifier_matrix(users, jose, who, status):
    api = client_for(users, who)
    for path, params in [
        (f"{URL}by-national-id/{national_id.display(jose.national_health_id)}", None),
        (f"{URL}by-identifier", {"system": "curp", "value": CURP_JOSE.lower()}),
    ]:
        before = AuditEvent.objects.count()
        response = api.get(path, params)
        assert response.status_code == status, (path, response.content)
        assert AuditEvent.objects.count() == before + (1 if status == 200 else 0)
        if status == 200:
            assert response.json()["public_id"] == str(jose.public_id)


@pytest.mark.parametrize(
    ("who", "status", "found"),
    [
        (None, 401, None),
        ("warehouse_manager", 403, None),
        ("auditor", 403, None),
        # Another territory may search; it finds nobody (and that search is audited).
        ("other_state_clinician", 200, []),
        ("clinician", 200, ["jose"]),
    ],
)
def test_search_matrix(users, jose, who, status, found):
    api = client_for(users, who)
    before = snapshot(jose)
    response = api.get(URL, {"q": "jose lopez"})
    assert response.status_code == status, response.content
    after = snapshot(jose)
    if status == 200:
        items = response.json()["items"]
        assert [i["public_id"] for i in items] == ([str(jose.public_id)] if found else [])
        assert after["audit"] == before["audit"] + 1
        after["audit"] = before["audit"]
    assert after == before


@pytest.mark.parametrize(
    ("who", "status"),
    [*REFUSALS, ("pharmacist", 403), ("national_coordinator", 403), ("clinician", 200)],
)
def test_update_matrix(users, jose, who, status):
    api = client_for(users, who)
    before = snapshot(jose)
    response = api.patch(f"{URL}{jose.public_id}", {"given_names": "José Luis"})
    assert response.status_code == status, response.content
    after = snapshot(jose)
    if status == 200:
        assert response.json()["given_names"] == "José Luis"
        assert Person.objects.get(pk=jose.pk).given_names == "José Luis"
        assert after["changes"] == before["changes"] + 1
        assert after["audit"] == before["audit"] + 1  # the update only, not an extra read
        assert AuditEvent.objects.latest("id").action == "update"
        assert PersonChange.objects.latest("id").source == "api"
    else:
        assert after == before


def test_revoked_or_unknown_token_is_401(users, jose):
    from bienestar.access.models import ApiToken

    api = ApiClient(users["clinician"])
    assert api.get(f"{URL}{jose.public_id}").status_code == 200
    ApiToken.objects.update(revoked_at=dt.datetime.now(dt.UTC))
    assert api.get(f"{URL}{jose.public_id}").status_code == 401
    assert (
        ApiClient(None, token="bnst_not-a-real-token").get(f"{URL}{jose.public_id}").status_code
        == 401
    )
    assert ApiClient(None, token="garbage").get(URL, {"q": "jose"}).status_code == 401


def test_session_authentication_works_and_is_audited_as_api(client, users, jose):
    client.force_login(users["clinician"])
    response = client.get(f"{URL}{jose.public_id}")
    assert response.status_code == 200
    assert AuditEvent.objects.latest("id").channel == "api"


def test_anonymous_write_is_401_not_a_csrf_403(users, geo):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(URL, "{}", content_type="application/json")
    assert response.status_code == 401


def test_session_write_without_csrf_token_is_refused(users, geo):
    from django.test import Client

    c = Client(enforce_csrf_checks=True)
    c.force_login(users["clinician"])
    response = c.post(URL, "{}", content_type="application/json")
    assert response.status_code == 403
    assert Person.objects.count() == 0


# --- register ------------------------------------------------------------------------------------


def _payload(**overrides):
    data = {
        "given_names": "Ana",
        "first_surname": "Pérez",
        "second_surname": "García",
        "sex": "F",
        "birth_date": "1992-01-01",
        "territory": "MX.20.067",
        "identifiers": [{"system": "curp", "value": CURP_ANA}],
    }
    data.update(overrides)
    return data


def test_register_returns_201_with_a_valid_national_health_id(users, geo):
    response = ApiClient(users["clinician"]).post(URL, _payload())
    assert response.status_code == 201, response.content
    body = response.json()
    assert national_id.is_valid(body["national_health_id"])
    assert body["national_health_id_display"] == national_id.display(body["national_health_id"])
    assert body["birth_date"] == "1992-01-01"
    assert body["territory"] == {"path": "MX.20.067", "name": "Oaxaca de Juárez"}
    person = Person.objects.get(public_id=body["public_id"])
    assert PersonChange.objects.get(person=person).source == "api"
    assert AuditEvent.objects.filter(person_id=person.id, action="create").count() == 1


def test_register_duplicate_curp_is_409_and_writes_nothing(users, jose):
    before = (Person.objects.count(), PersonChange.objects.count(), AuditEvent.objects.count())
    response = ApiClient(users["clinician"]).post(
        URL, _payload(identifiers=[{"system": "curp", "value": CURP_JOSE}])
    )
    assert response.status_code == 409
    assert response.json()["error"] == "conflict"
    assert (
        Person.objects.count(),
        PersonChange.objects.count(),
        AuditEvent.objects.count(),
    ) == before


def test_register_bad_check_digit_is_422_with_a_clear_message(users, geo):
    wrong = CURP_ANA[:17] + str((int(CURP_ANA[17]) + 1) % 10)
    response = ApiClient(users["clinician"]).post(
        URL, _payload(identifiers=[{"system": "curp", "value": wrong}])
    )
    assert response.status_code == 422
    assert response.json() == {
        "error": "validation_failed",
        "detail": "El dígito verificador de la CURP no corresponde.",
        "field": "identifiers",
    }
    assert Person.objects.count() == 0


def test_register_in_another_state_is_404(users, geo):
    response = ApiClient(users["clinician"]).post(URL, _payload(territory="MX.13.048"))
    assert response.status_code == 404
    assert Person.objects.count() == 0


@pytest.mark.parametrize(
    "overrides",
    [
        {"sex": "Q"},
        {"birth_date": "17/05/1980"},
        {"birth_date": "1980-02-30"},
        {"given_names": ""},
        {"given_names": "A" * 121},
        {"given_names": "Ana\x00"},
        {"territory": "MX.20; DROP TABLE"},
        {"disability": "flying"},
        {"identifiers": [{"system": "passport-of-mars", "value": "1"}]},
        {"identifiers": [{"system": "curp", "value": "X" * 41}]},
        {"identifiers": "CURP"},
        {"birth_date": None},
    ],
)
def test_register_bad_shapes_are_422_never_500(users, geo, overrides):
    response = ApiClient(users["clinician"]).post(URL, _payload(**overrides))
    assert response.status_code == 422, response.content
    assert response.json()["error"] == "validation_failed"
    assert Person.objects.count() == 0


def test_register_future_birth_date_is_422(users, geo):
    tomorrow = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    response = ApiClient(users["clinician"]).post(URL, _payload(birth_date=tomorrow))
    assert response.status_code == 422
    assert response.json()["field"] == "birth_date"


def test_register_with_malformed_json_is_4xx(users, geo):
    api = ApiClient(users["clinician"])
    response = api.client.post(
        URL, "{not json", content_type="application/json", headers=api._headers()
    )
    assert 400 <= response.status_code < 500


def test_english_error_messages_follow_accept_language(users, geo):
    api = ApiClient(users["clinician"])
    response = api.client.get(URL, {"q": "x"}, headers={**api._headers(), "Accept-Language": "en"})
    assert response.status_code == 422
    assert response.json()["detail"]  # translated when the catalogue has it; never empty


# --- update: bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"given_names": None},
        {"sex": None},
        {"sex": "Q"},
        {"birth_date": "tomorrow"},
        {"deceased_date": (dt.date.today() + dt.timedelta(days=3)).isoformat()},
        {"given_names": "x" * 200},
    ],
)
def test_update_bad_input_is_422_and_changes_nothing(users, jose, body):
    before = snapshot(jose)
    response = ApiClient(users["clinician"]).patch(f"{URL}{jose.public_id}", body)
    assert response.status_code == 422, response.content
    assert snapshot(jose) == before


def test_update_of_national_health_id_is_ignored_by_the_schema(users, jose):
    response = ApiClient(users["clinician"]).patch(
        f"{URL}{jose.public_id}", {"national_health_id": "X"}
    )
    assert response.status_code == 200
    assert Person.objects.get(pk=jose.pk).national_health_id == jose.national_health_id


def test_update_accepts_explicit_null_where_allowed(users, jose):
    response = ApiClient(users["clinician"]).patch(
        f"{URL}{jose.public_id}", {"indigenous": None, "deceased_date": None}
    )
    assert response.status_code == 200


# --- bad ids and paths ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"{URL}not-a-uuid", 422),
        (f"{URL}{uuid.uuid4()}", 404),
        (f"{URL}by-national-id/XXXX", 422),
        (f"{URL}by-identifier?system=curp", 422),
        (f"{URL}by-identifier?system=nope&value=1", 422),
        (f"{URL}by-identifier?system=curp&value=%00", 422),
        (f"{URL}?q=%00abc", 422),
        (f"{URL}", 422),
        (f"{URL}?q=jose&limit=0", 422),
        (f"{URL}?q=jose&limit=1000", 422),
        (f"{URL}?q=jose&offset=-1", 422),
        (f"{URL}?q=jose&limit=abc", 422),
    ],
)
def test_bad_ids_and_parameters_are_4xx_json(users, jose, path, status):
    response = ApiClient(users["clinician"]).client.get(
        path, headers=ApiClient(users["clinician"])._headers()
    )
    assert response.status_code == status, response.content
    assert "error" in response.json()


def test_identifiers_endpoint_lists_identifiers_and_audits_one_read(users, jose):
    before = AuditEvent.objects.count()
    response = ApiClient(users["clinician"]).get(f"{URL}{jose.public_id}/identifiers")
    assert response.status_code == 200
    assert response.json() == [
        {
            "system": "curp",
            "system_uri": CURP_URI,
            "value": CURP_JOSE,
            "source": "",
            "valid_until": None,
        }
    ]
    assert AuditEvent.objects.count() == before + 1


def test_merged_person_points_at_the_survivor_by_public_id(users, geo, jose):
    from bienestar.access.tests.factories import actor_for
    from bienestar.people.services import person_merge

    dup = PersonFactory(territory=geo["oaxaca_centro"])
    person_merge(actor_for(users["clinician"]), survivor=jose, merged=dup, reason="x")
    body = ApiClient(users["clinician"]).get(f"{URL}{dup.public_id}").json()
    assert (body["status"], body["merged_into"]) == ("merged", str(jose.public_id))


# --- pagination and query counts -------------------------------------------------------------------


def test_search_pages_with_a_next_link(users, geo):
    for i in range(5):
        PersonFactory(
            territory=geo["oaxaca_centro"],
            given_names="Rosa",
            first_surname="Ramírez",
            second_surname=f"D{i}",
        )
    api = ApiClient(users["clinician"])
    first = api.get(URL, {"q": "rosa ramirez", "limit": 3}).json()
    assert len(first["items"]) == 3 and first["next"]
    second = api.client.get(first["next"], headers=api._headers()).json()
    assert len(second["items"]) == 2 and second["next"] is None
    assert second["offset"] == 3


def test_search_query_count_does_not_grow_with_results(users, geo, django_assert_num_queries):
    api = ApiClient(users["clinician"])
    PersonFactory(territory=geo["oaxaca_centro"], given_names="Rosa", first_surname="Ramírez")
    small = count_queries(lambda: api.get(URL, {"q": "rosa ramirez"}))
    for i in range(15):
        PersonFactory(
            territory=geo["oaxaca_centro"],
            given_names="Rosa",
            first_surname="Ramírez",
            second_surname=f"D{i}",
        )
    with django_assert_num_queries(small):
        response = api.get(URL, {"q": "rosa ramirez"})
    assert len(response.json()["items"]) == 16


def test_openapi_document_lists_the_endpoints_and_never_a_bigint_id(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    for path in [
        "/api/people/",
        "/api/people/{public_id}",
        "/api/territories/",
        "/api/facilities/",
        "/api/workforce/specialties",
        "/api/households/",
        "/api/access/me",
    ]:
        assert path in doc["paths"], path
    # Internal keys are bigint identities and never leave the system: no identifier-like property
    # of any schema is an integer (opaque UUIDs, national IDs, a client's own UUIDs in the field API).
    for name, schema in doc["components"]["schemas"].items():
        for prop, spec in schema.get("properties", {}).items():
            if prop == "id" or prop.endswith("_id"):
                kinds = {spec.get("type")} | {a.get("type") for a in spec.get("anyOf", [])}
                assert "integer" not in kinds, (name, prop)


def test_detail_query_count(users, jose, django_assert_num_queries):
    api = ApiClient(users["clinician"])
    # token, person (territory joined), audit insert, identifiers
    with django_assert_num_queries(4):
        assert api.get(f"{URL}{jose.public_id}").status_code == 200
