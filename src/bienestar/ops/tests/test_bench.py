"""The benchmark's own arithmetic and its dispensing reconciliation, at toy size on the test
database: the figures are computed as CONTRACTS.md says, and `dispense_oversell_count` counts what
it claims to (a unit taken out of stock behind the ledger's back is caught)."""

from __future__ import annotations

import json

import pytest
from django.db import connection

from bienestar.config.database import connection_url
from bienestar.ops.bench import common
from bienestar.ops.bench import dispense as bench_dispense


def test_percentile_interpolates_between_ranks():
    assert common.percentile([], 50) == 0.0
    assert common.percentile([5.0], 95) == 5.0
    assert common.percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert common.percentile(list(map(float, range(101))), 95) == 95.0


def test_metric_has_the_contract_fields_and_no_ratio_without_a_baseline(tmp_path):
    m = common.metric(10.0, "ms", 4.0, "n")
    assert m == {"value": 10.0, "unit": "ms", "baseline": 4.0, "ratio": 2.5, "notes": "n"}
    assert common.metric(0.0, "count", 0.0, "n")["ratio"] is None
    out = common.write_results(tmp_path / "r.json", {"people": 10, "seed": 1}, {"x": m})
    written = json.loads((tmp_path / "r.json").read_text())
    assert written == out
    assert set(written) == {"generated_at", "git_commit", "machine", "dataset", "metrics"}
    assert set(written["machine"]) == {"cpus", "memory_gb"}


def _database_url() -> str:
    return connection_url(connection.settings_dict)


@pytest.mark.django_db(transaction=True)
def test_toy_dispensing_run_oversells_nothing_and_the_check_catches_a_planted_oversell(
    geo, users, monkeypatch
):
    from bienestar.inventory.tests.factories import build_network
    from bienestar.people.tests.factories import PersonFactory
    from bienestar.territories.tests.factories import mexico

    mexico()
    build_network(geo, users)
    for _ in range(5):
        PersonFactory(territory=geo["oaxaca_centro"])
    monkeypatch.setenv("DATABASE_URL", _database_url())
    monkeypatch.setattr(bench_dispense, "DISPENSERS", 4)
    monkeypatch.setattr(bench_dispense, "PHARMACIES", 2)
    monkeypatch.setattr(bench_dispense, "RACE_ATTEMPTS", 5)  # 4 x 5 x 5 = 100 units asked for 60

    metrics = bench_dispense.dispensing(1.0)

    tx, oversell = metrics["dispense_tx_per_s"], metrics["dispense_oversell_count"]
    assert tx["value"] > 0 and tx["baseline"] > 0, tx["notes"]
    assert "UNEXPECTED" not in tx["notes"], tx["notes"]
    assert oversell["value"] == 0.0 and oversell["baseline"] == 0.0, oversell["notes"]
    assert "12 served of 12 possible" in oversell["notes"]
    # The baseline's copies of the stock tables are gone: the database passes `verify`.
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('bench_baseline_lot')")
        assert cursor.fetchone()[0] is None

    # Now a unit leaves a lot without a ledger row (the kind of bug the metric exists to catch).
    setup = bench_dispense.prepare(1.0)
    touched = [*setup.pharmacies, setup.race_pharmacy]
    before = bench_dispense._stock(touched, setup.medicine)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE inventory_lot SET quantity = quantity - 1 WHERE id = "
            "(SELECT id FROM inventory_lot WHERE facility_id = %s AND quantity > 0 LIMIT 1)",
            [setup.pharmacies[0]],
        )
    after = bench_dispense._stock(touched, setup.medicine)
    units, problems = bench_dispense.oversold_units(setup, before, after)
    assert units == 1 and len(problems) == 1, problems
