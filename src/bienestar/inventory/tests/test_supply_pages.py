"""Supply pages: who may open and post what (anonymous, other state, wrong role, allowed), with
nothing changed on refusal, and the cycle through the forms."""

from __future__ import annotations

import pytest
from django.urls import reverse

from bienestar.inventory.models import Lot
from bienestar.inventory.shipments import Wanted, requisition_create, requisition_push
from bienestar.inventory.supply_models import Requisition, RequisitionStatus, Shipment
from bienestar.inventory.tests.factories import ENALAPRIL, METFORMIN
from bienestar.inventory.tests.test_shipments import all_checks_hold, stock_warehouse
from bienestar.inventory.tests.test_supply_api import state

pytestmark = pytest.mark.django_db


def sign_in(client, supply, who):
    if who is None:
        return client
    users = {**supply.net.users, **supply.users}
    client.force_login(users[who])
    return client


@pytest.mark.parametrize(
    ("who", "status"),
    [(None, 302), ("almacen_hgo", 403), ("clinician", 403), ("pharmacist", 403), ("almacen", 200)],
)
def test_warehouse_dashboard_matrix(client, supply, who, status):
    stock_warehouse(supply)
    url = reverse("supply_dashboard", args=[supply.warehouse.public_id])
    response = sign_in(client, supply, who).get(url)
    assert response.status_code == status
    if status == 200:
        body = response.content.decode()
        assert "Existencias por clave" in body and "Meses de existencia" in body
        assert "Almacén Estatal Oaxaca" in body


def test_almacen_lands_on_its_own_dashboard(client, supply):
    response = sign_in(client, supply, "almacen").get(reverse("supply_own"))
    assert response.status_code == 302
    assert str(supply.warehouse.public_id) in response["Location"]


@pytest.mark.parametrize(
    ("who", "status"),
    [(None, 302), ("hidalgo_pharmacist", 403), ("clinician", 403), ("pharmacist", 302)],
)
def test_request_form_matrix(client, supply, who, status):
    url = reverse("supply_request", args=[supply.net.centre.public_id])
    before = state()
    response = sign_in(client, supply, who).post(
        url, {f"qty-{METFORMIN}": "", "extra-key-0": METFORMIN, "extra-qty-0": "12"}
    )
    assert response.status_code == status
    if who == "pharmacist":
        req = Requisition.objects.get()
        assert response["Location"].endswith(f"/abasto/requisiciones/{req.public_id}/")
        assert [(li.medicine_id, li.requested) for li in req.lines.all()] == [(METFORMIN, 12)]
    else:
        assert state() == before


def test_request_form_refuses_bad_quantities_with_a_clear_message(client, supply):
    url = reverse("supply_request", args=[supply.net.centre.public_id])
    client = sign_in(client, supply, "pharmacist")
    before = state()
    response = client.post(url, {"extra-key-0": METFORMIN, "extra-qty-0": "1.5"})
    assert response.status_code == 422 and "unidades enteras" in response.content.decode()
    response = client.post(url, {"extra-key-0": "999.999", "extra-qty-0": "3"})
    assert response.status_code == 422 and "Clave desconocida" in response.content.decode()
    assert state() == before


@pytest.mark.parametrize(
    ("who", "status"),
    [(None, 302), ("almacen_hgo", 404), ("pharmacist", 200), ("almacen", 302)],
)
def test_approval_matrix(client, supply, who, status):
    req = requisition_create(
        supply.net.actor("pharmacist"), requester=supply.net.centre, lines=[Wanted(METFORMIN, 9)]
    )
    url = reverse("supply_requisition", args=[req.public_id])
    before = state()
    response = sign_in(client, supply, who).post(
        url, {"accion": "aprobar", f"approved-{req.lines.get().id}": "7"}
    )
    # The unit's pharmacist may see the requisition but the approval is not hers: 403 on posting.
    expected = 403 if who == "pharmacist" else status
    assert response.status_code == expected
    req.refresh_from_db()
    if who == "almacen":
        assert req.status == RequisitionStatus.APPROVED and req.lines.get().approved == 7
    else:
        assert state() == before


def test_receiving_page_needs_a_reason_for_a_short_line(client, supply):
    stock_warehouse(supply)
    from bienestar.inventory.shipments import requisition_ship

    kit = requisition_push(
        supply.actor("almacen"),
        supplier=supply.warehouse,
        requester=supply.net.centre,
        lines=[Wanted(ENALAPRIL, 10)],
    )
    shipment = requisition_ship(supply.actor("almacen"), requisition=kit)
    line = shipment.lines.get()
    url = reverse("supply_shipment", args=[shipment.public_id])
    for who, status in ((None, 302), ("hidalgo_pharmacist", 404), ("almacen", 403)):
        client.logout()
        before = state()
        response = sign_in(client, supply, who).post(url, {f"received-{line.id}": "10"})
        assert response.status_code == status
        assert state() == before
    client.logout()
    client = sign_in(client, supply, "pharmacist")
    before = state()
    response = client.post(url, {f"received-{line.id}": "8", f"reason-{line.id}": ""})
    assert response.status_code == 422 and "motivo" in response.content.decode()
    assert state() == before
    response = client.post(url, {f"received-{line.id}": "8", f"reason-{line.id}": "damaged"})
    assert response.status_code == 302
    assert Lot.objects.get(facility=supply.net.centre).quantity == 8
    assert Shipment.objects.get().status == "received"
    all_checks_hold()
