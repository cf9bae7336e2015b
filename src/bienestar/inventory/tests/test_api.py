"""The stock API through HTTP: who may read and write, strict integer quantities, clear refusals."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from bienestar.access.tests.api_client import ApiClient, count_queries
from bienestar.inventory.models import Lot
from bienestar.inventory.tests.factories import ENALAPRIL, METFORMIN, receive, stock_state

pytestmark = pytest.mark.django_db

URL = "/api/inventory/"
NEXT_YEAR = (timezone.localdate() + dt.timedelta(days=365)).isoformat()


def receipt(quantity: object = 10, key: str = METFORMIN) -> dict[str, object]:
    return {
        "reference": "REM-1",
        "lines": [{"medicine": key, "lot_number": "A1", "expiry": NEXT_YEAR, "quantity": quantity}],
    }


@pytest.mark.parametrize(
    ("who", "status"),
    [
        (None, 401),
        ("clinician", 403),
        ("pharmacist2", 403),
        ("hidalgo_pharmacist", 403),
        ("pharmacist", 201),
        ("warehouse_manager", 201),
    ],
)
def test_receive_matrix(net, who, status):
    api = ApiClient(net.users[who] if who else None)
    before = stock_state()
    response = api.post(f"{URL}facilities/{net.centre.clues}/receipts", receipt())
    assert response.status_code == status, response.content
    if status == 201:
        [movement] = response.json()
        assert (movement["kind"], movement["quantity"], movement["balance_after"]) == (
            "receipt",
            10,
            10,
        )
        assert movement["lot"]["lot_number"] == "A1" and "id" not in movement
    else:
        assert stock_state() == before


@pytest.mark.parametrize("quantity", [2.5, 10.0, "10", 0, -3, True])
def test_quantities_must_be_positive_json_integers(net, quantity):
    api = ApiClient(net.users["pharmacist"])
    before = stock_state()
    response = api.post(f"{URL}facilities/{net.centre.clues}/receipts", receipt(quantity))
    assert response.status_code == 422, response.content
    assert stock_state() == before


def test_unknown_key_is_named(net):
    api = ApiClient(net.users["pharmacist"])
    response = api.post(
        f"{URL}facilities/{net.centre.clues}/receipts", receipt(key="123.456.7890.00")
    )
    assert response.status_code == 422
    assert "123.456.7890.00" in response.json()["detail"]


def test_adjust_beyond_balance_is_a_409_insufficient_stock(net):
    lot = receive(net.actor("pharmacist"), net.centre, METFORMIN, 4)
    api = ApiClient(net.users["pharmacist"])
    response = api.post(
        f"{URL}lots/{lot.public_id}/adjustments", {"quantity": -5, "reason": "lost"}
    )
    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "insufficient_stock"
    assert body["detail"].startswith("Existencia insuficiente")
    assert (body["requested"], body["available"]) == (5, 4)
    assert Lot.objects.get(pk=lot.pk).quantity == 4


def test_transfer_count_and_write_off_endpoints(net):
    actor = net.actor("pharmacist")
    lot = receive(actor, net.centre, METFORMIN, 30, lot_number="T")
    api = ApiClient(net.users["pharmacist"])
    response = api.post(
        f"{URL}lots/{lot.public_id}/transfers",
        {"to_facility": str(net.pharmacy2.public_id), "quantity": 10},
    )
    assert response.status_code == 201, response.content
    assert response.json()["inbound"]["balance_after"] == 10
    response = api.post(
        f"{URL}facilities/{net.centre.clues}/counts",
        {"note": "conteo", "lines": [{"lot": str(lot.public_id), "counted": 18}]},
    )
    assert response.status_code == 201, response.content
    assert [(m["kind"], m["quantity"]) for m in response.json()] == [("count", -2)]
    response = api.post(f"{URL}facilities/{net.centre.clues}/expiry-write-offs", {})
    assert response.status_code == 201 and response.json() == []


def test_stock_ledger_and_availability_reads(net):
    actor = net.actor("pharmacist")
    for i in range(5):
        receive(actor, net.centre, METFORMIN, 10 + i, lot_number=f"M{i}")
    receive(actor, net.centre, ENALAPRIL, 3, lot_number="E")
    api = ApiClient(net.users["pharmacist"])
    stock = api.get(f"{URL}facilities/{net.centre.public_id}/stock", {"low_stock_threshold": 5})
    assert stock.status_code == 200
    assert [(r["medicine"]["key"], r["usable"], r["low"]) for r in stock.json()] == [
        (ENALAPRIL, 3, True),
        (METFORMIN, 60, False),
    ]
    page = api.get(f"{URL}facilities/{net.centre.clues}/ledger", {"limit": 4})
    body = page.json()
    assert (body["count"], len(body["items"])) == (6, 4)
    assert body["next"].endswith("offset=4") or "offset=4" in body["next"]
    # No N+1: the same number of queries for 2 rows as for 6.
    small = count_queries(
        lambda: api.get(f"{URL}facilities/{net.centre.clues}/ledger", {"limit": 2})
    )
    large = count_queries(
        lambda: api.get(f"{URL}facilities/{net.centre.clues}/ledger", {"limit": 6})
    )
    assert small == large
    avail = api.get(
        f"{URL}facilities/{net.centre.clues}/availability", {"medicine": [METFORMIN, "999"]}
    )
    assert avail.json() == [
        {"medicine": METFORMIN, "available": 60, "in_stock": True},
        {"medicine": "999", "available": 0, "in_stock": False},
    ]
    assert (
        ApiClient(net.users["outreach_manager"])
        .get(f"{URL}facilities/{net.centre.clues}/stock")
        .status_code
        == 403
    )


# --- issue 9: plausible expiry dates, and no existence leak of other states' lots ----------------


@pytest.mark.parametrize("expiry", ["9999-12-31", "2205-01-01", "+3700"])
def test_an_implausible_expiry_is_refused_with_nothing_written(net, expiry):
    if expiry.startswith("+"):
        expiry = (timezone.localdate() + dt.timedelta(days=int(expiry))).isoformat()
    api = ApiClient(net.users["pharmacist"])
    before = stock_state()
    body = receipt()
    body["lines"] = [*body["lines"], {**body["lines"][0], "lot_number": "B2", "expiry": expiry}]

    response = api.post(f"{URL}facilities/{net.centre.clues}/receipts", body)

    assert response.status_code == 422, response.content
    assert response.json()["field"] == "expiry"
    assert "no es verosímil" in response.json()["detail"]
    assert expiry in response.json()["detail"]
    assert stock_state() == before


def test_an_expiry_ten_years_ahead_is_still_received(net):
    from bienestar.inventory.services import latest_plausible_expiry

    api = ApiClient(net.users["pharmacist"])
    body = receipt()
    body["lines"][0]["expiry"] = latest_plausible_expiry(timezone.localdate()).isoformat()
    response = api.post(f"{URL}facilities/{net.centre.clues}/receipts", body)
    assert response.status_code == 201, response.content


def test_latest_plausible_expiry_handles_29_february():
    from bienestar.inventory.services import latest_plausible_expiry

    assert latest_plausible_expiry(dt.date(2028, 2, 29)) == dt.date(2038, 2, 28)
    assert latest_plausible_expiry(dt.date(2026, 12, 7)) == dt.date(2036, 12, 7)


def test_a_lot_of_another_state_is_a_404_like_a_missing_one(net):
    import uuid

    hidalgo_lot = receive(
        net.actor("hidalgo_pharmacist"), net.hidalgo_centre, METFORMIN, 10, lot_number="HGO-1"
    )
    api = ApiClient(net.users["pharmacist"])
    before = stock_state()

    other = api.get(f"{URL}lots/{hidalgo_lot.public_id}")
    missing = api.get(f"{URL}lots/{uuid.uuid4()}")
    assert other.status_code == missing.status_code == 404
    assert other.json() == missing.json()
    for action, payload in (
        ("adjustments", {"quantity": -1, "reason": "lost"}),
        ("transfers", {"to_facility": str(net.centre.public_id), "quantity": 1}),
    ):
        response = api.post(f"{URL}lots/{hidalgo_lot.public_id}/{action}", payload)
        assert response.status_code == 404, (action, response.content)
    assert stock_state() == before
    # The lot's own state still reads it; a role that keeps no stock is told so (403).
    assert (
        ApiClient(net.users["hidalgo_pharmacist"])
        .get(f"{URL}lots/{hidalgo_lot.public_id}")
        .status_code
        == 200
    )
    assert (
        ApiClient(net.users["auditor"]).get(f"{URL}lots/{hidalgo_lot.public_id}").status_code == 403
    )
