"""Schedule, Slot and Appointment through FHIR: free slots found with Slot?status=free and read by
id, an Appointment created by booking its Slot, 30 clients racing for one Slot (one 201, 29 x 409
with an OperationOutcome), and the authorization matrix with nothing written on refusal."""

from __future__ import annotations

import datetime as dt
import json
import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from bienestar.access.roles import Role
from bienestar.access.tests.factories import UserFactory
from bienestar.fhir.tests.client import FhirClient, token_for
from bienestar.people.tests.factories import PersonFactory
from bienestar.scheduling.models import Appointment
from bienestar.scheduling.tests.factories import unit

FHIR_JSON = "application/fhir+json"


def _appointment(slot_id: str, person: Any) -> dict[str, Any]:
    return {
        "resourceType": "Appointment",
        "status": "booked",
        "slot": [{"reference": f"Slot/{slot_id}"}],
        "participant": [
            {"actor": {"reference": f"Patient/{person.public_id}"}, "status": "accepted"}
        ],
        "description": "Control de hipertensión",
    }


@pytest.mark.django_db
def test_find_a_free_slot_book_it_and_read_it_back():
    u = unit("23", "Quintana Roo")
    person = PersonFactory(territory=u.territory)
    fhir = FhirClient(u.clinician)
    found = fhir.get("Slot", {"status": "free", "_count": "5"})
    assert found.status_code == 200, found.content
    bundle = found.json()
    assert bundle["type"] == "searchset" and len(bundle["entry"]) == 5
    slot = bundle["entry"][0]["resource"]
    assert slot["status"] == "free"
    assert fhir.get(f"Slot/{slot['id']}").json()["start"] == slot["start"]
    schedule = fhir.get(slot["schedule"]["reference"])
    assert schedule.status_code == 200 and schedule.json()["resourceType"] == "Schedule"
    created = fhir.post("Appointment", _appointment(slot["id"], person))
    assert created.status_code == 201, created.content
    appointment = created.json()
    assert appointment["status"] == "booked" and appointment["start"] == slot["start"]
    read = fhir.get(f"Appointment/{appointment['id']}")
    assert read.status_code == 200 and read.json()["slot"][0]["reference"] == f"Slot/{slot['id']}"
    assert fhir.get(f"Slot/{slot['id']}").json()["status"] == "busy"
    mine = fhir.get("Appointment", {"patient": f"Patient/{person.public_id}"}).json()
    assert [e["resource"]["id"] for e in mine["entry"]] == [appointment["id"]]
    bad = fhir.get("Slot", {"color": "rojo"})
    assert bad.status_code == 400 and bad.json()["resourceType"] == "OperationOutcome"
    assert fhir.post("Slot", {"resourceType": "Slot"}).status_code == 405


@pytest.mark.django_db
def test_appointment_matrix_writes_nothing_on_refusal():
    u = unit()
    other = unit("13", "Hidalgo", username="medico_hgo")
    pharmacist = UserFactory(
        username="farm", role=Role.PHARMACIST, territory=u.territory, facility=u.facility
    )
    person = PersonFactory(territory=u.territory)
    slot = FhirClient(u.clinician).get("Slot", {"status": "free", "_count": "1"}).json()["entry"][0]
    body = _appointment(slot["resource"]["id"], person)
    for user, expected in [(None, 401), (other.clinician, 404), (pharmacist, 403)]:
        res = FhirClient(user).post("Appointment", body)
        assert res.status_code == expected, (user, res.content)
        assert res.json()["resourceType"] == "OperationOutcome"
        assert Appointment.objects.count() == 0
    # a scoped token without Appointment write
    res = FhirClient(u.clinician, scopes="user/Slot.read user/Appointment.read").post(
        "Appointment", body
    )
    assert res.status_code == 403 and Appointment.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_thirty_clients_post_an_appointment_for_one_slot_and_one_wins():
    u = unit()
    people = [PersonFactory(territory=u.territory) for _ in range(30)]
    token = token_for(u.clinician)
    slot = FhirClient(u.clinician).get("Slot", {"status": "free", "_count": "1"}).json()["entry"][0]
    slot_id = slot["resource"]["id"]
    barrier = threading.Barrier(30)
    answers: list[tuple[int, dict[str, Any]]] = []
    lock = threading.Lock()

    def post(person: Any) -> None:
        client = Client()
        try:
            barrier.wait()
            res = client.post(
                "/fhir/Appointment",
                json.dumps(_appointment(slot_id, person)),
                content_type=FHIR_JSON,
                headers={"Authorization": f"Bearer {token}", "Accept": FHIR_JSON},
            )
            with lock:
                answers.append((res.status_code, res.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(p,)) for p in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(code for code, _ in answers)
    assert codes == [201] + [409] * 29, codes
    assert all(body["resourceType"] == "OperationOutcome" for code, body in answers if code == 409)
    assert Appointment.objects.count() == 1
    start = dt.datetime.strptime(slot_id[37:], "%Y%m%d%H%M").replace(tzinfo=dt.UTC)
    assert Appointment.objects.get().start == start
