"""Property tests of the stock ledger on the real database: random sequences of receipts, FEFO
dispenses, shipments (dispatch, receipt with differences), physical counts, adjustments, reversals
and backdated entries, one writer and then many at once.

After every sequence: no balance is negative at any date, every balance equals its ledger, every
`balance_after` is its running sum, every reversal cancels its original, shipments balance (out =
shipped, in = received, differences explained), units in transit are what was shipped and not yet
received, the daily snapshots match the ledger, and nothing was created or lost:
on hand + in transit + declared differences = Σ non-transfer movements. Every refused operation
left the books unchanged.
"""

from __future__ import annotations

import datetime as dt
import random
import threading

import pytest
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bienestar.core.errors import DomainError
from bienestar.inventory import checks
from bienestar.inventory.corrections import stock_reverse
from bienestar.inventory.models import Lot, MovementKind, StockMovement
from bienestar.inventory.services import (
    CountLine,
    Issue,
    ReceiptLine,
    stock_adjust,
    stock_count,
    stock_issue_fefo,
    stock_receive,
)
from bienestar.inventory.shipments import (
    Received,
    Wanted,
    in_transit,
    shipment_dispatch,
    shipment_receive,
)
from bienestar.inventory.snapshots import snapshot_build
from bienestar.inventory.supply_models import ShipmentLine, ShipmentStatus
from bienestar.inventory.tests.factories import METFORMIN

TODAY = timezone.localdate()
LOTS = ("A", "B")
EXPIRY = {"A": TODAY + dt.timedelta(days=90), "B": TODAY + dt.timedelta(days=400)}

days_back = st.integers(min_value=0, max_value=8)
facility = st.sampled_from(["warehouse", "centre"])
operation = st.one_of(
    st.tuples(st.just("receive"), facility, st.sampled_from(LOTS), st.integers(1, 40), days_back),
    st.tuples(st.just("dispense"), facility, st.integers(1, 30), days_back),
    st.tuples(st.just("ship"), st.integers(1, 40), days_back),
    st.tuples(
        st.just("arrive"),
        st.integers(0, 3),
        st.integers(0, 40),
        st.sampled_from(["", "damaged", "short", "expired"]),
    ),
    st.tuples(st.just("count"), facility, st.sampled_from(LOTS), st.integers(0, 50), days_back),
    st.tuples(
        st.just("adjust"),
        facility,
        st.sampled_from(LOTS),
        st.integers(-15, 15).filter(bool),
        days_back,
    ),
    st.tuples(st.just("reverse"), st.integers(0, 40)),
)


def when(days: int, step: int) -> dt.datetime | None:
    """`days` back (0: now), at a time that moves with the step so that rows interleave."""
    if days == 0:
        return None
    base = timezone.make_aware(dt.datetime.combine(TODAY - dt.timedelta(days=days), dt.time(8)))
    return base + dt.timedelta(minutes=37 * step)


def books() -> tuple[list[tuple[int, int]], int]:
    return sorted(Lot.objects.values_list("id", "quantity")), StockMovement.objects.count()


def apply(supply, op: tuple, step: int, *, alone: bool = True) -> None:
    """Run one operation; a refusal must leave the books as they were (checked when `alone`: with
    other writers at work the books move anyway)."""
    places = {"warehouse": supply.warehouse, "centre": supply.net.centre}
    keeper = {"warehouse": supply.actor("almacen"), "centre": supply.net.actor("pharmacist")}
    kind = op[0]
    before = books()
    try:
        if kind == "receive":
            _, where, lot, units, days = op
            stock_receive(
                keeper[where],
                facility=places[where],
                lines=[ReceiptLine(METFORMIN, lot, EXPIRY[lot], units)],
                at=when(days, step),
            )
        elif kind == "dispense":
            _, where, units, days = op
            stock_issue_fefo(
                keeper[where],
                facility=places[where],
                issues=[Issue(METFORMIN, units, f"rx:{step}")],
                person_id=step + 1,
                at=when(days, step),
            )
        elif kind == "ship":
            _, units, days = op
            shipment_dispatch(
                keeper["warehouse"],
                origin=supply.warehouse,
                destination=supply.net.centre,
                lines=[Wanted(METFORMIN, units)],
                at=when(days, step),
            )
        elif kind == "arrive":
            _, pick, received, reason = op
            open_lines = list(
                ShipmentLine.objects.filter(shipment__status=ShipmentStatus.IN_TRANSIT)
                .select_related("shipment")
                .order_by("id")
            )
            if not open_lines:
                return
            line = open_lines[pick % len(open_lines)]
            shipment_receive(
                keeper["centre"],
                shipment=line.shipment,
                lines=[Received(line.id, received, reason)],
            )
        elif kind == "count":
            _, where, lot_number, counted, days = op
            lot = Lot.objects.filter(facility=places[where], lot_number=lot_number).first()
            if lot is None:
                return
            stock_count(
                keeper[where],
                facility=places[where],
                lines=[CountLine(lot, counted)],
                at=when(days, step),
            )
        elif kind == "adjust":
            _, where, lot_number, units, days = op
            lot = Lot.objects.filter(facility=places[where], lot_number=lot_number).first()
            if lot is None:
                return
            stock_adjust(
                keeper[where], lot=lot, quantity=units, reason="damaged", at=when(days, step)
            )
        elif kind == "reverse":
            _, pick = op
            rows = list(
                StockMovement.objects.filter(
                    kind__in=[MovementKind.RECEIPT, MovementKind.ADJUSTMENT, MovementKind.COUNT]
                )
                .select_related("lot__facility")
                .order_by("id")
            )
            if not rows:
                return
            row = rows[pick % len(rows)]
            who = "warehouse" if row.facility_id == supply.warehouse.id else "centre"
            stock_reverse(keeper[who], movement=row, reason="captura errónea")
    except DomainError:
        if alone:
            assert books() == before, f"refused {op} changed the books"


