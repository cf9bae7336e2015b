"""Many pharmacists dispensing from the same stock at the same instant, each on its own PostgreSQL
connection, with more demand than stock.

What must hold: the balance ends at exactly zero and never went below it (every ledger row's
`balance_after` is ≥ 0), the ledger sums to the balance, the units handed over equal the units that
were on the shelf, and every refused dispense got InsufficientStock with its clear message and wrote
nothing.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field

import pytest
from django.db import connection, connections
from django.utils import timezone

from bienestar.access.actor import Actor
from bienestar.inventory import checks as inventory_checks
from bienestar.inventory.errors import InsufficientStock
from bienestar.inventory.models import Lot, StockMovement
from bienestar.inventory.tests.factories import METFORMIN, receive
from bienestar.prescribing import checks as prescribing_checks
from bienestar.prescribing.models import Dispense, Prescription, PrescriptionStatus
from bienestar.prescribing.services import dispense_record
from bienestar.prescribing.tests.factories import fill, line, prescribe

TODAY = timezone.localdate()
THREADS = 12
PER_THREAD = 3
UNITS_EACH = 5


@dataclass
class Outcome:
    dispensed: list[int] = field(default_factory=list)
    refused: list[InsufficientStock] = field(default_factory=list)
    unexpected: list[BaseException] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _dispenser(
    actor: Actor,
    pharmacy_id: int,
    prescription_ids: list[int],
    barrier: threading.Barrier,
    outcome: Outcome,
) -> None:
    try:
        from bienestar.facilities.models import Facility

        pharmacy = Facility.objects.get(pk=pharmacy_id)
        prescriptions = [Prescription.objects.get(pk=pk) for pk in prescription_ids]
        barrier.wait(timeout=60)
        for p in prescriptions:
            try:
                dispense_record(actor, prescription=p, pharmacy=pharmacy, lines=fill(p, UNITS_EACH))
            except InsufficientStock as exc:
                with outcome.lock:
                    outcome.refused.append(exc)
            else:
                with outcome.lock:
                    outcome.dispensed.append(UNITS_EACH)
    except BaseException as exc:  # a deadlock or any other error fails the test below
        with outcome.lock:
            outcome.unexpected.append(exc)
    finally:
        connection.close()


def _monitor(lot_ids: list[int], stop: threading.Event, seen: list[int]) -> None:
    """Samples the balances while the dispensers run (it must never see one below zero)."""
    try:
        while not stop.is_set():
            seen.append(min(Lot.objects.filter(id__in=lot_ids).values_list("quantity", flat=True)))
    finally:
        connection.close()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("lot_sizes", "expiry_days"),
    [((100,), (365,)), ((63, 37), (365, 365)), ((37, 63), (365, 40))],
    # The last: the lot that expires first has the higher id, so first-expiring-first-out and the
    # id order of the locks disagree.
    ids=["one-lot", "two-lots-fefo", "two-lots-fefo-against-id-order"],
)
def test_parallel_dispensers_never_oversell(net, jose, lot_sizes, expiry_days):
    pharmacist = net.actor("pharmacist")
    lots = [
        receive(
            pharmacist,
            net.centre,
            METFORMIN,
            size,
            lot_number=f"LOT{i}",
            expiry=TODAY + dt.timedelta(days=days),
        )
        for i, (size, days) in enumerate(zip(lot_sizes, expiry_days, strict=True))
    ]
    stock = sum(lot_sizes)
    prescriptions = [
        prescribe(net, jose, line(METFORMIN, UNITS_EACH)) for _ in range(THREADS * PER_THREAD)
    ]
    assert stock < THREADS * PER_THREAD * UNITS_EACH  # more demand than stock

    outcome = Outcome()
    barrier = threading.Barrier(THREADS)
    stop = threading.Event()
    seen: list[int] = []
    monitor = threading.Thread(target=_monitor, args=([lot.id for lot in lots], stop, seen))
    monitor.start()
    workers = [
        threading.Thread(
            target=_dispenser,
            args=(
                pharmacist,
                net.centre.id,
                [p.id for p in prescriptions[i * PER_THREAD : (i + 1) * PER_THREAD]],
                barrier,
                outcome,
            ),
        )
        for i in range(THREADS)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    stop.set()
    monitor.join(timeout=30)
    connections.close_all()

    assert outcome.unexpected == []
    assert sum(outcome.dispensed) == stock
    assert len(outcome.dispensed) + len(outcome.refused) == THREADS * PER_THREAD
    assert len(outcome.refused) == THREADS * PER_THREAD - stock // UNITS_EACH
    for exc in outcome.refused:
        assert str(exc).startswith(
            "Existencia insuficiente de 010.000.5165.00: se solicitaron 5 unidades y hay"
        )
        assert exc.available < UNITS_EACH
        assert exc.as_dict()["error"] == "insufficient_stock"

    assert [lot.quantity for lot in Lot.objects.filter(pk__in=[lot.id for lot in lots])] == [
        0
    ] * len(lots)
    assert seen and min(seen) >= 0
    assert not StockMovement.objects.filter(balance_after__lt=0).exists()
    assert (
        -sum(StockMovement.objects.filter(kind="dispense").values_list("quantity", flat=True))
        == stock
    )
    for _name, check in [*inventory_checks.checks(), *prescribing_checks.checks()]:
        assert check() == []

    # Refused dispenses wrote nothing: their prescriptions are untouched.
    completed = Prescription.objects.filter(status=PrescriptionStatus.COMPLETED).count()
    assert completed == Dispense.objects.count() == stock // UNITS_EACH
    assert Prescription.objects.filter(status=PrescriptionStatus.ACTIVE).count() == len(
        outcome.refused
    )
