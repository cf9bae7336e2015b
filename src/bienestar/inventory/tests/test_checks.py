"""The verify checks hold on a clean ledger and name the problem on a tampered one."""

from __future__ import annotations

import pytest
from django.db import connection

from bienestar.inventory import checks
from bienestar.inventory.models import StockMovement
from bienestar.inventory.services import stock_adjust
from bienestar.inventory.tests.factories import ENALAPRIL, METFORMIN, receive

pytestmark = pytest.mark.django_db


def alter(*statements: str, params: list[object] | None = None) -> None:
    with connection.cursor() as cursor:
        # ALTER TABLE refuses to run while deferred foreign-key checks are pending: fire them now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for sql in statements:
            cursor.execute(sql, params if "%s" in sql else None)


def run_all() -> dict[str, list[str]]:
    return {name: check() for name, check in checks.checks()}


@pytest.fixture
def ledger(net):
    actor = net.actor("pharmacist")
    lot = receive(actor, net.centre, METFORMIN, 50, lot_number="A")
    stock_adjust(actor, lot=lot, quantity=-5, reason="damaged")
    receive(actor, net.centre, ENALAPRIL, 20, lot_number="B")
    return lot


def test_checks_pass_on_a_clean_ledger(ledger):
    assert run_all() == {name: [] for name, _ in checks.checks()}


def test_checks_name_a_tampered_ledger_row(ledger):
    row = StockMovement.objects.filter(lot=ledger).order_by("id").first()
    alter(
        "ALTER TABLE inventory_stockmovement DISABLE TRIGGER stock_ledger_no_update_delete",
        "UPDATE inventory_stockmovement SET quantity = 60 WHERE id = %s",
        "ALTER TABLE inventory_stockmovement ENABLE TRIGGER stock_ledger_no_update_delete",
        params=[row.id],
    )
    result = run_all()
    [balance] = result["every stock balance equals the sum of its ledger"]
    assert str(ledger.public_id) in balance
    assert "balance 45 differs from the sum of its ledger (55)" in balance
    running = result["every ledger row's balance_after is its running sum"]
    assert any(str(row.public_id) in p and "ledger sums to 60" in p for p in running)
    assert result["stock ledger is append-only"] == []
    assert result["no negative stock balance"] == []


def test_checks_notice_a_disabled_trigger_and_a_negative_balance(ledger):
    alter(
        "ALTER TABLE inventory_stockmovement DISABLE TRIGGER stock_ledger_no_truncate",
        "ALTER TABLE inventory_lot DROP CONSTRAINT lot_quantity_not_negative",
        "UPDATE inventory_lot SET quantity = -1 WHERE id = %s",
        params=[ledger.id],
    )
    result = run_all()
    assert result["stock ledger is append-only"] == [
        "stock: trigger stock_ledger_no_truncate is missing or disabled "
        "(the ledger is no longer append-only)"
    ]
    [negative] = result["no negative stock balance"]
    assert str(ledger.public_id) in negative and "(-1)" in negative
