"""Replenishment: average monthly consumption adjusted for stock-out days, months of stock, min/max
and the suggested order, for every key at every node (one batch of SQL for the whole network).

The rules (`plan`, a pure function, so that every figure can be checked by hand):
- adjusted consumption = consumption ÷ days stocked * days in period; AMC = that, per 30 days.
  A day is stocked when the end-of-day usable stock of the key, across its lots, is > 0
  (`snapshots.daily_stock`; one lot out while another holds units is not a stock-out day).
- few days stocked (< `MIN_DAYS_STOCKED`) → the AMC is flagged `low_confidence`: 3 days of
  consumption scaled to a month is a guess.
- a period entirely stocked out is *not* "unadjusted consumption" (0 dispensed → AMC 0 → order
  nothing, the OpenLMIS quirk): the AMC falls back to the unconstrained demand, the units prescribed
  in the period per 30 days, flagged `stocked_out`; with no prescriptions either it is unknown
  (None) and nothing is suggested, flagged for a person to decide.
- months of stock = usable on hand ÷ AMC;
  min = AMC * (lead time + safety) / 30; max = min + AMC * review interval / 30;
  suggested order = max(0, max - on hand - in transit), rounded up to whole units.
- unconstrained demand (units prescribed, not only dispensed) is reported beside the AMC.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from bienestar.access.actor import Actor
from bienestar.facilities.models import Facility
from bienestar.inventory.permissions import require_stock_read
from bienestar.inventory.shipments import in_transit
from bienestar.inventory.snapshots import daily_stock
from bienestar.inventory.supply_models import SupplyNode

DAYS_PER_MONTH = 30
MIN_DAYS_STOCKED = 10
DEFAULT_PERIOD_DAYS = 90


@dataclass(frozen=True)
class Plan:
    consumption: int
    prescribed: int
    days_in_period: int
    days_stocked: int
    amc: float | None
    low_confidence: bool
    stocked_out: bool
    on_hand: int
    in_transit: int
    months_of_stock: float | None
    min_qty: float | None
    max_qty: float | None
    suggested: int

    @property
    def demand_per_month(self) -> float:
        """Unconstrained demand: units prescribed per 30 days."""
        return self.prescribed / self.days_in_period * DAYS_PER_MONTH


def plan(
    *,
    consumption: int,
    days_in_period: int,
    days_stocked: int,
    on_hand: int,
    in_transit: int,
    lead_time_days: int,
    safety_days: int,
    review_days: int,
    prescribed: int = 0,
) -> Plan:
    """The replenishment figures of one key at one node (see the module's rules)."""
    if days_in_period <= 0 or not 0 <= days_stocked <= days_in_period:
        raise ValueError("days stocked must lie within a non-empty period")
    stocked_out = days_stocked == 0
    amc: float | None
    if stocked_out:
        amc = prescribed / days_in_period * DAYS_PER_MONTH if prescribed else None
    else:
        adjusted = consumption / days_stocked * days_in_period
        amc = adjusted / days_in_period * DAYS_PER_MONTH
    low_confidence = stocked_out or days_stocked < MIN_DAYS_STOCKED
    if amc is None:
        return Plan(
            consumption=consumption,
            prescribed=prescribed,
            days_in_period=days_in_period,
            days_stocked=days_stocked,
            amc=None,
            low_confidence=True,
            stocked_out=stocked_out,
            on_hand=on_hand,
            in_transit=in_transit,
            months_of_stock=None,
            min_qty=None,
            max_qty=None,
            suggested=0,
        )
    min_qty = amc * (lead_time_days + safety_days) / DAYS_PER_MONTH
    max_qty = min_qty + amc * review_days / DAYS_PER_MONTH
    # Rounded to 1e-9 first, so that 100.00000000001 (float noise) does not suggest 101.
    suggested = max(0, math.ceil(round(max_qty - on_hand - in_transit, 9)))
    return Plan(
        consumption=consumption,
        prescribed=prescribed,
        days_in_period=days_in_period,
        days_stocked=days_stocked,
        amc=amc,
        low_confidence=low_confidence,
        stocked_out=stocked_out,
        on_hand=on_hand,
        in_transit=in_transit,
        months_of_stock=on_hand / amc if amc else None,
        min_qty=min_qty,
        max_qty=max_qty,
        suggested=suggested,
    )


_CONSUMPTION = """
SELECT facility_id, medicine_id, -sum(quantity) FROM inventory_stockmovement
WHERE kind = 'dispense' AND facility_id = ANY(%(facilities)s)
  AND at >= (%(start)s::date::timestamp AT TIME ZONE %(tz)s)
  AND at < ((%(end)s::date + 1)::timestamp AT TIME ZONE %(tz)s)
GROUP BY 1, 2
"""

# Unconstrained demand: what was prescribed at the unit (cancelled prescriptions excluded). Plain
# SQL on prescribing's tables: prescribing imports inventory, not the other way round.
_PRESCRIBED = """
SELECT pl.facility_id, pl.medicine_id, sum(pl.quantity) FROM prescribing_prescriptionline pl
JOIN prescribing_prescription p ON p.id = pl.prescription_id
WHERE pl.facility_id = ANY(%(facilities)s) AND p.cancelled_at IS NULL
  AND p.authored_at >= (%(start)s::date::timestamp AT TIME ZONE %(tz)s)
  AND p.authored_at < ((%(end)s::date + 1)::timestamp AT TIME ZONE %(tz)s)
GROUP BY 1, 2
"""

_ON_HAND = """
SELECT facility_id, medicine_id, sum(quantity) FROM inventory_lot
WHERE facility_id = ANY(%(facilities)s) AND status = 'usable' AND expiry >= %(today)s
GROUP BY 1, 2
"""


def _sums(sql: str, params: dict) -> dict[tuple[int, str], int]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {(f, k): int(n) for f, k, n in cursor.fetchall()}


def replenishment_run(
    *,
    facility_ids: Iterable[int],
    end: dt.date | None = None,
    period_days: int = DEFAULT_PERIOD_DAYS,
) -> dict[tuple[int, str], Plan]:
    """The plan of every key at every listed node over the `period_days` ending `end` (yesterday
    by default): the keys each node held a lot of, or dispensed, or had prescribed. Internal (no
    actor): the pages and the API call `replenishment_for`, the bench calls this for the network."""
    from django.conf import settings

    ids = list(facility_ids)
    today = timezone.localdate()
    end = end or today - dt.timedelta(days=1)
    start = end - dt.timedelta(days=period_days - 1)
    params = {
        "facilities": ids,
        "start": start,
        "end": end,
        "tz": settings.TIME_ZONE,
        "today": today,
    }
    consumption = _sums(_CONSUMPTION, params)
    prescribed = _sums(_PRESCRIBED, params)
    on_hand = _sums(_ON_HAND, params)
    days = daily_stock(start=start, end=end, facility_ids=ids)
    stocked = {k: sum(1 for _d, usable, _h in v if usable > 0) for k, v in days.items()}
    transit = in_transit(destination_ids=ids)
    nodes = {n.facility_id: n for n in SupplyNode.objects.filter(facility_id__in=ids)}
    out = {}
    for key in set(consumption) | set(prescribed) | set(days) | set(on_hand) | set(transit):
        node = nodes.get(key[0])
        out[key] = plan(
            consumption=consumption.get(key, 0),
            prescribed=prescribed.get(key, 0),
            days_in_period=period_days,
            days_stocked=stocked.get(key, 0),
            on_hand=on_hand.get(key, 0),
            in_transit=transit.get(key, 0),
            lead_time_days=node.lead_time_days if node else 15,
            safety_days=node.safety_days if node else 15,
            review_days=node.review_days if node else 30,
        )
    return out


def replenishment_for(
    actor: Actor, *, facility: Facility, period_days: int = DEFAULT_PERIOD_DAYS
) -> dict[str, Plan]:
    """The plan of every key at one facility, for whoever may read its stock."""
    require_stock_read(actor, facility)
    plans = replenishment_run(facility_ids=[facility.id], period_days=period_days)
    return {key: p for (_f, key), p in sorted(plans.items())}
