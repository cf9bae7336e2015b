"""The dispense API's `Idempotency-Key`: a request sent again (a retry after a timeout, a client that
crashed before reading the answer) records the dispense once.

Without the header the endpoint keeps its old behaviour; with it, the key names the dispense (per
user), the repeat answers 201 with `Idempotent-Replayed: true` and writes nothing, the same key for
another prescription is a 409, and a malformed key a 422 — each refusal with nothing written.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from bienestar.access.tests.api_client import ApiClient
from bienestar.inventory.tests.factories import METFORMIN, build_network, receive
from bienestar.people.tests.factories import PersonFactory
from bienestar.prescribing.models import Dispense
from bienestar.prescribing.tests.factories import line, prescribe, state

pytestmark = pytest.mark.reliability

URL = "/api/prescriptions/{}/dispenses"


def body(prescription, quantity, reason=None):
    [pl] = list(prescription.lines.all())
    item = {"line": str(pl.public_id), "quantity": quantity}
    if reason:
        item["reason_if_unfilled"] = reason
    return {"lines": [item]}


class KeyClient(ApiClient):
    def post_key(self, path, data, key):
        import json

        headers = {**self._headers(), "Idempotency-Key": key}
        return self.client.post(
            path, json.dumps(data), content_type="application/json", headers=headers
        )


@pytest.fixture
def rx(geo, users):
    net = build_network(geo, users)
    receive(net.actor("pharmacist"), net.centre, METFORMIN, 1000)
    person = PersonFactory(territory=geo["oaxaca_centro"])
    return net, person


@pytest.mark.django_db
def test_same_key_twice_records_one_dispense(rx):
    net, person = rx
    p = prescribe(net, person, line(METFORMIN, 60))
    client = KeyClient(net.users["pharmacist"])
    first = client.post_key(URL.format(p.public_id), body(p, 20, "patient_declined"), "k-1")
    assert first.status_code == 201, first.content
    assert "Idempotent-Replayed" not in first.headers
    after_first = state()
    again = client.post_key(URL.format(p.public_id), body(p, 20, "patient_declined"), "k-1")
    assert again.status_code == 201, again.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(again.json()["dispenses"]) == 1
    after = state()
    # Only the read of the prescription (for the answer) is audited; nothing else changed.
    assert {k: v for k, v in after.items() if k != "audit"} == {
        k: v for k, v in after_first.items() if k != "audit"
    }
    assert [line["dispensed_quantity"] for line in again.json()["lines"]] == [20]
    # A new key is a new dispense of what remains.
    third = client.post_key(URL.format(p.public_id), body(p, 40), "k-2")
    assert third.status_code == 201, third.content
    assert third.json()["status"] == "completed"
    assert Dispense.objects.filter(prescription=p).count() == 2


@pytest.mark.django_db
def test_same_key_on_another_prescription_is_409_and_writes_nothing(rx):
    net, person = rx
    p1 = prescribe(net, person, line(METFORMIN, 10))
    p2 = prescribe(net, person, line(METFORMIN, 10))
    client = KeyClient(net.users["pharmacist"])
    assert client.post_key(URL.format(p1.public_id), body(p1, 10), "shared").status_code == 201
    before = state()
    refused = client.post_key(URL.format(p2.public_id), body(p2, 10), "shared")
    assert refused.status_code == 409, refused.content
    assert refused.json()["field"] == "idempotency_key"
    assert state() == before


@pytest.mark.django_db
def test_keys_of_different_users_never_meet(rx):
    net, person = rx
    p = prescribe(net, person, line(METFORMIN, 10))
    first = KeyClient(net.users["pharmacist"])
    assert (
        first.post_key(URL.format(p.public_id), body(p, 4, "patient_declined"), "same").status_code
        == 201
    )
    # Another pharmacist of the same pharmacy with the same key dispenses anew.
    from bienestar.access.roles import Role
    from bienestar.access.tests.factories import UserFactory

    colleague = UserFactory(
        username="farmacia-b",
        role=Role.PHARMACIST,
        territory=net.users["pharmacist"].territory,
        facility=net.centre,
    )
    second = KeyClient(colleague).post_key(URL.format(p.public_id), body(p, 6), "same")
    assert second.status_code == 201, second.content
    assert "Idempotent-Replayed" not in second.headers
    assert Dispense.objects.filter(prescription=p).count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "con espacio", "x" * 201, "ñandú", "tab\tkey"])
def test_malformed_key_is_422_and_writes_nothing(rx, key):
    net, person = rx
    p = prescribe(net, person, line(METFORMIN, 10))
    before = state()
    response = KeyClient(net.users["pharmacist"]).post_key(
        URL.format(p.public_id), body(p, 10), key
    )
    assert response.status_code == 422, response.content
    assert state() == before


@pytest.mark.django_db
def test_refusals_still_apply_with_a_key(rx):
    """A key does not bypass the permission check: a clinician's keyed dispense is a 403."""
    net, person = rx
    p = prescribe(net, person, line(METFORMIN, 10))
    before = state()
    response = KeyClient(net.users["clinician"]).post_key(URL.format(p.public_id), body(p, 10), "k")
    assert response.status_code == 403
    assert state() == before


