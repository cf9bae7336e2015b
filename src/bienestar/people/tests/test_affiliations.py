"""Affiliation as a dated fact with its source: the service's rules, history, the uninsured
selector, and the three doors (page, JSON API, FHIR) with their authorization matrix."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from bienestar.access.models import AuditEvent
from bienestar.access.tests.api_client import ApiClient
from bienestar.access.tests.factories import actor_for
from bienestar.core.errors import Conflict, ValidationFailed
from bienestar.fhir import systems
from bienestar.fhir.tests.client import FhirClient
from bienestar.people import affiliations
from bienestar.people.models import Person, PersonAffiliation, PersonChange
from bienestar.people.tests.factories import PersonFactory

pytestmark = pytest.mark.django_db

D = dt.date


@pytest.fixture
def jose(geo) -> Person:  # type: ignore[no-untyped-def]
    return PersonFactory(territory=geo["oaxaca_centro"])


def record(users: Any, person: Person, **kw: Any) -> PersonAffiliation:
    args: dict[str, Any] = {"scheme": "imss", "start": D(2020, 1, 1), "source": "self-declared"}
    args.update(kw)
    return affiliations.affiliation_record(actor_for(users["clinician"]), person=person, **args)


def state() -> dict[str, Any]:
    return {
        "facts": sorted(
            PersonAffiliation.objects.values_list("id", "scheme", "insurer", "start", "end")
        ),
        "changes": PersonChange.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


# --- the service ---------------------------------------------------------------------------------


def test_a_new_fact_ends_the_one_it_replaces_and_history_is_kept(users, jose):
    imss = record(users, jose, scheme="imss", member_number="12345678901")
    private = record(users, jose, scheme="private", insurer="GNP", start=D(2021, 1, 1))
    none = record(users, jose, scheme="none", start=D(2023, 6, 1), source="institution-list")

    imss.refresh_from_db()
    private.refresh_from_db()
    assert imss.end == private.end == D(2023, 5, 31)
    assert none.end is None and none.recorded_by == users["clinician"]
    assert PersonAffiliation.objects.filter(person=jose).count() == 3
    change = PersonChange.objects.filter(person=jose, action="affiliation").first()
    assert change is not None
    assert change.changes["recorded"]["scheme"] == "none"
    assert {e["before"]["scheme"] for e in change.changes["ended"]} == {"imss", "private"}
    assert AuditEvent.objects.filter(resource_type="PersonAffiliation").count() == 3


def test_other_schemes_stay_open_and_the_same_scheme_is_replaced(users, jose):
    imss = record(users, jose, scheme="imss")
    private = record(users, jose, scheme="private", insurer="GNP", start=D(2021, 1, 1))
    private2 = record(users, jose, scheme="private", insurer="AXA", start=D(2022, 1, 1))

    imss.refresh_from_db()
    private.refresh_from_db()
    assert imss.end is None
    assert private.end == D(2021, 12, 31)
    assert private2.end is None


@pytest.mark.parametrize(
    ("kw", "error", "field"),
    [
        ({"scheme": "co-subsidised"}, ValidationFailed, "insurer"),
        ({"scheme": "none", "insurer": "GNP"}, ValidationFailed, "insurer"),
        ({"scheme": "robot"}, ValidationFailed, "scheme"),
        ({"source": "synth"}, ValidationFailed, "source"),
        ({"start": D(2999, 1, 1)}, ValidationFailed, "start"),
        ({"start": D(1970, 1, 1)}, ValidationFailed, "start"),
    ],
)
def test_bad_facts_are_refused_with_nothing_written(users, jose, kw, error, field):
    before = state()
    with pytest.raises(error) as caught:
        record(users, jose, **kw)
    assert caught.value.field == field
    assert state() == before


def test_a_fact_cannot_start_before_the_one_it_replaces(users, jose):
    record(users, jose, scheme="imss", start=D(2022, 1, 1))
    before = state()
    with pytest.raises(Conflict):
        record(users, jose, scheme="none", start=D(2021, 1, 1))
    assert state() == before


def test_end_a_fact(users, jose):
    fact = record(users, jose)
    actor = actor_for(users["clinician"])
    affiliations.affiliation_end(
        actor, person=jose, affiliation_id=fact.public_id, end=D(2024, 1, 1)
    )
    fact.refresh_from_db()
    assert fact.end == D(2024, 1, 1)
    with pytest.raises(Conflict):
        affiliations.affiliation_end(
            actor, person=jose, affiliation_id=fact.public_id, end=D(2024, 1, 2)
        )


# --- the selector the coverage indicators use ----------------------------------------------------


def test_uninsured_as_of_a_date(users, geo):
    def person(name: str) -> Person:
        return PersonFactory(territory=geo["oaxaca_centro"], given_names=name)

    none, imss, _unknown, bienestar, became, merged = (
        person(n) for n in ("A", "B", "C", "D", "E", "F")
    )
    record(users, none, scheme="none")
    record(users, imss, scheme="imss")
    record(users, bienestar, scheme="imss-bienestar")
    record(users, became, scheme="none", start=D(2020, 1, 1))
    record(users, became, scheme="issste", start=D(2024, 1, 1))
    record(users, merged, scheme="none")
    Person.objects.filter(pk=merged.pk).update(status="merged", merged_into=none)
    everyone = Person.objects.all()

    def names(on: dt.date) -> set[str]:
        return set(
            affiliations.uninsured_as_of(everyone, on=on).values_list("given_names", flat=True)
        )

    assert names(D(2023, 12, 31)) == {"A", "D", "E"}
    assert names(D(2024, 1, 1)) == {"A", "D"}
    assert names(D(2019, 1, 1)) == set()  # nothing known then
    unknown_now = affiliations.affiliation_unknown_as_of(everyone, on=D(2024, 1, 1))
    assert set(unknown_now.values_list("given_names", flat=True)) == {"C"}


# --- JSON API: the authorization matrix --------------------------------------------------------------


PAYLOAD = {"scheme": "imss", "start": "2020-01-01", "source": "insurer-list", "insurer": ""}


@pytest.mark.parametrize(
    ("who", "status"),
    [
        (None, 401),
        ("warehouse_manager", 403),
        ("pharmacist", 403),  # reads persons, may not change them
        ("other_state_clinician", 404),
        ("clinician", 201),
    ],
)
def test_api_record_matrix(users, jose, who, status):
    api = ApiClient(users[who] if who else None)
    before = state()

    response = api.post(f"/api/people/{jose.public_id}/affiliations", PAYLOAD)

    assert response.status_code == status, response.content
    if status == 201:
        assert response.json()["scheme"] == "imss"
        assert response.json()["recorded_by"] == "clinician"
        listed = api.get(f"/api/people/{jose.public_id}/affiliations").json()
        assert [a["public_id"] for a in listed] == [response.json()["public_id"]]
        ended = api.post(
            f"/api/people/{jose.public_id}/affiliations/{listed[0]['public_id']}/end",
            {"end": "2021-01-01"},
        )
        assert ended.status_code == 200 and ended.json()["end"] == "2021-01-01"
    else:
        assert state() == before


@pytest.mark.parametrize(
    ("who", "status"),
    [(None, 401), ("warehouse_manager", 403), ("other_state_clinician", 404), ("pharmacist", 200)],
)
def test_api_history_matrix(users, jose, who, status):
    record(users, jose)
    audit = AuditEvent.objects.count()
    response = ApiClient(users[who] if who else None).get(
        f"/api/people/{jose.public_id}/affiliations"
    )
    assert response.status_code == status
    assert AuditEvent.objects.count() == audit + (1 if status == 200 else 0)


def test_api_refuses_an_eps_without_name(users, jose):
    before = state()
    response = ApiClient(users["clinician"]).post(
        f"/api/people/{jose.public_id}/affiliations", {**PAYLOAD, "scheme": "co-contributory"}
    )
    assert response.status_code == 422
    assert response.json()["field"] == "insurer"
    assert state() == before


# --- the page --------------------------------------------------------------------------------------


def url(person: Person) -> str:
    return reverse("person_affiliation", args=[person.public_id])


@pytest.mark.parametrize(
    ("who", "status"),
    [
        (None, 302),
        ("warehouse_manager", 403),
        ("pharmacist", 403),
        ("other_state_clinician", 404),
        ("clinician", 302),
    ],
)
def test_page_post_matrix(client, users, jose, who, status):
    if who:
        client.force_login(users[who])
    before = state()
    form = {"scheme": "imss-bienestar", "start": "2022-03-04", "source": "self-declared"}

    response = client.post(url(jose), form)

    assert response.status_code == status
    if who == "clinician":
        fact = PersonAffiliation.objects.get(person=jose)
        assert (fact.scheme, fact.start, fact.source) == (
            "imss-bienestar",
            D(2022, 3, 4),
            "self-declared",
        )
        page = client.get(url(jose)).content.decode()
        assert "IMSS-Bienestar" in page and "Declarada por la persona" in page
    else:
        assert state() == before


def test_page_shows_errors_in_spanish_and_writes_nothing(client, users, jose):
    client.force_login(users["clinician"])
    before = state()
    response = client.post(
        url(jose), {"scheme": "co-subsidised", "start": "2022-03-04", "source": "self-declared"}
    )
    assert response.status_code == 422
    assert "Indique la EPS." in response.content.decode()
    after = state()
    assert after["facts"] == before["facts"] and after["changes"] == before["changes"]
    # The page shown again reads the history: one READ row, no write.
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["read"]


def test_page_end_button(client, users, jose):
    fact = record(users, jose)
    client.force_login(users["clinician"])
    end_url = reverse("person_affiliation_end", args=[jose.public_id, fact.public_id])
    assert client.post(end_url, {"end": "2023-01-01"}).status_code == 302
    fact.refresh_from_db()
    assert fact.end == D(2023, 1, 1)


# --- FHIR ------------------------------------------------------------------------------------------


def test_fhir_patient_carries_the_affiliation_in_force(users, jose):
    record(users, jose, scheme="imss", start=D(2020, 1, 1))
    record(users, jose, scheme="none", start=timezone.localdate() - dt.timedelta(days=3))

    body = FhirClient(users["clinician"]).get(f"Patient/{jose.public_id}").json()

    exts = [e for e in body.get("extension", []) if e["url"] == systems.AFFILIATION_EXTENSION]
    assert len(exts) == 1  # only the fact in force today
    parts = {p["url"]: p for p in exts[0]["extension"]}
    assert parts["scheme"]["valueCoding"]["code"] == "none"
    assert parts["source"]["valueCode"] == "self-declared"
    assert "start" in parts["period"]["valuePeriod"]
