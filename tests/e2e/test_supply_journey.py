"""Issue 16's browser acceptance: a unit requests, its state warehouse approves and ships (first
expiring first out), the unit receives with one line short (the reason is required), and the stock
and both ledgers agree; the warehouse keeper of another state cannot see this warehouse.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.utils import timezone

from bienestar.inventory import checks
from bienestar.inventory.models import Lot, MovementKind, StockMovement
from bienestar.inventory.supply_models import Requisition, RequisitionStatus, ShipmentLine
from bienestar.inventory.tests.factories import ENALAPRIL, METFORMIN, build_network, receive
from bienestar.inventory.tests.supply_factories import build_supply

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
TODAY = timezone.localdate()


def _context(browser: Any, live_server: Any, sign_in: Any, username: str) -> Any:
    context = browser.new_context(
        viewport={"width": 1024, "height": 768}, base_url=live_server.url, locale="es-MX"
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, username)
    page.wait_for_url(re.compile(r"/$"))
    return page


def test_request_approve_ship_receive_short(
    browser: Any, live_server: Any, geo: Any, users: Any, sign_in: Any
) -> None:
    net = build_network(geo, users)
    supply = build_supply(net, geo)
    almacen = supply.actor("almacen")
    receive(
        almacen,
        supply.warehouse,
        METFORMIN,
        300,
        lot_number="M-LATE",
        expiry=TODAY + dt.timedelta(days=400),
    )
    receive(
        almacen,
        supply.warehouse,
        METFORMIN,
        100,
        lot_number="M-SOON",
        expiry=TODAY + dt.timedelta(days=60),
    )
    receive(almacen, supply.warehouse, ENALAPRIL, 50, lot_number="E1")

    # The unit's pharmacist asks for 120 metformin and 10 enalapril.
    unit = _context(browser, live_server, sign_in, "pharmacist")
    unit.goto(f"/abasto/unidades/{net.centre.public_id}/")
    unit.get_by_test_id("new-request").click()
    unit.get_by_test_id("extra-key-0").fill(METFORMIN)
    unit.get_by_test_id("extra-qty-0").fill("120")
    unit.get_by_test_id("extra-key-1").fill(ENALAPRIL)
    unit.get_by_test_id("extra-qty-1").fill("10")
    unit.get_by_test_id("send-request").click()
    assert unit.get_by_test_id("requisition-status").inner_text() == "Enviada, por aprobar"
    req = Requisition.objects.get()

    # The warehouse sees it on its dashboard, approves it as asked and ships it.
    wh = _context(browser, live_server, sign_in, "almacen_oax")
    wh.goto("/abasto/")
    assert wh.get_by_test_id("to-fill-count").inner_text() == "1"
    wh.get_by_test_id("to-fill").get_by_role("link", name="Abrir").click()
    wh.get_by_test_id("approve").click()
    assert wh.get_by_test_id("requisition-status").inner_text() == "Aprobada, por surtir"
    wh.get_by_test_id("ship").click()
    assert wh.get_by_test_id("shipment-status").inner_text() == "Despachado, en tránsito"
    picked = sorted(ShipmentLine.objects.values_list("source_lot__lot_number", "shipped"))
    assert picked == [("E1", 10), ("M-LATE", 20), ("M-SOON", 100)]  # FEFO

    # The unit receives: 95 of the 100 of lot M-SOON. Without a reason it is refused.
    unit.goto(f"/abasto/unidades/{net.centre.public_id}/")
    unit.get_by_test_id("incoming-shipment").get_by_role("link", name="Recibir").click()
    unit.get_by_test_id("received-M-SOON").fill("95")
    unit.get_by_test_id("receive").click()
    assert "motivo" in unit.get_by_test_id("receive-error").inner_text()
    assert not Lot.objects.filter(facility=net.centre).exists()
    unit.get_by_test_id("reason-M-SOON").select_option("short")
    unit.get_by_test_id("receive").click()
    assert unit.get_by_test_id("shipment-status").inner_text() == "Recibido"

    # Stock and ledgers agree on both sides.
    centre = dict(Lot.objects.filter(facility=net.centre).values_list("lot_number", "quantity"))
    assert centre == {"M-SOON": 95, "M-LATE": 20, "E1": 10}
    warehouse = dict(
        Lot.objects.filter(facility=supply.warehouse).values_list("lot_number", "quantity")
    )
    assert warehouse == {"M-SOON": 0, "M-LATE": 280, "E1": 40}
    out = StockMovement.objects.filter(facility=supply.warehouse, kind=MovementKind.TRANSFER_OUT)
    inbound = StockMovement.objects.filter(facility=net.centre, kind=MovementKind.TRANSFER_IN)
    assert sum(m.quantity for m in out) == -130 and sum(m.quantity for m in inbound) == 125
    short = ShipmentLine.objects.get(source_lot__lot_number="M-SOON")
    assert (short.received, short.difference_reason) == (95, "short")
    req.refresh_from_db()
    assert req.status == RequisitionStatus.RECEIVED
    for name, check in checks.checks():
        assert check() == [], name
    unit.goto(f"/unidades/{net.centre.public_id}/existencias/")
    assert unit.get_by_test_id(f"usable-{METFORMIN}").inner_text() == "115"

    # Hidalgo's warehouse keeper cannot see Oaxaca's warehouse nor its requisition.
    other = _context(browser, live_server, sign_in, "almacen_hgo")
    response = other.goto(f"/abasto/unidades/{supply.warehouse.public_id}/")
    assert response is not None and response.status == 403
    assert "Almacén Estatal Oaxaca" not in other.content()
    response = other.goto(f"/abasto/requisiciones/{req.public_id}/")
    assert response is not None and response.status == 404
    for p in (unit, wh, other):
        p.context.close()
