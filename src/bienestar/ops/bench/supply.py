"""`requisition_cycle_per_s` and `replenishment_run_s`: the supply chain at work.

- requisition cycle: a unit asks its state warehouse for two keys, the warehouse approves, picks
  FEFO and ships, the unit receives in full — four service calls (four transactions, each with its
  row locks, the ledger rows of both sides and the shipment) per cycle, for a fixed time, cycling
  over the bench's units. Baseline: the same four steps as hand-written SQL through psycopg
  (requisition and lines inserted, status updated, two conditional stock UPDATEs with their ledger
  rows and the shipment, two incoming stock UPDATEs with theirs), on session-private copies of the
  tables (`CREATE TEMP TABLE … (LIKE …)`), so that the bench database keeps passing `verify`.
- replenishment run: `inventory.replenishment.replenishment_run` for every key at every facility
  that holds stock (consumption, end-of-day stock of every lot on every day of 90 for the stock-out
  days, prescribed demand, on hand, in transit, min/max, suggested order). Baseline: one SQL
  aggregate of the same 90 days of dispensing per facility and key (the unadjusted consumption).

The bench's supply network (a warehouse and up to `UNITS` units of one state, with supply nodes and
a warehouse keeper of national scope) is created once and reused.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Any

from django.db import connection
from django.utils import timezone

from bienestar.ops.bench.common import Metric, metric, raw_connection

UNITS = 20
KEYS_PER_CYCLE = 2
WAREHOUSE_CLUES = "BNALM999901"


def _network() -> tuple[Any, list[Any], Any, list[str]]:
    from bienestar.access.actor import Actor
    from bienestar.access.models import User
    from bienestar.access.roles import Role
    from bienestar.facilities.models import Facility, FacilityType, Institution
    from bienestar.inventory.services import ReceiptLine, stock_receive
    from bienestar.inventory.supply_models import NodeLevel, SupplyNode
    from bienestar.terminology.models import Medicine
    from bienestar.territories.models import Territory

    units = list(
        Facility.objects.filter(in_operation=True)
        .exclude(facility_type=FacilityType.WAREHOUSE)
        .order_by("id")[:UNITS]
    )
    if not units:
        raise RuntimeError("no facility in the bench network")
    root = Territory.objects.filter(parent__isnull=True).order_by("id").first()
    user, _ = User.objects.get_or_create(
        username="bench_supply",
        defaults={"role": Role.WAREHOUSE_MANAGER, "territory": root},
    )
    actor = Actor(user=user, client_address="127.0.0.1", channel="bench")
    warehouse, created = Facility.objects.get_or_create(
        clues=WAREHOUSE_CLUES,
        defaults={
            "name": "Almacén de la prueba de rendimiento",
            "institution": Institution.IMSS_BIENESTAR,
            "facility_type": FacilityType.WAREHOUSE,
            "territory": units[0].territory,
        },
    )
    node, _ = SupplyNode.objects.get_or_create(
        facility=warehouse, defaults={"level": NodeLevel.STATE_WAREHOUSE}
    )
    for unit in units:
        SupplyNode.objects.get_or_create(
            facility=unit, defaults={"level": NodeLevel.UNIT_PHARMACY, "supplier": node}
        )
    keys = list(Medicine.objects.order_by("key").values_list("key", flat=True)[:KEYS_PER_CYCLE])
    if created:
        stock_receive(
            actor,
            facility=warehouse,
            lines=[
                ReceiptLine(
                    key, f"BENCH-{key}", timezone.localdate() + dt.timedelta(days=700), 5_000_000
                )
                for key in keys
            ],
        )
    return actor, units, warehouse, keys


def _app_cycles(seconds: float, actor: Any, units: list[Any], keys: list[str]) -> int:
    from bienestar.inventory.shipments import (
        Wanted,
        requisition_approve,
        requisition_create,
        requisition_ship,
        shipment_receive,
    )

    done = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        unit = units[done % len(units)]
        req = requisition_create(
            actor, requester=unit, lines=[Wanted(key, 3) for key in keys], note="bench"
        )
        requisition_approve(actor, requisition=req)
        shipment = requisition_ship(actor, requisition=req)
        shipment_receive(actor, shipment=shipment)
        done += 1
    return done


_TEMP = """
CREATE TEMP TABLE b_lot (LIKE inventory_lot INCLUDING ALL);
CREATE TEMP TABLE b_movement (LIKE inventory_stockmovement INCLUDING ALL);
CREATE TEMP TABLE b_requisition (LIKE inventory_requisition INCLUDING ALL);
CREATE TEMP TABLE b_requisitionline (LIKE inventory_requisitionline INCLUDING ALL);
CREATE TEMP TABLE b_shipment (LIKE inventory_shipment INCLUDING ALL);
CREATE TEMP TABLE b_shipmentline (LIKE inventory_shipmentline INCLUDING ALL);
"""


def _baseline_cycles(
    seconds: float, warehouse_id: int, unit_ids: list[int], keys: list[str]
) -> int:
    now = timezone.now()
    expiry = timezone.localdate() + dt.timedelta(days=700)
    with raw_connection() as conn:
        conn.execute(_TEMP)
        source: dict[str, int] = {}
        target: dict[tuple[int, str], int] = {}
        for key in keys:
            source[key] = conn.execute(
                """INSERT INTO b_lot (public_id, created_at, updated_at, facility_id, medicine_id,
                       lot_number, expiry, quantity, manufacturer, status)
                   VALUES (%s, %s, %s, %s, %s, 'B', %s, 5000000, '', 'usable') RETURNING id""",
                [uuid.uuid4(), now, now, warehouse_id, key, expiry],
            ).fetchone()[0]
            for unit in unit_ids:
                target[(unit, key)] = conn.execute(
                    """INSERT INTO b_lot (public_id, created_at, updated_at, facility_id,
                           medicine_id, lot_number, expiry, quantity, manufacturer, status)
                       VALUES (%s, %s, %s, %s, %s, 'B', %s, 0, '', 'usable') RETURNING id""",
                    [uuid.uuid4(), now, now, unit, key, expiry],
                ).fetchone()[0]
        done = 0
        deadline = time.perf_counter() + seconds
        move = """INSERT INTO b_movement (public_id, lot_id, facility_id, medicine_id, kind,
                      quantity, balance_after, reason, note, reference, operation, actor_username, at)
                  VALUES (%s, %s, %s, %s, %s, %s, %s, '', '', %s, %s, 'bench', now())"""
        while time.perf_counter() < deadline:
            unit = unit_ids[done % len(unit_ids)]
            with conn.transaction():
                rid = conn.execute(
                    """INSERT INTO b_requisition (public_id, created_at, updated_at, requester_id,
                           supplier_id, kind, status, note, created_by, decided_by)
                       VALUES (%s, now(), now(), %s, %s, 'pull', 'submitted', '', 'bench', '')
                       RETURNING id""",
                    [uuid.uuid4(), unit, warehouse_id],
                ).fetchone()[0]
                for key in keys:
                    conn.execute(
                        """INSERT INTO b_requisitionline (requisition_id, medicine_id, suggested,
                               requested) VALUES (%s, %s, 0, 3)""",
                        [rid, key],
                    )
            with conn.transaction():
                conn.execute(
                    "UPDATE b_requisitionline SET approved = requested WHERE requisition_id = %s",
                    [rid],
                )
                conn.execute(
                    "UPDATE b_requisition SET status = 'approved', decided_at = now() WHERE id = %s",
                    [rid],
                )
            op = uuid.uuid4()
            with conn.transaction():
                sid = conn.execute(
                    """INSERT INTO b_shipment (public_id, created_at, updated_at, requisition_id,
                           origin_id, destination_id, status, operation, dispatched_at,
                           dispatched_by, received_by)
                       VALUES (%s, now(), now(), %s, %s, %s, 'in_transit', %s, now(), 'bench', '')
                       RETURNING id""",
                    [uuid.uuid4(), rid, warehouse_id, unit, op],
                ).fetchone()[0]
                lines = []
                for key in keys:
                    balance = conn.execute(
                        "UPDATE b_lot SET quantity = quantity - 3 WHERE id = %s AND quantity >= 3 "
                        "RETURNING quantity",
                        [source[key]],
                    ).fetchone()[0]
                    lid = conn.execute(
                        """INSERT INTO b_shipmentline (shipment_id, medicine_id, source_lot_id,
                               shipped, difference_reason) VALUES (%s, %s, %s, 3, '') RETURNING id""",
                        [sid, key, source[key]],
                    ).fetchone()[0]
                    lines.append((lid, key))
                    conn.execute(
                        move,
                        [
                            uuid.uuid4(),
                            source[key],
                            warehouse_id,
                            key,
                            "transfer_out",
                            -3,
                            balance,
                            f"shipline:{lid}",
                            op,
                        ],
                    )
                conn.execute("UPDATE b_requisition SET status = 'shipped' WHERE id = %s", [rid])
            with conn.transaction():
                for lid, key in lines:
                    balance = conn.execute(
                        "UPDATE b_lot SET quantity = quantity + 3 WHERE id = %s RETURNING quantity",
                        [target[(unit, key)]],
                    ).fetchone()[0]
                    conn.execute(
                        move,
                        [
                            uuid.uuid4(),
                            target[(unit, key)],
                            unit,
                            key,
                            "transfer_in",
                            3,
                            balance,
                            f"shipline:{lid}",
                            op,
                        ],
                    )
                    conn.execute(
                        "UPDATE b_shipmentline SET received = 3, destination_lot_id = %s "
                        "WHERE id = %s",
                        [target[(unit, key)], lid],
                    )
                conn.execute(
                    "UPDATE b_shipment SET status = 'received', received_at = now() WHERE id = %s",
                    [sid],
                )
                conn.execute("UPDATE b_requisition SET status = 'received' WHERE id = %s", [rid])
            done += 1
    return done


def requisition_cycle(seconds: float) -> dict[str, Metric]:
    actor, units, warehouse, keys = _network()
    start = time.perf_counter()
    app = _app_cycles(seconds, actor, units, keys)
    app_rate = app / (time.perf_counter() - start)
    start = time.perf_counter()
    base = _baseline_cycles(seconds, warehouse.id, [u.id for u in units], keys)
    base_rate = base / (time.perf_counter() - start)
    return {
        "requisition_cycle_per_s": metric(
            app_rate,
            "req/s",
            base_rate,
            f"create → approve → FEFO ship → receive of a {len(keys)}-key requisition through the "
            f"services, one client, {app} cycles in {seconds:g} s over {len(units)} units; "
            f"baseline: the same four transactions as raw SQL on temp copies ({base} cycles)",
        )
    }


_CONSUMPTION = """
SELECT facility_id, medicine_id, -sum(quantity) FROM inventory_stockmovement
WHERE kind = 'dispense' AND at >= %s AND at < %s GROUP BY 1, 2
"""


def replenishment(period_days: int = 90) -> dict[str, Metric]:
    """The run over the `period_days` ending on the day of the latest dispense in the ledger (the
    synthetic activity may end before today), so that consumption and stock-out days are real."""
    from bienestar.inventory.replenishment import replenishment_run

    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT facility_id FROM inventory_lot")
        facility_ids = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT max(at) FROM inventory_stockmovement WHERE kind = 'dispense'")
        latest = cursor.fetchone()[0]
    end = timezone.localtime(latest).date() if latest else timezone.localdate()
    start = time.perf_counter()
    plans = replenishment_run(facility_ids=facility_ids, end=end, period_days=period_days)
    elapsed = time.perf_counter() - start
    begin = end - dt.timedelta(days=period_days - 1)
    start = time.perf_counter()
    with raw_connection() as conn:
        rows = conn.execute(
            _CONSUMPTION,
            [
                dt.datetime.combine(begin, dt.time(), tzinfo=timezone.get_current_timezone()),
                dt.datetime.combine(
                    end + dt.timedelta(days=1), dt.time(), tzinfo=timezone.get_current_timezone()
                ),
            ],
        ).fetchall()
    baseline = time.perf_counter() - start
    return {
        "replenishment_run_s": metric(
            elapsed,
            "s",
            baseline,
            f"every key at every stocked facility: {len(plans)} plans at {len(facility_ids)} facilities over "
            f"the {period_days} days ending {end} (latest dispense; AMC adjusted by stock-out days "
            f"from end-of-day stock of every lot, prescribed demand, on hand, in transit, min/max, "
            f"suggested; {sum(1 for p in plans.values() if p.consumption)} with consumption); "
            f"baseline: one SQL aggregate of the same dispensing ({len(rows)} rows)",
        )
    }
