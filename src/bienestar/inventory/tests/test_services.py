"""Stock services against the real PostgreSQL: what they write, what they refuse (writing nothing),
who may call them, and that the ledger cannot be rewritten."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from bienestar.access.errors import Forbidden, NotAuthenticated
from bienestar.core.errors import ValidationFailed
from bienestar.inventory.errors import InsufficientStock
from bienestar.inventory.models import Lot, MovementKind, StockMovement
from bienestar.inventory.services import (
    CountLine,
    Issue,
    ReceiptLine,
    _append,
    _Ctx,
    _save,
    stock_adjust,
    stock_count,
    stock_issue_fefo,
    stock_receive,
    stock_transfer,
    stock_write_off_expired,
)
from bienestar.inventory.tests.factories import (
    ENALAPRIL,
    METFORMIN,
    PARACETAMOL,
    receive,
    stock_state,
)

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
NEXT_YEAR = TODAY + dt.timedelta(days=365)


def ledger_sum(lot: Lot) -> int:
    return sum(StockMovement.objects.filter(lot=lot).values_list("quantity", flat=True))


# --- receipt ------------------------------------------------------------------------------------


def test_receive_a_delivery_with_several_lots(net):
    actor = net.actor("pharmacist")
    movements = stock_receive(
        actor,
        facility=net.centre,
        reference="REM-2026-001",
        lines=[
            ReceiptLine(METFORMIN, "A1", NEXT_YEAR, 300),
            ReceiptLine(METFORMIN, "A2", TODAY + dt.timedelta(days=30), 100),
            ReceiptLine(ENALAPRIL, "E1", NEXT_YEAR, 60),
            ReceiptLine(METFORMIN, "A1", NEXT_YEAR, 20),  # the same lot twice adds up
        ],
    )
    assert [m.balance_after for m in movements] == [300, 100, 60, 320]
    assert {m.kind for m in movements} == {MovementKind.RECEIPT}
    assert len({m.operation for m in movements}) == 1
    assert all(
        m.reference == "REM-2026-001" and m.actor_username == "pharmacist" for m in movements
    )
    a1 = Lot.objects.get(facility=net.centre, lot_number="A1")
    assert a1.quantity == 320 == ledger_sum(a1)
    assert Lot.objects.filter(facility=net.centre).count() == 3


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (ReceiptLine("999.999.9999.99", "X", NEXT_YEAR, 10), "Clave desconocida"),
        (ReceiptLine(METFORMIN, "X", TODAY - dt.timedelta(days=1), 10), "caducado"),
        (ReceiptLine(METFORMIN, "X", NEXT_YEAR, 0), "cero"),
        (ReceiptLine(METFORMIN, "X", NEXT_YEAR, -5), "negativa"),
        (ReceiptLine(METFORMIN, "X", NEXT_YEAR, 2.5), "entero"),  # type: ignore[arg-type]
        (ReceiptLine(METFORMIN, "X", NEXT_YEAR, True), "entero"),  # type: ignore[arg-type]
        (ReceiptLine(METFORMIN, " ", NEXT_YEAR, 10), "lote"),
    ],
)
def test_receive_refuses_bad_lines_whole(net, line, message):
    good = ReceiptLine(ENALAPRIL, "E1", NEXT_YEAR, 10)
    before = stock_state()
    with pytest.raises(ValidationFailed, match=message):
        stock_receive(net.actor("pharmacist"), facility=net.centre, lines=[good, line])
    assert stock_state() == before


def test_receive_refuses_a_known_lot_with_another_expiry(net):
    receive(net.actor("pharmacist"), net.centre, METFORMIN, 10, lot_number="A1")
    before = stock_state()
    with pytest.raises(ValidationFailed, match="ya existe con caducidad"):
        stock_receive(
            net.actor("pharmacist"),
            facility=net.centre,
            lines=[ReceiptLine(METFORMIN, "A1", NEXT_YEAR + dt.timedelta(days=1), 5)],
        )
    with pytest.raises(ValidationFailed, match="no tiene renglones"):
        stock_receive(net.actor("pharmacist"), facility=net.centre, lines=[])
    assert stock_state() == before


@pytest.mark.parametrize(
    ("who", "error"),
    [
        (None, NotAuthenticated),
        ("clinician", Forbidden),  # STOCK_READ only
        ("national_coordinator", Forbidden),
        ("pharmacist2", Forbidden),  # another facility's pharmacist
        ("hidalgo_pharmacist", Forbidden),
    ],
)
def test_receive_authorization(net, who, error):
    before = stock_state()
    with pytest.raises(error):
        receive(net.actor(who), net.centre, METFORMIN, 10)
    assert stock_state() == before


def test_warehouse_manager_and_integrator_may_receive(net):
    receive(net.actor("warehouse_manager"), net.centre, METFORMIN, 10)
    # An integrator has no facility: it writes anywhere inside its territory (Oaxaca).
    receive(net.actor("integrator"), net.pharmacy2, METFORMIN, 5)
    with pytest.raises(Forbidden):
        receive(net.actor("integrator"), net.hidalgo_centre, METFORMIN, 5)


# --- adjustment ---------------------------------------------------------------------------------


def test_adjust_needs_a_reason_and_cannot_go_below_zero(net):
    actor = net.actor("pharmacist")
    lot = receive(actor, net.centre, METFORMIN, 10)
    before = stock_state()
    with pytest.raises(ValidationFailed, match="motivo"):
        stock_adjust(actor, lot=lot, quantity=-2, reason="")
    with pytest.raises(ValidationFailed, match="Describa"):
        stock_adjust(actor, lot=lot, quantity=-2, reason="other", note="  ")
    with pytest.raises(ValidationFailed, match="cero"):
        stock_adjust(actor, lot=lot, quantity=0, reason="damaged")
    with pytest.raises(InsufficientStock, match="Existencia insuficiente") as exc:
        stock_adjust(actor, lot=lot, quantity=-11, reason="lost")
    assert (exc.value.requested, exc.value.available) == (11, 10)
    assert stock_state() == before

    m = stock_adjust(actor, lot=lot, quantity=-3, reason="damaged", note="frasco roto")
    assert (m.kind, m.quantity, m.balance_after, m.reason) == ("adjustment", -3, 7, "damaged")
    m = stock_adjust(actor, lot=lot, quantity=2, reason="found")
    lot.refresh_from_db()
    assert lot.quantity == 9 == ledger_sum(lot) == m.balance_after


# --- transfer -----------------------------------------------------------------------------------


def test_transfer_moves_units_atomically(net):
    actor = net.actor("pharmacist")
    lot = receive(actor, net.centre, METFORMIN, 50, lot_number="T1")
    out, inbound = stock_transfer(actor, lot=lot, to_facility=net.pharmacy2, quantity=20)
    target = Lot.objects.get(facility=net.pharmacy2, lot_number="T1")
    lot.refresh_from_db()
    assert (lot.quantity, target.quantity) == (30, 20)
    assert (out.kind, out.quantity, inbound.kind, inbound.quantity) == (
        "transfer_out",
        -20,
        "transfer_in",
        20,
    )
    assert out.operation == inbound.operation and out.reference == inbound.reference
    assert target.expiry == lot.expiry
    assert ledger_sum(lot) == 30 and ledger_sum(target) == 20


def test_transfer_refusals_write_nothing(net):
    actor = net.actor("pharmacist")
    lot = receive(actor, net.centre, METFORMIN, 5, lot_number="T1")
    before = stock_state()
    with pytest.raises(InsufficientStock):
        stock_transfer(actor, lot=lot, to_facility=net.pharmacy2, quantity=6)
    with pytest.raises(ValidationFailed, match="mismo establecimiento"):
        stock_transfer(actor, lot=lot, to_facility=net.centre, quantity=1)
    with pytest.raises(Forbidden):
        stock_transfer(net.actor("pharmacist2"), lot=lot, to_facility=net.pharmacy2, quantity=1)
    # Not even the destination lot: it was created inside the transaction that rolled back.
    assert stock_state() == before
    assert not Lot.objects.filter(facility=net.pharmacy2).exists()


# --- expiry write-off ---------------------------------------------------------------------------


def test_write_off_expired_lots_is_idempotent(net):
    actor = net.actor("pharmacist")
    long_ago = timezone.now() - dt.timedelta(days=90)
    expired = receive(
        actor,
        net.centre,
        METFORMIN,
        40,
        lot_number="OLD",
        expiry=TODAY - dt.timedelta(days=1),
        at=long_ago,
    )
    fresh = receive(actor, net.centre, METFORMIN, 10, lot_number="NEW")
    movements = stock_write_off_expired(actor, facility=net.centre)
    assert [(m.lot_id, m.kind, m.quantity, m.balance_after) for m in movements] == [
        (expired.id, "expiry_write_off", -40, 0)
    ]
    assert stock_write_off_expired(actor, facility=net.centre) == []
    fresh.refresh_from_db()
    assert fresh.quantity == 10


# --- physical count -----------------------------------------------------------------------------


def test_count_reconciles_differences_only(net):
    actor = net.actor("pharmacist")
    a = receive(actor, net.centre, METFORMIN, 30, lot_number="A")
    b = receive(actor, net.centre, ENALAPRIL, 20, lot_number="B")
    c = receive(actor, net.centre, PARACETAMOL, 10, lot_number="C")
    movements = stock_count(
        actor,
        facility=net.centre,
        lines=[CountLine(a, 28), CountLine(b, 20), CountLine(c, 12)],
        note="inventario mensual",
    )
    assert sorted((m.lot_id, m.quantity, m.balance_after) for m in movements) == sorted(
        [(a.id, -2, 28), (c.id, 2, 12)]
    )
    assert all(m.kind == "count" for m in movements)
    for lot in (a, b, c):
        lot.refresh_from_db()
        assert lot.quantity == ledger_sum(lot)


def test_count_refusals_write_nothing(net):
    actor = net.actor("pharmacist")
    a = receive(actor, net.centre, METFORMIN, 30, lot_number="A")
    elsewhere = receive(net.actor("pharmacist2"), net.pharmacy2, METFORMIN, 30, lot_number="Z")
    before = stock_state()
    with pytest.raises(ValidationFailed, match="no pertenece"):
        stock_count(actor, facility=net.centre, lines=[CountLine(elsewhere, 1)])
    with pytest.raises(ValidationFailed, match="dos veces"):
        stock_count(actor, facility=net.centre, lines=[CountLine(a, 1), CountLine(a, 2)])
    with pytest.raises(ValidationFailed, match="negativa"):
        stock_count(actor, facility=net.centre, lines=[CountLine(a, -1)])
    assert stock_state() == before


# --- first-expiring-first-out -------------------------------------------------------------------


def test_issue_takes_first_expiring_non_expired_lots_first(net):
    actor = net.actor("pharmacist")
    old = timezone.now() - dt.timedelta(days=200)
    expired = receive(
        actor,
        net.centre,
        METFORMIN,
        100,
        lot_number="EXP",
        expiry=TODAY - dt.timedelta(days=1),
        at=old,
    )
    late = receive(actor, net.centre, METFORMIN, 50, lot_number="LATE", expiry=NEXT_YEAR)
    soon = receive(
        actor, net.centre, METFORMIN, 10, lot_number="SOON", expiry=TODAY + dt.timedelta(days=20)
    )
    today_lot = receive(actor, net.centre, METFORMIN, 5, lot_number="TODAY", expiry=TODAY)
    with transaction.atomic():
        out = stock_issue_fefo(
            actor,
            facility=net.centre,
            issues=[Issue(METFORMIN, 25, "dispense-line:test")],
            person_id=1,
        )
    taken = [(m.lot_id, -m.quantity) for m in out["dispense-line:test"]]
    # Expires today is still usable (expiry is inclusive); the expired lot is never touched.
    assert taken == [(today_lot.id, 5), (soon.id, 10), (late.id, 10)]
    expired.refresh_from_db()
    assert expired.quantity == 100
    with pytest.raises(InsufficientStock) as exc:
        stock_issue_fefo(
            actor, facility=net.centre, issues=[Issue(METFORMIN, 41, "x")], person_id=1
        )
    assert (exc.value.requested, exc.value.available) == (41, 40)
    assert "Existencia insuficiente de 010.000.5165.00" in str(exc.value)


def test_a_balance_changed_behind_the_services_back_fails_loudly_and_writes_nothing(net):
    """Balances are written conditionally on the one read under the lock: a caller that forgot to
    lock (here: a lot read without one, then changed by someone else) gets an error, not a lost
    update."""
    actor = net.actor("pharmacist")
    lot = receive(actor, net.centre, METFORMIN, 10)
    stale = Lot.objects.get(pk=lot.pk)
    Lot.objects.filter(pk=lot.pk).update(quantity=12)
    before = stock_state()
    ctx = _Ctx(actor=actor, at=timezone.now(), operation=uuid.uuid4())
    with (
        pytest.raises(RuntimeError, match=f"lot {lot.pk} changed while it should have been locked"),
        transaction.atomic(),
    ):
        _save([_append(ctx, stale, kind=MovementKind.ADJUSTMENT, quantity=-3, reason="damaged")])
    assert stock_state() == before


# --- the ledger is append-only ------------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE inventory_stockmovement SET quantity = quantity + 1",
        "DELETE FROM inventory_stockmovement",
        "TRUNCATE inventory_stockmovement",
    ],
)
def test_ledger_refuses_update_delete_and_truncate(net, sql):
    receive(net.actor("pharmacist"), net.centre, METFORMIN, 10)
    with connection.cursor() as cursor:
        if sql.startswith("TRUNCATE"):
            # Fire the deferred foreign-key checks now: TRUNCATE refuses to run with them pending.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET LOCAL bienestar.allow_audit_truncate = 'off'")
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            cursor.execute(sql)
    assert StockMovement.objects.count() == 1


def test_balance_cannot_go_negative_even_around_the_services(net):
    lot = receive(net.actor("pharmacist"), net.centre, METFORMIN, 10)
    with pytest.raises(DatabaseError, match="lot_quantity_not_negative"), transaction.atomic():
        Lot.objects.filter(pk=lot.pk).update(quantity=-1)
