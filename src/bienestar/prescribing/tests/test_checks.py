"""Dispensing invariants hold after real dispenses and name a dispense whose stock went missing."""

from __future__ import annotations

import pytest
from django.db import connection

from bienestar.inventory.tests.factories import METFORMIN, receive
from bienestar.prescribing import checks
from bienestar.prescribing.models import DispenseLine
from bienestar.prescribing.services import dispense_record
from bienestar.prescribing.tests.factories import fill, line, prescribe

pytestmark = pytest.mark.django_db


def run_all() -> dict[str, list[str]]:
    return {name: check() for name, check in checks.checks()}


def test_checks_hold_then_name_the_broken_dispense(net, jose):
    receive(net.actor("pharmacist"), net.centre, METFORMIN, 100)
    p = prescribe(net, jose, line(METFORMIN, 30))
    dispense_record(
        net.actor("pharmacist"),
        prescription=p,
        pharmacy=net.centre,
        lines=fill(p, (20, "patient_declined")),
    )
    assert run_all() == {name: [] for name, _ in checks.checks()}

    dl = DispenseLine.objects.get()
    with connection.cursor() as cursor:
        # Someone edits the dispensing record directly: 25 handed over, but only 20 left the stock.
        cursor.execute("UPDATE prescribing_dispenseline SET quantity = 25 WHERE id = %s", [dl.id])
    result = run_all()
    [stock] = result["every dispensed unit left the stock ledger"]
    assert str(dl.public_id) in stock and "handed over 25 units" in stock and "records 20" in stock
    [adds] = result["dispensed quantities add up"]
    assert "says 20 units dispensed but its dispense lines add up to 25" in adds
    assert result["every stock dispense belongs to a dispense line"] == []
