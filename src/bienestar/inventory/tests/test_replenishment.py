"""Replenishment figures, computed by hand in each test's docstring."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from bienestar.inventory.replenishment import plan, replenishment_for, replenishment_run
from bienestar.inventory.services import Issue, stock_issue_fefo
from bienestar.inventory.shipments import Wanted, requisition_push, requisition_ship
from bienestar.inventory.tests.factories import ENALAPRIL, METFORMIN, receive

TODAY = timezone.localdate()
PARAMS = {"lead_time_days": 15, "safety_days": 15, "review_days": 30}


def test_amc_is_adjusted_for_stock_out_days():
    """60 units dispensed in a 30-day period with 20 days stocked: 60 / 20 * 30 = 90 a month.
    min = 90 * (15 + 15) / 30 = 90; max = 90 + 90 * 30 / 30 = 180; months of stock = 45 / 90 = 0.5;
    suggested = 180 - 45 on hand - 35 in transit = 100."""
    p = plan(
        consumption=60, days_in_period=30, days_stocked=20, on_hand=45, in_transit=35, **PARAMS
    )
    assert p.amc == 90
    assert (p.min_qty, p.max_qty, p.months_of_stock, p.suggested) == (90, 180, 0.5, 100)
    assert not p.low_confidence and not p.stocked_out


def test_a_fully_stocked_period_is_unadjusted():
    """90 days, all stocked, 270 dispensed: 270 / 90 * 30 = 90 a month."""
    p = plan(consumption=270, days_in_period=90, days_stocked=90, on_hand=0, in_transit=0, **PARAMS)
    assert p.amc == 90 and p.suggested == 180


def test_few_days_stocked_are_flagged():
    """3 days stocked, 12 dispensed: 12 / 3 * 30 = 120 a month, flagged as a guess."""
    p = plan(consumption=12, days_in_period=30, days_stocked=3, on_hand=0, in_transit=0, **PARAMS)
    assert p.amc == 120 and p.low_confidence


def test_a_fully_stocked_out_period_is_not_treated_as_unadjusted():
    """Nothing on the shelf all month: 0 dispensed is not 'AMC 0, order nothing'. With 45 units
    prescribed in 30 days the AMC is the demand, 45; max = 45 + 45 = 90; suggested 90. Without any
    prescription the AMC is unknown and nothing is suggested automatically (flagged)."""
    p = plan(
        consumption=0,
        days_in_period=30,
        days_stocked=0,
        on_hand=0,
        in_transit=0,
        prescribed=45,
        **PARAMS,
    )
    assert (p.amc, p.suggested, p.stocked_out, p.low_confidence) == (45, 90, True, True)
    unknown = plan(
        consumption=0, days_in_period=30, days_stocked=0, on_hand=0, in_transit=0, **PARAMS
    )
    assert unknown.amc is None and unknown.suggested == 0 and unknown.stocked_out


def test_nothing_is_suggested_above_max():
    p = plan(
        consumption=30, days_in_period=30, days_stocked=30, on_hand=500, in_transit=0, **PARAMS
    )
    assert p.suggested == 0 and p.months_of_stock == pytest.approx(500 / 30)


def test_days_stocked_must_lie_within_the_period():
    with pytest.raises(ValueError):
        plan(consumption=1, days_in_period=30, days_stocked=31, on_hand=0, in_transit=0, **PARAMS)


@pytest.mark.django_db
def test_the_run_reads_the_ledger_snapshots_and_shipments(supply):
    """Metformin at the centre over the 30 days ending yesterday: 40 received 30 days ago, 40
    dispensed 20 days ago (FEFO, the only lot), nothing until 10 more arrive 5 days ago: stocked
    on days -30..-21 and -5..-1 = 15 days. AMC = 40 / 15 * 30 = 80. Node: lead 10, safety 5,
    review 30 → min = 80 * 15 / 30 = 40, max = 40 + 80 = 120; 10 on hand, 25 in transit →
    suggested 85."""
    net = supply.net
    pharmacist = net.actor("pharmacist")

    def at(days: int) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(TODAY - dt.timedelta(days=days), dt.time(9)))

    receive(pharmacist, net.centre, METFORMIN, 40, lot_number="A", at=at(30))
    stock_issue_fefo(
        pharmacist, facility=net.centre, issues=[Issue(METFORMIN, 40, "rx")], person_id=1, at=at(20)
    )
    receive(pharmacist, net.centre, METFORMIN, 10, lot_number="B", at=at(5))
    almacen = supply.actor("almacen")
    receive(almacen, supply.warehouse, METFORMIN, 100)
    receive(almacen, supply.warehouse, ENALAPRIL, 100)
    kit = requisition_push(
        almacen, supplier=supply.warehouse, requester=net.centre, lines=[Wanted(METFORMIN, 25)]
    )
    requisition_ship(almacen, requisition=kit)
    plans = replenishment_run(facility_ids=[net.centre.id], period_days=30)
    p = plans[(net.centre.id, METFORMIN)]
    assert (p.consumption, p.days_stocked, p.on_hand, p.in_transit) == (40, 15, 10, 25)
    assert p.amc == pytest.approx(80)
    assert (p.min_qty, p.max_qty, p.suggested) == (pytest.approx(40), pytest.approx(120), 85)
    # The same through the scoped door; another state's warehouse keeper may not read it.
    assert replenishment_for(pharmacist, facility=net.centre, period_days=30)[METFORMIN] == p
    with pytest.raises(Exception) as refused:
        replenishment_for(supply.actor("almacen_hgo"), facility=net.centre)
    assert refused.value.status == 403
