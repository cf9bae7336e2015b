"""Stock reads: totals by key, low stock, soon-to-expire lots, the ledger, availability, scope."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from bienestar.access.errors import Forbidden, NotAuthenticated
from bienestar.core.errors import ValidationFailed
from bienestar.inventory import selectors
from bienestar.inventory.services import stock_adjust
from bienestar.inventory.tests.factories import ENALAPRIL, METFORMIN, PARACETAMOL, receive

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


@pytest.fixture
def stocked(net):
    actor = net.actor("pharmacist")
    long_ago = timezone.now() - dt.timedelta(days=100)
    lots = {
        "m_expired": receive(
            actor,
            net.centre,
            METFORMIN,
            7,
            lot_number="M0",
            expiry=TODAY - dt.timedelta(days=3),
            at=long_ago,
        ),
        "m_soon": receive(
            actor, net.centre, METFORMIN, 40, lot_number="M1", expiry=TODAY + dt.timedelta(days=30)
        ),
        "m_late": receive(
            actor,
            net.centre,
            METFORMIN,
            100,
            lot_number="M2",
            expiry=TODAY + dt.timedelta(days=400),
        ),
        "e": receive(
            actor, net.centre, ENALAPRIL, 12, lot_number="E1", expiry=TODAY + dt.timedelta(days=200)
        ),
        "p": receive(actor, net.centre, PARACETAMOL, 5, lot_number="P1"),
    }
    stock_adjust(actor, lot=lots["p"], quantity=-5, reason="damaged")  # a key now at zero
    receive(net.actor("pharmacist2"), net.pharmacy2, METFORMIN, 999, lot_number="X")
    return lots


def test_stock_by_medicine(net, stocked, django_assert_num_queries):
    with django_assert_num_queries(2):
        rows = selectors.stock_by_medicine(
            net.actor("pharmacist"),
            facility=net.centre,
            low_stock_threshold=20,
            expiring_within_days=60,
        )
    by_key = {r.medicine.key: r for r in rows}
    assert [r.medicine.generic_name for r in rows] == ["Enalapril", "Metformina", "Paracetamol"]
    m = by_key[METFORMIN]
    assert (m.usable, m.expired, m.total, m.expiring_soon, m.lots, m.low) == (
        140,
        7,
        147,
        40,
        3,
        False,
    )
    assert m.next_expiry == TODAY + dt.timedelta(days=30)
    e = by_key[ENALAPRIL]
    assert (e.usable, e.expiring_soon, e.low) == (12, 0, True)
    p = by_key[PARACETAMOL]
    assert (p.usable, p.lots, p.next_expiry, p.low) == (0, 0, None, True)
    low = selectors.stock_by_medicine(
        net.actor("pharmacist"), facility=net.centre, low_stock_threshold=20, only_low=True
    )
    assert [r.medicine.key for r in low] == [ENALAPRIL, PARACETAMOL]


def test_lots_expiring_includes_expired_waiting_for_write_off(net, stocked):
    lots = selectors.lots_expiring(net.actor("pharmacist"), facility=net.centre, within_days=60)
    assert [lot.lot_number for lot in lots] == ["M0", "M1"]


def test_ledger_is_newest_first_and_filterable(net, stocked):
    actor = net.actor("pharmacist")
    qs = selectors.stock_ledger(actor, facility=net.centre)
    assert qs.count() == 6
    assert [m.kind for m in qs[:2]] == ["adjustment", "receipt"]
    lot_rows = selectors.stock_ledger(actor, facility=net.centre, lot=stocked["p"])
    assert [(m.quantity, m.balance_after) for m in lot_rows] == [(-5, 0), (5, 5)]
    assert selectors.stock_ledger(actor, facility=net.centre, medicine_key=METFORMIN).count() == 3
    assert selectors.stock_ledger(actor, facility=net.centre, kinds=["adjustment"]).count() == 1


def test_availability_ignores_expired_lots(net, stocked, django_assert_num_queries):
    actor = net.actor("clinician")  # the prescribe form asks as the clinician
    with django_assert_num_queries(1):
        units = selectors.medicines_available(
            actor, facility=net.centre, medicine_keys=[METFORMIN, ENALAPRIL, PARACETAMOL, "nope"]
        )
    assert units == {METFORMIN: 140, ENALAPRIL: 12, PARACETAMOL: 0, "nope": 0}
    assert selectors.medicine_in_stock(actor, facility=net.centre, medicine_key=METFORMIN)
    assert not selectors.medicine_in_stock(actor, facility=net.centre, medicine_key=PARACETAMOL)


@pytest.mark.parametrize(
    ("who", "error"),
    [
        (None, NotAuthenticated),
        ("outreach_manager", Forbidden),  # no STOCK_READ
        ("hidalgo_pharmacist", Forbidden),  # another state's facility
    ],
)
def test_stock_reads_are_scoped(net, stocked, who, error):
    with pytest.raises(error):
        selectors.stock_by_medicine(net.actor(who), facility=net.centre)
    with pytest.raises(error):
        selectors.stock_ledger(net.actor(who), facility=net.centre)


def test_state_and_national_coordinators_read_stock(net, stocked):
    for who in ("state_coordinator", "national_coordinator"):
        assert selectors.stock_by_medicine(net.actor(who), facility=net.centre)


def test_lots_by_public_id_refuses_another_facilitys_lot(net, stocked):
    other = selectors.lots_at(net.actor("pharmacist2"), facility=net.pharmacy2)[0]
    with pytest.raises(ValidationFailed, match="Lote desconocido"):
        selectors.lots_by_public_id(
            net.actor("pharmacist"), facility=net.centre, public_ids=[other.public_id]
        )
