"""The fill rate on a small hand-made dataset, with the expected values computed by hand.

Period: 10 days starting 60 days ago (every prescription's validity is over: the figures are final).

Centro de Salud Oaxaca (prescribing facility):
  P1  metformin 60 → 60 dispensed at once                     line filled     units 60/60
      enalapril 30 → 10 dispensed, the rest never             line not filled units 10/30
  P2  metformin 20 → 5 at the centre, 15 at pharmacy2 a week later (the voucher, within validity)
                                                              line filled     units 20/20
  P3  paracetamol 10 → nothing                                line not filled units 0/10
  P4  cancelled (metformin 100)                               excluded
  P5  authored before the period (metformin 10, filled)       excluded
  → lines 2/4 = 0.5000; units 90/120 = 0.7500
Farmacia del Bienestar Oaxaca (prescribing facility):
  P6  metformin 40 → 40                                       line filled     units 40/40
Oaxaca (MX.20) = centre + pharmacy2 → lines 3/5 = 0.6000; units 130/160 = 0.8125
Hidalgo (MX.13):
  P7  metformin 50 → nothing                                  lines 0/1; units 0/50
México (MX) → lines 3/6 = 0.5000; units 130/210 = 0.6190
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from bienestar.access.errors import Forbidden
from bienestar.core.errors import ValidationFailed
from bienestar.inventory.tests.factories import ENALAPRIL, METFORMIN, PARACETAMOL, receive
from bienestar.prescribing.selectors import fill_rate, fill_rate_by_facility
from bienestar.prescribing.services import dispense_record, prescription_cancel
from bienestar.prescribing.tests.factories import fill, line, prescribe

pytestmark = pytest.mark.django_db

TZ = timezone.get_current_timezone()
D0 = timezone.localdate() - dt.timedelta(days=60)
D_END = D0 + dt.timedelta(days=9)


def at(day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(D0 + dt.timedelta(days=day), dt.time(hour), tzinfo=TZ)


@pytest.fixture
def dataset(net, jose, maria):
    ph1, ph2 = net.actor("pharmacist"), net.actor("pharmacist2")
    receive(ph1, net.centre, METFORMIN, 1000, at=at(-10))
    receive(ph1, net.centre, ENALAPRIL, 10, lot_number="E", at=at(-10))
    receive(ph2, net.pharmacy2, METFORMIN, 1000, lot_number="P2", at=at(-10))

    p1 = prescribe(net, jose, line(METFORMIN, 60), line(ENALAPRIL, 30), authored_at=at(0))
    dispense_record(
        ph1,
        prescription=p1,
        pharmacy=net.centre,
        lines=fill(p1, 60, (10, "patient_declined")),
        at=at(0, 11),
    )
    p2 = prescribe(net, jose, line(METFORMIN, 20), authored_at=at(2))
    dispense_record(
        ph1,
        prescription=p2,
        pharmacy=net.centre,
        lines=fill(p2, (5, "prescriber_changed")),
        at=at(2, 11),
    )
    dispense_record(ph2, prescription=p2, pharmacy=net.pharmacy2, lines=fill(p2, 15), at=at(9))
    prescribe(net, jose, line(PARACETAMOL, 10), authored_at=at(5, 23))  # local 23:00 is still D0+5
    p4 = prescribe(net, jose, line(METFORMIN, 100), authored_at=at(3))
    prescription_cancel(net.actor("clinician"), prescription=p4, reason="error de captura")
    p5 = prescribe(net, jose, line(METFORMIN, 10), authored_at=at(-1, 23))
    dispense_record(ph1, prescription=p5, pharmacy=net.centre, lines=fill(p5, 10), at=at(0, 9))
    p6 = prescribe(
        net,
        jose,
        line(METFORMIN, 40),
        authored_at=at(9, 20),
        who="integrator",
        facility=net.pharmacy2,
    )
    dispense_record(ph2, prescription=p6, pharmacy=net.pharmacy2, lines=fill(p6, 40), at=at(10))
    prescribe(net, maria, line(METFORMIN, 50), who="other_state_clinician", authored_at=at(4))
    return net


def figures(f):
    return (
        f.prescriptions,
        f.lines_filled,
        f.lines_prescribed,
        f.line_rate,
        f.units_dispensed,
        f.units_prescribed,
        f.unit_rate,
        f.provisional,
    )


def test_fill_rate_of_a_facility(dataset, django_assert_num_queries):
    with django_assert_num_queries(1):
        f = fill_rate(
            dataset.actor("pharmacist"), date_from=D0, date_to=D_END, facility=dataset.centre
        )
    assert figures(f) == (3, 2, 4, Decimal("0.5000"), 90, 120, Decimal("0.7500"), False)


def test_fill_rate_of_a_state_and_the_country(dataset):
    oaxaca = fill_rate(
        dataset.actor("facility_director"), date_from=D0, date_to=D_END, territory_path="MX.20"
    )
    assert figures(oaxaca)[1:] == (3, 5, Decimal("0.6000"), 130, 160, Decimal("0.8125"), False)
    hidalgo = fill_rate(
        dataset.actor("national_coordinator"), date_from=D0, date_to=D_END, territory_path="MX.13"
    )
    assert figures(hidalgo)[1:] == (0, 1, Decimal("0.0000"), 0, 50, Decimal("0.0000"), False)
    # No territory given: the actor's whole scope.
    mexico = fill_rate(dataset.actor("national_coordinator"), date_from=D0, date_to=D_END)
    assert mexico.territory_path == "MX"
    assert figures(mexico)[1:] == (3, 6, Decimal("0.5000"), 130, 210, Decimal("0.6190"), False)


def test_fill_rate_by_facility_lowest_first(dataset, django_assert_num_queries):
    with django_assert_num_queries(2):
        rows = fill_rate_by_facility(
            dataset.actor("state_coordinator"), date_from=D0, date_to=D_END, territory_path="MX.20"
        )
    assert [(r.facility, r.line_rate, r.unit_rate) for r in rows] == [
        (dataset.centre, Decimal("0.5000"), Decimal("0.7500")),
        (dataset.pharmacy2, Decimal("1.0000"), Decimal("1.0000")),
    ]


def test_a_period_with_open_prescriptions_is_provisional(dataset, jose):
    today = timezone.localdate()
    prescribe(dataset, jose, line(METFORMIN, 10))
    f = fill_rate(dataset.actor("pharmacist"), date_from=today, date_to=today)
    assert (f.lines_filled, f.lines_prescribed, f.provisional) == (0, 1, True)
    empty = fill_rate(
        dataset.actor("pharmacist"),
        date_from=D0 - dt.timedelta(days=30),
        date_to=D0 - dt.timedelta(days=20),
    )
    assert (empty.lines_prescribed, empty.line_rate, empty.unit_rate) == (0, None, None)


@pytest.mark.parametrize(
    ("who", "kwargs"),
    [
        ("clinician", {}),  # no INDICATOR_READ
        ("pharmacist", {"territory_path": "MX.13"}),  # another state
        ("pharmacist", {"territory_path": "MX"}),  # wider than its scope
        ("hidalgo_pharmacist", {"facility": "centre"}),
    ],
)
def test_fill_rate_is_scoped(dataset, who, kwargs):
    if kwargs.get("facility"):
        kwargs = {"facility": getattr(dataset, kwargs["facility"])}
    with pytest.raises(Forbidden):
        fill_rate(dataset.actor(who), date_from=D0, date_to=D_END, **kwargs)


def test_fill_rate_refuses_an_inverted_period(dataset):
    with pytest.raises(ValidationFailed, match="anterior"):
        fill_rate(dataset.actor("pharmacist"), date_from=D_END, date_to=D0)
