"""The server driven by a real FHIR client library (fhirclient, SMART on FHIR's Python client),
over HTTP against a live server: read, search with paging, create; the round trip with the web
pages; and concurrent updates with the same If-Match."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
import requests
from django.test import Client
from django.utils import timezone
from fhirclient import client as fhir_client
from fhirclient.models.encounter import Encounter as FhirEncounter
from fhirclient.models.patient import Patient as FhirPatient

from bienestar.access.models import AuditAction, AuditEvent
from bienestar.access.tests.factories import actor_for
from bienestar.clinical import services as clinical
from bienestar.fhir import systems
from bienestar.fhir.tests.client import assert_valid, token_for
from bienestar.fhir.tests.test_write import NEW_CURP, new_patient
from bienestar.people.models import Person
from bienestar.people.tests.factories import PersonFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


_SESSIONS: list[Any] = []


def smart(live_server: Any, token: str) -> fhir_client.FHIRClient:
    """A fhirclient client whose requests carry the bearer token (fhirclient's own auth is the
    SMART OAuth dance; a pre-issued token goes on its requests session)."""
    client = fhir_client.FHIRClient(
        settings={"app_id": "bienestar-tests", "api_base": f"{live_server.url}/fhir/"}
    )
    client.server.session.headers["Authorization"] = f"Bearer {token}"
    _SESSIONS.append(client.server.session)
    return client


@pytest.fixture(autouse=True)
def _close_sessions():  # type: ignore[no-untyped-def]
    """Kept-alive HTTP connections hold a live-server thread, and its database connection, open."""
    yield
    while _SESSIONS:
        _SESSIONS.pop().close()


def test_fhirclient_reads_the_capability_statement_and_patients(live_server, users, jose):
    client = smart(live_server, token_for(users["clinician"]))

    statement = client.server.capabilityStatement
    assert statement.fhirVersion == "4.0.1"
    patient = FhirPatient.read(str(jose.public_id), client.server)
    assert patient.name[0].given == ["José"]
    assert patient.identifier[1].system == systems.CURP
    assert_valid(patient.as_json())


def test_fhirclient_search_follows_the_next_links(live_server, users, geo):
    for n in range(23):
        PersonFactory(territory=geo["oaxaca_centro"], given_names=f"Persona{n:02d}")
    client = smart(live_server, token_for(users["clinician"]))

    search = FhirPatient.where(struct={"given": "persona", "_count": "10", "_sort": "given"})
    bundles = list(search.perform_iter(client.server))
    found = [e.resource.name[0].given[0] for b in bundles for e in b.entry]

    assert len(bundles) == 3
    assert found == [f"Persona{n:02d}" for n in range(23)]


def test_round_trip_with_the_web_pages(live_server, users, geo, net, codes):
    """A Patient created through FHIR appears in the web person search; an encounter recorded
    by the clinical services (as the web page records it) appears through FHIR; all audited."""
    client = smart(live_server, token_for(users["clinician"]))

    created = FhirPatient(new_patient()).create(client.server)
    person = Person.objects.get(public_id=created["id"])
    assert (person.first_surname, person.second_surname) == ("García", "Ramírez")
    assert AuditEvent.objects.filter(
        action=AuditAction.CREATE, channel="fhir", person_id=person.id
    ).exists()

    web = Client()
    web.force_login(users["clinician"])
    page = web.get("/personas/", {"q": "Andrés García Ramírez"})
    assert page.status_code == 200
    assert person in page.context["results"]
    assert AuditEvent.objects.filter(
        action=AuditAction.SEARCH, channel="web", resource_type="Person"
    ).exists()

    start = timezone.now() - dt.timedelta(hours=1)
    encounter = clinical.encounter_record(
        actor_for(users["clinician"]),
        person=person,
        encounter_class="ambulatory",
        reason_text="Primera consulta",
        diagnoses=["I10"],
        start=start,
        end=start + dt.timedelta(minutes=15),
    )
    found = list(
        FhirEncounter.where(struct={"patient": str(person.public_id)}).perform_resources_iter(
            client.server
        )
    )
    assert [e.id for e in found] == [str(encounter.public_id)]
    assert found[0].status == "finished"
    assert AuditEvent.objects.filter(
        action=AuditAction.SEARCH,
        channel="fhir",
        resource_type="Encounter",
        resource_id=str(encounter.public_id),
    ).exists()


def test_fhirclient_update_with_the_version_it_read(live_server, users, jose):
    client = smart(live_server, token_for(users["clinician"]))
    patient = FhirPatient.read(str(jose.public_id), client.server)
    patient.birthDate.date = dt.date(1980, 5, 18)  # type: ignore[union-attr]

    patient.update(client.server)

    jose.refresh_from_db()
    assert jose.birth_date == dt.date(1980, 5, 18)
    assert jose.version == 2


def _race(url: str, headers: dict[str, str], current: dict[str, Any], tag: str) -> list[int]:
    """Two PUTs of `current`, each changing the name differently (an unchanged PUT would not
    conflict), with the same If-Match, released together."""
    version = current["meta"]["versionId"]
    barrier = threading.Barrier(2)
    statuses: list[int] = []
    lock = threading.Lock()

    def put(given: str) -> None:
        body = {**current, "name": [{**current["name"][0], "given": [given]}]}
        barrier.wait(timeout=30)
        response = requests.put(
            url, json=body, headers={**headers, "If-Match": f'W/"{version}"'}, timeout=60
        )
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=put, args=(f"{name}{tag}",)) for name in ("Uno", "Dos")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return statuses


def test_two_concurrent_updates_with_the_same_if_match(live_server, users, jose):
    """Both clients read version n and write at the same instant: exactly one succeeds, the other
    gets 412 and must read again. Five rounds, each on its own version."""
    token = token_for(users["clinician"])
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/fhir+json",
        "Accept": "application/fhir+json",
    }
    url = f"{live_server.url}/fhir/Patient/{jose.public_id}"
    current = requests.get(url, headers=headers, timeout=30).json()
    for round_ in range(5):
        version = int(current["meta"]["versionId"])
        statuses = _race(url, headers, current, str(round_))
        assert sorted(statuses) == [200, 412], statuses
        current = requests.get(url, headers=headers, timeout=30).json()
        assert current["meta"]["versionId"] == str(version + 1)
    jose.refresh_from_db()
    assert jose.version == 6


def test_conditional_create_through_fhirclient_headers(live_server, users, geo):
    token = token_for(users["clinician"])
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/fhir+json",
        "If-None-Exist": f"identifier={systems.CURP}|{NEW_CURP}",
    }
    url = f"{live_server.url}/fhir/Patient"

    first = requests.post(url, json=new_patient(), headers=headers, timeout=30)
    second = requests.post(url, json=new_patient(), headers=headers, timeout=30)

    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
