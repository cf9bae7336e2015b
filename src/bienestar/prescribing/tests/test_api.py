"""The prescriptions API through HTTP: the authorization matrix (nothing changes on refusal, one
audit row per allowed call), bad input, insufficient stock, and no N+1 on lists."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from bienestar.access.models import AuditEvent
from bienestar.access.tests.api_client import ApiClient, count_queries
from bienestar.inventory.tests.factories import ENALAPRIL, METFORMIN, receive
from bienestar.prescribing.models import Prescription
from bienestar.prescribing.tests.factories import line, prescribe, state

pytestmark = pytest.mark.django_db

URL = "/api/prescriptions/"


def client(net, who):
    return ApiClient(net.users[who] if who else None)


def body(person, **overrides):
    data = {
        "person": str(person.public_id),
        "lines": [
            {
                "medicine": METFORMIN,
                "quantity": 60,
                "dose": "1 tableta",
                "frequency": "cada 12 horas",
                "duration_days": 30,
            }
        ],
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("who", "status"),
    [
        (None, 401),
        ("pharmacist", 403),
        ("warehouse_manager", 403),
        ("other_state_clinician", 404),
        ("clinician", 201),
    ],
)
def test_prescribe_matrix(net, jose, who, status):
    before = state()
    response = client(net, who).post(URL, body(jose))
    assert response.status_code == status, response.content
    after = state()
    if status == 201:
        data = response.json()
        assert data["status"] == "active" and data["code_display"].count("-") == 2
        assert data["lines"][0]["remaining"] == 60
        assert data["person"]["public_id"] == str(jose.public_id) and "id" not in data
        assert after["audit"] == before["audit"] + 1
    else:
        assert after == before


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"quantity": 2.5}, 422),
        ({"quantity": "60"}, 422),
        ({"quantity": 0}, 422),
        ({"quantity": -1}, 422),
        ({"medicine": "999.999.9999.99"}, 422),
        ({"duration_days": 0}, 422),
    ],
)
def test_prescribe_bad_lines(net, jose, change, status):
    data = body(jose)
    data["lines"][0].update(change)
    before = state()
    response = client(net, "clinician").post(URL, data)
    assert response.status_code == status, response.content
    assert state() == before
    if "medicine" in change:
        assert "999.999.9999.99" in response.json()["detail"]


@pytest.mark.parametrize(
    ("who", "status"),
    [
        (None, 401),
        ("warehouse_manager", 403),
        ("other_state_clinician", 404),
        ("hidalgo_pharmacist", 404),
        ("clinician", 200),
        ("pharmacist", 200),
    ],
)
def test_read_matrix(net, jose, who, status):
    p = prescribe(net, jose)
    before = AuditEvent.objects.count()
    response = client(net, who).get(f"{URL}{p.public_id}")
    assert response.status_code == status, response.content
    if status == 200:
        assert response.json()["code"] == p.code
        assert AuditEvent.objects.count() == before + 1
        event = AuditEvent.objects.latest("id")
        assert (event.channel, event.person_id) == ("api", jose.id)
    else:
        assert AuditEvent.objects.count() == before


def test_by_code_across_states_for_a_pharmacist(net, jose):
    p = prescribe(net, jose)
    response = client(net, "hidalgo_pharmacist").get(
        f"{URL}by-code/{p.code[:3]}-{p.code[3:6]}-{p.code[6:]}"
    )
    assert response.status_code == 200, response.content
    assert AuditEvent.objects.latest("id").query == {"by": "code", "outside_territory": True}
    assert client(net, "other_state_clinician").get(f"{URL}by-code/{p.code}").status_code == 404
    assert client(net, "pharmacist").get(f"{URL}by-code/ABCDEFGH2").status_code == 422


def dispense_body(p, *quantities):
    lines = list(p.lines.order_by("position"))
    out = []
    for pl, q in zip(lines, quantities, strict=False):
        item = {"line": str(pl.public_id), "quantity": q[0] if isinstance(q, tuple) else q}
        if isinstance(q, tuple):
            item["reason_if_unfilled"] = q[1]
        out.append(item)
    return {"lines": out}


@pytest.mark.parametrize(
    ("who", "status"),
    [
        (None, 401),
        ("warehouse_manager", 403),  # same facility, wrong role
        ("clinician", 403),
        ("pharmacist", 201),
    ],
)
def test_dispense_matrix(net, jose, who, status):
    receive(net.actor("pharmacist"), net.centre, METFORMIN, 100)
    p = prescribe(net, jose, line(METFORMIN, 60))
    before = state()
    response = client(net, who).post(f"{URL}{p.public_id}/dispenses", dispense_body(p, 60))
    assert response.status_code == status, response.content
    if status == 201:
        data = response.json()
        assert data["status"] == "completed"
        [d] = data["dispenses"]
        assert d["lines"][0]["lots"] == [
            {"lot_number": "L1", "expiry": d["lines"][0]["lots"][0]["expiry"], "quantity": 60}
        ]
        assert state()["audit"] == before["audit"] + 1
    else:
        assert state() == before


def test_dispense_more_than_the_shelf_is_409_and_writes_nothing(net, jose):
    receive(net.actor("pharmacist"), net.centre, METFORMIN, 25)
    p = prescribe(net, jose, line(METFORMIN, 60))
    before = state()
    response = client(net, "pharmacist").post(
        f"{URL}{p.public_id}/dispenses", dispense_body(p, (30, "out_of_stock"))
    )
    assert response.status_code == 409
    data = response.json()
    assert data["error"] == "insufficient_stock" and data["available"] == 25
    assert data["detail"].startswith("Existencia insuficiente de 010.000.5165.00")
    assert state() == before
    response = client(net, "pharmacist").post(
        f"{URL}{p.public_id}/dispenses", dispense_body(p, (25, "out_of_stock"))
    )
    assert response.status_code == 201
    assert response.json()["status"] == "partially_dispensed"
    again = client(net, "pharmacist").post(f"{URL}{p.public_id}/dispenses", dispense_body(p, 36))
    assert again.status_code == 422 and "solo quedan 35" in again.json()["detail"]


@pytest.mark.parametrize("quantity", [2.5, "5", -1])
def test_dispense_quantities_are_strict(net, jose, quantity):
    p = prescribe(net, jose, line(METFORMIN, 5))
    before = state()
    response = client(net, "pharmacist").post(
        f"{URL}{p.public_id}/dispenses", dispense_body(p, quantity)
    )
    assert response.status_code == 422
    assert state() == before


def test_cancel_then_dispense_is_refused(net, jose):
    receive(net.actor("pharmacist"), net.centre, METFORMIN, 100)
    p = prescribe(net, jose, line(METFORMIN, 5))
    assert (
        client(net, "pharmacist").post(f"{URL}{p.public_id}/cancel", {"reason": "x"}).status_code
        == 403
    )
    response = client(net, "clinician").post(f"{URL}{p.public_id}/cancel", {"reason": "alergia"})
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    before = state()
    response = client(net, "pharmacist").post(f"{URL}{p.public_id}/dispenses", dispense_body(p, 5))
    assert response.status_code == 409 and "cancelada" in response.json()["detail"]
    assert state() == before


def test_queue_and_person_list_have_no_n_plus_one(net, jose):
    api = client(net, "pharmacist")
    prescribe(net, jose, line(METFORMIN), line(ENALAPRIL))
    one = count_queries(lambda: api.get(f"{URL}queue"))
    for _ in range(4):
        prescribe(net, jose, line(METFORMIN), line(ENALAPRIL))
    five = count_queries(lambda: api.get(f"{URL}queue"))
    assert one == five
    response = api.get(f"{URL}queue")
    assert len(response.json()) == 5
    listed = client(net, "clinician").get(URL, {"person": str(jose.public_id)})
    assert listed.status_code == 200 and len(listed.json()) == 5


def test_fill_rate_endpoint(net, jose):
    receive(net.actor("pharmacist"), net.centre, METFORMIN, 100)
    p = prescribe(net, jose, line(METFORMIN, 40), line(ENALAPRIL, 10))
    client(net, "pharmacist").post(
        f"{URL}{p.public_id}/dispenses", dispense_body(p, 40, (0, "out_of_stock"))
    )
    today = timezone.localdate().isoformat()
    response = client(net, "pharmacist").get(
        f"{URL}fill-rate", {"date_from": today, "date_to": today, "facility": net.centre.clues}
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["lines_filled"], data["lines_prescribed"], data["line_rate"]) == (1, 2, "0.5000")
    assert (data["units_dispensed"], data["units_prescribed"], data["unit_rate"]) == (
        40,
        50,
        "0.8000",
    )
    assert data["provisional"] is True
    assert (
        client(net, "clinician")
        .get(f"{URL}fill-rate", {"date_from": today, "date_to": today})
        .status_code
        == 403
    )
    by_facility = client(net, "pharmacist").get(
        f"{URL}fill-rate/by-facility", {"date_from": today, "date_to": today, "territory": "MX.20"}
    )
    assert [r["facility"]["name"] for r in by_facility.json()] == ["Centro de Salud Oaxaca"]
    bad = client(net, "pharmacist").get(
        f"{URL}fill-rate",
        {"date_from": today, "date_to": (timezone.localdate() - dt.timedelta(days=1)).isoformat()},
    )
    assert bad.status_code == 422
    assert Prescription.objects.count() == 1
