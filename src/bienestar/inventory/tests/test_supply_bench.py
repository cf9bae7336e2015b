"""The supply benchmarks at toy size on the test database: each produces a positive figure and a
positive baseline, and the books still balance afterwards (the bench database is reused)."""

from __future__ import annotations

import pytest

from bienestar.inventory import checks
from bienestar.inventory.supply_models import Requisition, RequisitionStatus
from bienestar.inventory.tests.factories import METFORMIN, receive
from bienestar.ops.bench import supply as supply_bench
from bienestar.ops.tests.test_bench import _database_url

pytestmark = pytest.mark.django_db(transaction=True)


def test_requisition_cycle_and_replenishment_run_measure(net, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", _database_url())
    monkeypatch.setattr(supply_bench, "UNITS", 2)
    receive(net.actor("pharmacist"), net.centre, METFORMIN, 10)
    found = supply_bench.requisition_cycle(0.5)
    m = found["requisition_cycle_per_s"]
    assert m["value"] > 0 and m["baseline"] > 0, m["notes"]
    assert Requisition.objects.exclude(status=RequisitionStatus.RECEIVED).count() == 0
    assert Requisition.objects.count() >= 1
    found = supply_bench.replenishment(period_days=30)
    r = found["replenishment_run_s"]
    assert r["value"] > 0 and r["baseline"] > 0 and "plans" in r["notes"]
    for name, check in checks.checks():
        assert check() == [], name
