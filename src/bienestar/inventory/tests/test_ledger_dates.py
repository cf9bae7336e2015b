"""Balances by date, backdated entries, reversals, counts while dispensing goes on, daily snapshots
and stock-out days, including the bugs other stock systems shipped."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from bienestar.core.errors import Conflict, ValidationFailed
from bienestar.inventory import checks
from bienestar.inventory.corrections import stock_reverse
from bienestar.inventory.dating import NegativeAtDate, balance_at
from bienestar.inventory.errors import InsufficientStock
from bienestar.inventory.models import Lot, MovementKind, StockMovement
from bienestar.inventory.services import (
    CountLine,
    Issue,
    stock_adjust,
    stock_count,
    stock_issue_fefo,
)
from bienestar.inventory.snapshots import daily_stock, snapshot_build, stockout_days
from bienestar.inventory.supply_models import StockSnapshot
from bienestar.inventory.tests.factories import METFORMIN, PARACETAMOL, receive, stock_state

pytestmark = pytest.mark.django_db

NOW = timezone.now()
TODAY = timezone.localdate()


def days_ago(n: int, hour: int = 10) -> dt.datetime:
    day = TODAY - dt.timedelta(days=n)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def dispense(net, units: int, at: dt.datetime | None = None, key: str = METFORMIN):
    return stock_issue_fefo(
        net.actor("pharmacist"),
        facility=net.centre,
        issues=[Issue(key, units, f"test:{units}")],
        person_id=1,
        at=at,
    )


def all_checks_hold() -> None:
    for name, check in checks.checks():
        assert check() == [], name


def test_a_backdated_dispense_that_fits_on_its_date_is_recorded(net):
    receive(net.actor("pharmacist"), net.centre, METFORMIN, 10, at=days_ago(5))
    dispense(net, 4, at=days_ago(3))
    dispense(net, 6, at=days_ago(1))  # backdated, the lot's last row: fits
    lot = Lot.objects.get()
    assert lot.quantity == 0
    assert balance_at(lot.id, days_ago(2)) == 6
    all_checks_hold()


def test_a_backdated_entry_rechecks_every_later_balance(net):
    """10 received five days ago, 8 dispensed three days ago, 5 received yesterday: 7 today. Taking
    3 out four days ago fits today (4 left) and on its own date (7 left), but three days ago the
    dispense would leave -1: refused, nothing written."""
    pharmacist = net.actor("pharmacist")
    receive(pharmacist, net.centre, METFORMIN, 10, at=days_ago(5))
    dispense(net, 8, at=days_ago(3))
    lot = receive(pharmacist, net.centre, METFORMIN, 5, at=days_ago(1))
    assert lot.quantity == 7
    before = stock_state()
    with pytest.raises(NegativeAtDate) as refused:
        stock_adjust(pharmacist, lot=lot, quantity=-3, reason="damaged", at=days_ago(4))
    assert stock_state() == before
    assert refused.value.status == 409 and refused.value.balance == -1
    assert timezone.localdate(refused.value.when) == TODAY - dt.timedelta(days=3)
    # Two units fit on every date.
    stock_adjust(pharmacist, lot=lot, quantity=-2, reason="damaged", at=days_ago(4))
    all_checks_hold()


def test_a_backdated_entry_before_the_first_receipt_is_refused(net):
    receive(net.actor("pharmacist"), net.centre, METFORMIN, 10, at=days_ago(2))
    before = stock_state()
    with pytest.raises(NegativeAtDate):
        dispense(net, 1, at=days_ago(3))
    assert stock_state() == before


def test_a_movement_dated_in_the_future_is_refused(net):
    lot = receive(net.actor("pharmacist"), net.centre, METFORMIN, 10)
    with pytest.raises(ValidationFailed):
        stock_adjust(
            net.actor("pharmacist"),
            lot=lot,
            quantity=1,
            reason="found",
            at=timezone.now() + dt.timedelta(days=1),
        )


def test_reversal_is_dated_on_the_original_and_cancels_it_once(net):
    pharmacist = net.actor("pharmacist")
    receive(pharmacist, net.centre, METFORMIN, 10, at=days_ago(6))
    lot = receive(pharmacist, net.centre, METFORMIN, 5, at=days_ago(4))
    wrong = StockMovement.objects.filter(lot=lot).order_by("id").last()
    reversal = stock_reverse(pharmacist, movement=wrong, reason="Remisión capturada dos veces")
    assert reversal.kind == MovementKind.REVERSAL
    assert reversal.at == wrong.at and reversal.quantity == -5
    lot.refresh_from_db()
    assert lot.quantity == 10
    assert balance_at(lot.id, days_ago(5)) == 10
    with pytest.raises(Conflict):
        stock_reverse(pharmacist, movement=wrong, reason="otra vez")
    all_checks_hold()


def test_reversal_of_an_old_entry_that_would_make_a_past_day_negative_is_refused(net):
    """Two receipts of 10, 15 dispensed three days ago, 10 more received yesterday: 15 on hand.
    Cancelling the second receipt (dated six days ago) would leave 5 today but -5 three days ago:
    the books would say 15 units were handed over from 10. Refused, nothing written."""
    pharmacist = net.actor("pharmacist")
    receive(pharmacist, net.centre, METFORMIN, 10, at=days_ago(7))
    lot = receive(pharmacist, net.centre, METFORMIN, 10, at=days_ago(6))
    second = StockMovement.objects.filter(lot=lot).order_by("id").last()
    dispense(net, 15, at=days_ago(3))
    receive(pharmacist, net.centre, METFORMIN, 10, at=days_ago(1))
    before = stock_state()
    with pytest.raises(NegativeAtDate) as refused:
        stock_reverse(pharmacist, movement=second, reason="No llegó")
    assert refused.value.balance == -5
    assert timezone.localdate(refused.value.when) == TODAY - dt.timedelta(days=3)
    assert stock_state() == before
    all_checks_hold()


def test_dispenses_and_transfer_halves_are_not_reversed_here(net):
    receive(net.actor("pharmacist"), net.centre, METFORMIN, 10)
    dispense(net, 2)
    row = StockMovement.objects.get(kind=MovementKind.DISPENSE)
    with pytest.raises(Conflict):
        stock_reverse(net.actor("pharmacist"), movement=row, reason="error")


def test_reversal_authorization(net):
    receive(net.actor("pharmacist"), net.centre, METFORMIN, 10)
    row = StockMovement.objects.get()
    before = stock_state()
    for who in ("clinician", "hidalgo_pharmacist", "pharmacist2"):
        with pytest.raises(Exception) as refused:
            stock_reverse(net.actor(who), movement=row, reason="x")
        assert refused.value.status == 403
    assert stock_state() == before


def test_a_count_taken_while_dispensing_continues_adjusts_against_the_stock_at_count_time(net):
    """The shelf is counted at 08:00 (47 found, the books say 50); the count is entered at 12:00,
    after 6 units were dispensed at 10:00. The count adjusts -3 dated 08:00, the dispense stays:
    41 on hand, not 47 (which would undo the dispense) nor 38."""
    pharmacist = net.actor("pharmacist")
    lot = receive(pharmacist, net.centre, METFORMIN, 50, at=days_ago(1, hour=8))
    counted_at = timezone.now() - dt.timedelta(hours=2)
    dispense(net, 6, at=timezone.now() - dt.timedelta(hours=1))
    moved = stock_count(pharmacist, facility=net.centre, lines=[CountLine(lot, 47)], at=counted_at)
    assert [(m.kind, m.quantity, m.at) for m in moved] == [(MovementKind.COUNT, -3, counted_at)]
    lot.refresh_from_db()
    assert lot.quantity == 41  # 50 - 3 (count) - 6 (dispense)
    assert balance_at(lot.id, counted_at) == 47
    all_checks_hold()


def test_a_count_that_the_later_dispenses_no_longer_fit_is_refused(net):
    pharmacist = net.actor("pharmacist")
    lot = receive(pharmacist, net.centre, METFORMIN, 10, at=days_ago(1))
    counted_at = timezone.now() - dt.timedelta(hours=2)
    dispense(net, 8, at=timezone.now() - dt.timedelta(hours=1))
    before = stock_state()
    with pytest.raises((NegativeAtDate, InsufficientStock)):
        stock_count(pharmacist, facility=net.centre, lines=[CountLine(lot, 5)], at=counted_at)
    assert stock_state() == before


def test_stock_out_days_across_several_lots_with_one_lot_out(net):
    """Lot A runs out three days ago while lot B still holds units: no stock-out day. Then B runs
    out yesterday: yesterday and today are stock-out days."""
    pharmacist = net.actor("pharmacist")
    receive(
        pharmacist,
        net.centre,
        METFORMIN,
        5,
        lot_number="A",
        at=days_ago(9),
        expiry=TODAY + dt.timedelta(days=30),
    )
    receive(
        pharmacist,
        net.centre,
        METFORMIN,
        7,
        lot_number="B",
        at=days_ago(9),
        expiry=TODAY + dt.timedelta(days=300),
    )
    dispense(net, 5, at=days_ago(3))  # FEFO: lot A is empty
    assert Lot.objects.get(lot_number="A").quantity == 0
    dispense(net, 7, at=days_ago(1))  # lot B is empty too
    start = TODAY - dt.timedelta(days=9)
    assert stockout_days(facility_id=net.centre.id, key=METFORMIN, start=start, end=TODAY) == 2
    days = daily_stock(start=start, end=TODAY, facility_ids=[net.centre.id])[
        (net.centre.id, METFORMIN)
    ]
    assert [usable for _d, usable, _h in days] == [12, 12, 12, 12, 12, 12, 7, 7, 0, 0]


def test_a_period_entirely_stocked_out_counts_every_day(net):
    """No unit all month is 30 stock-out days (not 'no data', not 'unadjusted')."""
    pharmacist = net.actor("pharmacist")
    receive(pharmacist, net.centre, METFORMIN, 5, at=days_ago(40))
    dispense(net, 5, at=days_ago(35))
    start, end = TODAY - dt.timedelta(days=30), TODAY - dt.timedelta(days=1)
    assert stockout_days(facility_id=net.centre.id, key=METFORMIN, start=start, end=end) == 30
    # A key the facility never held at all is out every day too.
    assert stockout_days(facility_id=net.centre.id, key=PARACETAMOL, start=start, end=end) == 30


def test_an_expired_lot_is_not_usable_stock_in_the_snapshots(net):
    pharmacist = net.actor("pharmacist")
    receive(
        pharmacist, net.centre, METFORMIN, 5, at=days_ago(10), expiry=TODAY - dt.timedelta(days=2)
    )
    start = TODAY - dt.timedelta(days=4)
    days = daily_stock(start=start, end=TODAY, facility_ids=[net.centre.id])[
        (net.centre.id, METFORMIN)
    ]
    assert [(u, h) for _d, u, h in days] == [(5, 5), (5, 5), (5, 5), (0, 5), (0, 5)]


def test_snapshots_are_idempotent_refreshed_by_backdated_entries_and_verified(net):
    pharmacist = net.actor("pharmacist")
    lot = receive(pharmacist, net.centre, METFORMIN, 20, at=days_ago(8))
    start = TODAY - dt.timedelta(days=8)
    snapshot_build(start=start, end=TODAY)
    snapshot_build(start=start, end=TODAY)
    assert StockSnapshot.objects.count() == 9
    assert checks.snapshots_fresh() == []
    # A dispense entered late, dated five days ago, changes the snapshots from that day on.
    dispense(net, 4, at=days_ago(5))
    assert checks.snapshots_fresh() == []
    snap = StockSnapshot.objects.get(day=TODAY - dt.timedelta(days=5))
    assert snap.usable == 16
    assert StockSnapshot.objects.get(day=TODAY - dt.timedelta(days=6)).usable == 20
    # A snapshot written around the services is reported as stale.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE inventory_stocksnapshot SET usable = 99 WHERE id = %s", [snap.id])
    assert len(checks.snapshots_fresh()) == 1
    del lot


def test_verify_reports_a_past_negative_balance_written_around_the_services(net):
    pharmacist = net.actor("pharmacist")
    lot = receive(pharmacist, net.centre, METFORMIN, 10, at=days_ago(2))
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO inventory_stockmovement (public_id, lot_id, facility_id, medicine_id,
                   kind, quantity, balance_after, reason, note, reference, operation,
                   actor_username, at)
               VALUES (gen_random_uuid(), %s, %s, %s, 'adjustment', -10, 0, 'lost', '', '',
                       gen_random_uuid(), 'x', %s)""",
            [lot.id, lot.facility_id, lot.medicine_id, days_ago(3)],
        )
        cursor.execute("UPDATE inventory_lot SET quantity = 0 WHERE id = %s", [lot.id])
    problems = checks.ledger_never_negative_at_any_date()
    assert len(problems) == 1 and "-10" in problems[0]