@pytest.mark.django_db(transaction=True)
def test_copies_sent_at_the_same_instant_record_one_dispense(geo, users):
    """Four copies of one keyed request, each on its own database connection, released together:
    the advisory lock makes them queue, the first records, the others replay."""
    net = build_network(geo, users)
    receive(net.actor("pharmacist"), net.centre, METFORMIN, 1000)
    p = prescribe(net, PersonFactory(territory=geo["oaxaca_centro"]), line(METFORMIN, 60))
    data = body(p, 15, "patient_declined")
    client = KeyClient(net.users["pharmacist"])
    barrier = threading.Barrier(4)
    statuses: list[tuple[int, str]] = []
    lock = threading.Lock()

    def send() -> None:
        try:
            barrier.wait(timeout=30)
            r = client.post_key(URL.format(p.public_id), data, "simultaneous")
            with lock:
                statuses.append((r.status_code, r.headers.get("Idempotent-Replayed", "")))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(statuses) == [(201, ""), (201, "true"), (201, "true"), (201, "true")]
    assert Dispense.objects.filter(prescription=p).count() == 1
    p.refresh_from_db()
    assert p.lines.get().dispensed_quantity == 15


@pytest.mark.django_db
def test_same_key_with_another_body_is_422_and_dispenses_nothing(rx):
    """Issue 9: dispensing 2 with key K, then K with 3, answered 201 with the first dispense."""
    net, person = rx
    p = prescribe(net, person, line(METFORMIN, 60))
    client = KeyClient(net.users["pharmacist"])
    first = client.post_key(URL.format(p.public_id), body(p, 2, "patient_declined"), "k-body")
    assert first.status_code == 201, first.content
    before = state()

    for other in (
        body(p, 3, "patient_declined"),  # another quantity
        body(p, 2, "prescriber_changed"),  # the same quantity, another reason
    ):
        again = client.post_key(URL.format(p.public_id), other, "k-body")
        assert again.status_code == 422, again.content
        assert again.json()["error"] == "idempotency_key_reused"
        assert again.json()["field"] == "idempotency_key"
        assert "clave de idempotencia" in again.json()["detail"]
        assert "Idempotent-Replayed" not in again.headers
        assert {k: v for k, v in state().items() if k != "audit"} == {
            k: v for k, v in before.items() if k != "audit"
        }
    assert Dispense.objects.filter(prescription=p).count() == 1
    p.refresh_from_db()
    assert [pl.dispensed_quantity for pl in p.lines.all()] == [2]

    # The same body again is still the original answer.
    same = client.post_key(URL.format(p.public_id), body(p, 2, "patient_declined"), "k-body")
    assert same.status_code == 201, same.content
    assert same.headers["Idempotent-Replayed"] == "true"
    assert [d["public_id"] for d in same.json()["dispenses"]] == [
        d["public_id"] for d in first.json()["dispenses"]
    ]
    assert Dispense.objects.filter(prescription=p).count() == 1
