"""Network nodes, lot statuses, requisitions and shipments (double entry, in transit, receipt with
differences), and who may do what."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from bienestar.core.errors import Conflict, ValidationFailed
from bienestar.inventory import checks
from bienestar.inventory.errors import InsufficientStock
from bienestar.inventory.models import Lot, LotStatus, MovementKind, StockMovement
from bienestar.inventory.network import lot_set_status, may_supply, supply_node_set
from bienestar.inventory.selectors import medicines_available
from bienestar.inventory.services import Issue, stock_issue_fefo, stock_transfer
from bienestar.inventory.shipments import (
    Received,
    Wanted,
    in_transit,
    requisition_approve,
    requisition_create,
    requisition_push,
    requisition_reject,
    requisition_ship,
    shipment_receive,
)
from bienestar.inventory.supply_models import (
    NodeLevel,
    RequisitionStatus,
    ShipmentLine,
    ShipmentStatus,
    SupplyNode,
)
from bienestar.inventory.tests.factories import ENALAPRIL, METFORMIN, receive, stock_state

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


def all_checks_hold() -> None:
    for name, check in checks.checks():
        assert check() == [], name


def stock_warehouse(supply) -> None:
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


# --- Network and lot status ----------------------------------------------------------------------


def test_which_node_may_supply_which(supply):
    net = supply.net
    assert may_supply(supply.warehouse, net.centre)
    assert may_supply(supply.national, supply.warehouse)
    assert not may_supply(supply.hidalgo_warehouse, net.centre)
    assert not may_supply(net.centre, supply.warehouse)


def test_a_node_is_supplied_only_from_a_higher_level_by_its_keeper(supply, geo):
    from bienestar.facilities.tests.factories import FacilityFactory

    unit = FacilityFactory(territory=geo["oaxaca_centro"], name="Unidad nueva")
    node = supply_node_set(
        supply.actor("almacen"),
        facility=unit,
        level=NodeLevel.UNIT_PHARMACY,
        supplier=supply.warehouse,
    )
    assert node.supplier.facility == supply.warehouse
    with pytest.raises(ValidationFailed):  # a unit pharmacy does not supply another
        supply_node_set(
            supply.actor("pharmacist"),
            facility=supply.net.pharmacy2,
            level=NodeLevel.UNIT_PHARMACY,
            supplier=supply.net.centre,
        )
    count = SupplyNode.objects.count()
    for who in ("almacen_hgo", "pharmacist", "clinician", None):
        with pytest.raises(Exception) as refused:
            supply_node_set(
                supply.actor(who),
                facility=unit,
                level=NodeLevel.UNIT_PHARMACY,
                supplier=supply.warehouse,
            )
        assert refused.value.status in (401, 403)
    assert SupplyNode.objects.count() == count


def test_a_quarantined_or_recalled_lot_is_neither_dispensed_nor_counted_usable(net):
    pharmacist = net.actor("pharmacist")
    lot = receive(pharmacist, net.centre, METFORMIN, 10)
    lot_set_status(pharmacist, lot=lot, status=LotStatus.QUARANTINED, note="Inspección")
    assert medicines_available(pharmacist, facility=net.centre, medicine_keys=[METFORMIN]) == {
        METFORMIN: 0
    }
    with pytest.raises(InsufficientStock):
        stock_issue_fefo(
            pharmacist, facility=net.centre, issues=[Issue(METFORMIN, 1, "x")], person_id=1
        )
    lot.refresh_from_db()
    with pytest.raises(ValidationFailed):
        stock_transfer(pharmacist, lot=lot, to_facility=net.pharmacy2, quantity=1)
    lot_set_status(pharmacist, lot=lot, status=LotStatus.USABLE)
    assert medicines_available(pharmacist, facility=net.centre, medicine_keys=[METFORMIN]) == {
        METFORMIN: 10
    }
    with pytest.raises(ValidationFailed):  # a recall needs its notice
        lot_set_status(pharmacist, lot=lot, status=LotStatus.RECALLED)
    lot_set_status(pharmacist, lot=lot, status=LotStatus.RECALLED, note="COFEPRIS 12/2026")
    with pytest.raises(Conflict):  # a recall is final
        lot_set_status(pharmacist, lot=lot, status=LotStatus.USABLE)
    assert Lot.objects.get().status == LotStatus.RECALLED
    assert lot.status_changes.count() == 3


def test_lot_status_authorization(net):
    lot = receive(net.actor("pharmacist"), net.centre, METFORMIN, 10)
    for who in ("clinician", "hidalgo_pharmacist", "pharmacist2", None):
        with pytest.raises(Exception) as refused:
            lot_set_status(net.actor(who), lot=lot, status=LotStatus.QUARANTINED)
        assert refused.value.status in (401, 403)
    assert Lot.objects.get().status == LotStatus.USABLE


def test_an_instant_transfer_is_a_received_shipment(net):
    pharmacist = net.actor("pharmacist")
    lot = receive(pharmacist, net.centre, METFORMIN, 10)
    out, inbound = stock_transfer(pharmacist, lot=lot, to_facility=net.pharmacy2, quantity=4)
    line = ShipmentLine.objects.get()
    assert out.reference == inbound.reference == line.reference
    assert (line.shipped, line.received, line.shipment.status) == (4, 4, ShipmentStatus.RECEIVED)
    all_checks_hold()


# --- Requisition → approval → FEFO shipment → receipt ---------------------------------------------


def test_pull_requisition_cycle_with_one_line_short(supply):
    net = supply.net
    stock_warehouse(supply)
    pharmacist, almacen = net.actor("pharmacist"), supply.actor("almacen")
    req = requisition_create(
        pharmacist,
        requester=net.centre,
        lines=[Wanted(METFORMIN, 150, suggested=140), Wanted(ENALAPRIL, 20)],
        note="Pedido mensual",
    )
    assert req.supplier == supply.warehouse and req.status == RequisitionStatus.SUBMITTED
    req = requisition_approve(almacen, requisition=req, approved={METFORMIN: 120})
    assert {li.medicine_id: li.approved for li in req.lines.all()} == {
        METFORMIN: 120,
        ENALAPRIL: 20,
    }
    shipment = requisition_ship(almacen, requisition=req)
    # FEFO: the 100 units expiring in 60 days go first, then 20 of the later lot.
    picked = sorted((li.source_lot.lot_number, li.shipped) for li in shipment.lines.all())
    assert picked == [("E1", 20), ("M-LATE", 20), ("M-SOON", 100)]
    assert in_transit(destination_ids=[net.centre.id]) == {
        (net.centre.id, METFORMIN): 120,
        (net.centre.id, ENALAPRIL): 20,
    }
    all_checks_hold()
    soon = shipment.lines.get(source_lot__lot_number="M-SOON")
    before = stock_state()
    with pytest.raises(ValidationFailed):  # a short line needs a reason
        shipment_receive(pharmacist, shipment=shipment, lines=[Received(soon.id, 90)])
    with pytest.raises(ValidationFailed):  # more than shipped
        shipment_receive(pharmacist, shipment=shipment, lines=[Received(soon.id, 101)])
    assert stock_state() == before
    shipment_receive(pharmacist, shipment=shipment, lines=[Received(soon.id, 90, reason="damaged")])
    assert in_transit(destination_ids=[net.centre.id]) == {}
    req.refresh_from_db()
    assert req.status == RequisitionStatus.RECEIVED
    at_centre = dict(Lot.objects.filter(facility=net.centre).values_list("lot_number", "quantity"))
    assert at_centre == {"M-SOON": 90, "M-LATE": 20, "E1": 20}
    at_warehouse = dict(
        Lot.objects.filter(facility=supply.warehouse).values_list("lot_number", "quantity")
    )
    assert at_warehouse == {"M-SOON": 0, "M-LATE": 280, "E1": 30}
    # Both ledgers: out at the warehouse = shipped, in at the centre = received.
    outs = StockMovement.objects.filter(kind=MovementKind.TRANSFER_OUT, facility=supply.warehouse)
    ins = StockMovement.objects.filter(kind=MovementKind.TRANSFER_IN, facility=net.centre)
    assert sum(m.quantity for m in outs) == -140 and sum(m.quantity for m in ins) == 130
    all_checks_hold()
    with pytest.raises(Conflict):
        shipment_receive(pharmacist, shipment=shipment)


def test_a_shipment_short_of_stock_is_refused_whole(supply):
    stock_warehouse(supply)
    almacen = supply.actor("almacen")
    req = requisition_push(
        almacen,
        supplier=supply.warehouse,
        requester=supply.net.centre,
        lines=[Wanted(METFORMIN, 10), Wanted(ENALAPRIL, 51)],
    )
    before = stock_state()
    with pytest.raises(InsufficientStock):
        requisition_ship(almacen, requisition=req)
    assert stock_state() == before
    req.refresh_from_db()
    assert req.status == RequisitionStatus.APPROVED


def test_requisition_refusals_and_authorization(supply):
    net = supply.net
    stock_warehouse(supply)
    before = stock_state()
    # Only the unit's own keeper asks; only its supplier's keeper approves, pushes and ships.
    for who in ("clinician", "hidalgo_pharmacist", "pharmacist2", None):
        with pytest.raises(Exception) as refused:
            requisition_create(net.actor(who), requester=net.centre, lines=[Wanted(METFORMIN, 1)])
        assert refused.value.status in (401, 403)
    req = requisition_create(
        net.actor("pharmacist"), requester=net.centre, lines=[Wanted(METFORMIN, 10)]
    )
    for who in ("almacen_hgo", "pharmacist", "clinician", None):
        with pytest.raises(Exception) as refused:
            requisition_approve(supply.actor(who), requisition=req)
        assert refused.value.status in (401, 403)
        with pytest.raises(Exception) as refused:
            requisition_push(
                supply.actor(who),
                supplier=supply.warehouse,
                requester=net.centre,
                lines=[Wanted(METFORMIN, 1)],
            )
        assert refused.value.status in (401, 403)
    with pytest.raises(ValidationFailed):  # Hidalgo's warehouse does not supply Oaxaca's units
        requisition_push(
            supply.actor("almacen_hgo"),
            supplier=supply.hidalgo_warehouse,
            requester=net.centre,
            lines=[Wanted(METFORMIN, 1)],
        )
    with pytest.raises(Conflict):  # not approved yet
        requisition_ship(supply.actor("almacen"), requisition=req)
    with pytest.raises(ValidationFailed):
        requisition_reject(supply.actor("almacen"), requisition=req, note=" ")
    assert stock_state() == before
    requisition_reject(supply.actor("almacen"), requisition=req, note="Sin presupuesto")
    req.refresh_from_db()
    assert req.status == RequisitionStatus.REJECTED
    with pytest.raises(Conflict):
        requisition_approve(supply.actor("almacen"), requisition=req)


def test_receipt_authorization(supply):
    stock_warehouse(supply)
    almacen = supply.actor("almacen")
    req = requisition_push(
        almacen,
        supplier=supply.warehouse,
        requester=supply.net.centre,
        lines=[Wanted(METFORMIN, 10)],
    )
    shipment = requisition_ship(almacen, requisition=req)
    before = stock_state()
    for who in ("almacen", "pharmacist2", "hidalgo_pharmacist", "clinician", None):
        with pytest.raises(Exception) as refused:
            shipment_receive(supply.actor(who), shipment=shipment)
        assert refused.value.status in (401, 403)
    assert stock_state() == before
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.IN_TRANSIT


def test_a_state_network_is_seeded_once_from_the_facilities_holding_stock(net, geo):
    from bienestar.facilities.tests.factories import FacilityFactory
    from bienestar.inventory.network import network_seed_state, supplier_of

    warehouse = FacilityFactory(
        territory=geo["oaxaca_centro"], name="Almacén", facility_type="warehouse"
    )
    receive(net.actor("pharmacist"), net.centre, METFORMIN, 5)
    receive(net.actor("hidalgo_pharmacist"), net.hidalgo_centre, METFORMIN, 5)
    assert network_seed_state(warehouse=warehouse, state_path=geo["oaxaca"].path) == 2
    assert network_seed_state(warehouse=warehouse, state_path=geo["oaxaca"].path) == 0
    assert supplier_of(net.centre) == warehouse
    assert supplier_of(net.hidalgo_centre) is None