def test_snapshots_catch_up_is_idempotent_and_resumable(net):
    from django.core.management import call_command

    from bienestar.inventory.snapshots import snapshots_catch_up

    receive(net.actor("pharmacist"), net.centre, METFORMIN, 20, at=days_ago(3))
    done = snapshots_catch_up(through=TODAY - dt.timedelta(days=1))
    assert done is not None
    _start, end, rows = done
    assert end == TODAY - dt.timedelta(days=1) and rows == StockSnapshot.objects.count() > 0
    assert snapshots_catch_up(through=TODAY - dt.timedelta(days=1)) is None
    call_command("stock_snapshots", "--from", str(TODAY - dt.timedelta(days=2)), "--to", str(end))
    assert StockSnapshot.objects.count() == rows
    assert StockSnapshot.objects.get(day=end).usable == 20
    assert checks.snapshots_fresh() == []


def test_the_nightly_job_builds_the_missing_snapshots(net):
    from procrastinate.contrib.django import app

    from bienestar.jobs.models import Job
    from bienestar.jobs.runner import run_inline

    assert ("inventory.stock_snapshots", "") in app.periodic_registry.periodic_tasks
    receive(net.actor("pharmacist"), net.centre, METFORMIN, 7, at=days_ago(2))
    job = Job.objects.create(kind="inventory.stock_snapshots", title="t", params={"timestamp": 0})
    job = run_inline(job)
    assert job.status == "succeeded", job.error
    assert StockSnapshot.objects.get(day=TODAY - dt.timedelta(days=1)).usable == 7