def assert_books_consistent(supply) -> None:
    for name, check in checks.checks():
        assert check() == [], name
    # In transit: what was shipped on lines of shipments not received, nothing else.
    open_units = (
        ShipmentLine.objects.filter(shipment__status=ShipmentStatus.IN_TRANSIT).aggregate(
            n=Sum("shipped")
        )["n"]
        or 0
    )
    assert sum(in_transit(destination_ids=[supply.net.centre.id]).values()) == open_units
    shipped_out = -(
        StockMovement.objects.filter(
            kind=MovementKind.TRANSFER_OUT,
            reference__in=[
                line.reference
                for line in ShipmentLine.objects.filter(shipment__status=ShipmentStatus.IN_TRANSIT)
            ],
        ).aggregate(n=Sum("quantity"))["n"]
        or 0
    )
    assert shipped_out == open_units
    # Conservation: nothing appears or disappears between the two halves of a transfer.
    on_hand = Lot.objects.aggregate(n=Sum("quantity"))["n"] or 0
    differences = sum(
        line.difference
        for line in ShipmentLine.objects.filter(shipment__status=ShipmentStatus.RECEIVED)
    )
    outside = (
        StockMovement.objects.exclude(
            kind__in=[MovementKind.TRANSFER_IN, MovementKind.TRANSFER_OUT]
        ).aggregate(n=Sum("quantity"))["n"]
        or 0
    )
    assert on_hand + open_units + differences == outside
    assert not Lot.objects.filter(quantity__lt=0).exists()


class _Rollback(Exception):
    pass


def _seed(supply) -> None:
    for where, actor in (
        (supply.warehouse, supply.actor("almacen")),
        (supply.net.centre, supply.net.actor("pharmacist")),
    ):
        stock_receive(
            actor,
            facility=where,
            lines=[ReceiptLine(METFORMIN, lot, EXPIRY[lot], 30) for lot in LOTS],
            at=when(10, 0),
        )
    # Snapshots of the finished days, so that backdated entries must keep them fresh.
    snapshot_build(start=TODAY - dt.timedelta(days=10), end=TODAY - dt.timedelta(days=1))


@pytest.mark.django_db
@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(operation, min_size=1, max_size=25))
def test_random_sequences_keep_the_books_right(supply, ops):
    try:
        with transaction.atomic():
            _seed(supply)
            for step, op in enumerate(ops, start=1):
                apply(supply, op, step)
            assert_books_consistent(supply)
            raise _Rollback
    except _Rollback:
        pass


WRITERS = 6
OPS_EACH = 25


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_the_books_right(supply):
    """Six connections run random operations (backdated ones included) on the same lots at once."""
    _seed(supply)
    barrier = threading.Barrier(WRITERS)
    unexpected: list[BaseException] = []

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        try:
            barrier.wait(timeout=60)
            for step in range(OPS_EACH):
                apply(supply, _random_op(rng), seed * 100 + step, alone=False)
        except BaseException as exc:
            unexpected.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(seed,)) for seed in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not unexpected, unexpected
    assert StockMovement.objects.count() > 4 * 2
    assert_books_consistent(supply)


def _random_op(rng: random.Random) -> tuple:
    where = rng.choice(["warehouse", "centre"])
    lot = rng.choice(LOTS)
    days = rng.choice([0, 0, 0, 1, 2, 5])
    kind = rng.choice(
        ["receive", "dispense", "dispense", "ship", "arrive", "count", "adjust", "reverse"]
    )
    if kind == "receive":
        return (kind, where, lot, rng.randint(1, 20), days)
    if kind == "dispense":
        return (kind, where, rng.randint(1, 15), days)
    if kind == "ship":
        return (kind, rng.randint(1, 20), days)
    if kind == "arrive":
        return (kind, rng.randint(0, 3), rng.randint(0, 20), rng.choice(["", "short"]))
    if kind == "count":
        return (kind, where, lot, rng.randint(0, 40), days)
    if kind == "adjust":
        return (kind, where, lot, rng.choice([-5, -2, 3, 7]), days)
    return (kind, rng.randint(0, 40))
