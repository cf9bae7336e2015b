"""`dispense_tx_per_s` and `dispense_oversell_count`: many pharmacists dispensing at once.

Two phases, each run twice — through the service layer (`prescribing.services.dispense_record`,
with its row locks, ledger, audit row and status updates) and as the raw-SQL baseline (one
conditional `UPDATE lot SET quantity = quantity - n WHERE id = %s AND quantity >= n` plus one ledger
`INSERT`, in one transaction, through psycopg):

1. throughput: `DISPENSERS` processes (each with its own database connection) dispense for a fixed
   time at `PHARMACIES` pharmacies (four dispensers share each pharmacy's stock, so they contend
   for the same lot rows as pharmacists at one counter do), each from its own pile of prescriptions;
2. stock-out race: the same number of processes at once against one pharmacy holding `RACE_STOCK`
   units, with ten times that demand.

Processes rather than threads: the service layer is Python, and threads would measure the GIL.
The baseline runs on copies of the stock tables (`CREATE TABLE … (LIKE … INCLUDING ALL)`: same
columns, indexes and CHECK constraints, no foreign keys or triggers), dropped afterwards, so that
the bench database keeps passing `bienestar verify`.

After both phases the ledger and the balances are reconciled against the dispense lines; every
unit handed out beyond the stock that was there, and every unit the books cannot account for, counts
as oversold.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import queue
import time
import traceback
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, connections, transaction
from django.utils import timezone

from bienestar.ops.bench.common import Metric, metric, percentile, raw_connection

DISPENSERS = 32
PHARMACIES = 8
UNITS = 2
RACE_STOCK = 60
RACE_UNITS = 5
RACE_ATTEMPTS = 4  # per dispenser: 32 x 4 x 5 = 640 units asked for 60 on the shelf
POOL_PER_SECOND = 25  # prescriptions prepared per dispenser per second of run (ample)


@dataclass
class Outcome:
    ok: int = 0
    refused: int = 0
    errors: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    last_done: float = 0.0
    exhausted: bool = False


@dataclass
class Phase:
    """One run of many dispensers: what each worker is given, and what they achieved."""

    seconds: float
    outcomes: list[Outcome] = field(default_factory=list)
    started: float = 0.0

    @property
    def ok(self) -> int:
        return sum(o.ok for o in self.outcomes)

    @property
    def refused(self) -> int:
        return sum(o.refused for o in self.outcomes)

    @property
    def errors(self) -> list[str]:
        return [e for o in self.outcomes for e in o.errors]

    @property
    def wall(self) -> float:
        ends = [o.last_done for o in self.outcomes if o.last_done]
        return max(ends) - self.started if ends else 0.0

    @property
    def rate(self) -> float:
        return self.ok / self.wall if self.wall > 0 else 0.0

    @property
    def latencies(self) -> list[float]:
        return [x for o in self.outcomes for x in o.latencies_ms]


# --- Set-up (parent process) --------------------------------------------------------------------


@dataclass
class Setup:
    medicine: str
    pharmacies: list[int]
    users: list[int]
    race_pharmacy: int
    race_user: int
    app_piles: list[list[int]]  # prescription ids per dispenser (throughput)
    race_piles: list[list[int]]
    prescription_ids: list[int]
    base_lots: list[int] = field(default_factory=list)
    base_race_lot: int = 0
    base_initial: dict[int, int] = field(default_factory=dict)


def _pharmacist(facility_id: int, n: int) -> int:
    from bienestar.access.models import User
    from bienestar.access.roles import Role
    from bienestar.territories.models import Territory

    user, _ = User.objects.update_or_create(
        username=f"bench-farmacia-{n}",
        defaults={
            "role": Role.PHARMACIST,
            "facility_id": facility_id,
            "territory": Territory.objects.get(path="MX"),
            "is_active": True,
        },
    )
    return user.pk


def _prescriptions(
    *, facility_id: int, user_id: int, medicine: str, units: int, count: int
) -> list[int]:
    """Bulk-written prescriptions of one line each (set-up only: the bench measures dispensing)."""
    from bienestar.prescribing import codes
    from bienestar.prescribing.models import Prescription, PrescriptionLine

    with connection.cursor() as cursor:
        # Who receives the medicine does not change the cost of dispensing it.
        cursor.execute("SELECT id FROM people_person ORDER BY id LIMIT 500")
        people = [r[0] for r in cursor.fetchall()]
    now = timezone.now()
    valid_until = timezone.localdate(now) + dt.timedelta(days=15)
    with transaction.atomic():
        rows = Prescription.objects.bulk_create(
            [
                Prescription(
                    code=codes.generate(),
                    person_id=people[i % len(people)],
                    facility_id=facility_id,
                    prescribed_by_id=user_id,
                    authored_at=now,
                    valid_until=valid_until,
                )
                for i in range(count)
            ],
            batch_size=2000,
        )
        PrescriptionLine.objects.bulk_create(
            [
                PrescriptionLine(
                    prescription_id=p.pk,
                    person_id=p.person_id,
                    facility_id=facility_id,
                    position=1,
                    medicine_id=medicine,
                    dose="1 tableta",
                    frequency="cada 24 horas",
                    duration_days=units,
                    quantity=units,
                )
                for p in rows
            ],
            batch_size=2000,
        )
    return [p.pk for p in rows]


def _receive(user_id: int, facility_id: int, medicine: str, units: int, tag: str) -> None:
    from bienestar.access.actor import Actor
    from bienestar.access.models import User
    from bienestar.facilities.models import Facility
    from bienestar.inventory.services import ReceiptLine, stock_receive

    actor = Actor(user=User.objects.get(pk=user_id), client_address="127.0.0.1", channel="bench")
    stock_receive(
        actor,
        facility=Facility.objects.get(pk=facility_id),
        lines=[
            ReceiptLine(
                medicine, f"BENCH-{tag}", timezone.localdate() + dt.timedelta(days=365), units
            )
        ],
    )


def prepare(seconds: float) -> Setup:
    from bienestar.facilities.models import Facility
    from bienestar.terminology.models import Medicine

    medicine = Medicine.objects.order_by("key").values_list("key", flat=True).first()
    if medicine is None:
        raise RuntimeError("the medicine catalogue is empty (load-reference did not run)")
    facilities = list(
        Facility.objects.filter(in_operation=True)
        .order_by("id")
        .values_list("id", flat=True)[: PHARMACIES + 1]
    )
    if len(facilities) < PHARMACIES + 1:
        raise RuntimeError("not enough facilities in the network for the dispensing bench")
    pharmacies, race_pharmacy = facilities[:PHARMACIES], facilities[PHARMACIES]
    users = [_pharmacist(f, i) for i, f in enumerate(pharmacies)]
    race_user = _pharmacist(race_pharmacy, PHARMACIES)
    tag = uuid.uuid4().hex[:8]
    pile = max(20, int(seconds * POOL_PER_SECOND))
    per_pharmacy = DISPENSERS // PHARMACIES
    app_piles: list[list[int]] = []
    for i in range(DISPENSERS):
        k = i % PHARMACIES
        app_piles.append(
            _prescriptions(
                facility_id=pharmacies[k],
                user_id=users[k],
                medicine=medicine,
                units=UNITS,
                count=pile,
            )
        )
    for k, facility_id in enumerate(pharmacies):
        _receive(users[k], facility_id, medicine, per_pharmacy * pile * UNITS, f"{tag}-{k}")
    race_piles = [
        _prescriptions(
            facility_id=race_pharmacy,
            user_id=race_user,
            medicine=medicine,
            units=RACE_UNITS,
            count=RACE_ATTEMPTS,
        )
        for _ in range(DISPENSERS)
    ]
    _receive(race_user, race_pharmacy, medicine, RACE_STOCK, f"{tag}-race")
    return Setup(
        medicine=medicine,
        pharmacies=pharmacies,
        users=users,
        race_pharmacy=race_pharmacy,
        race_user=race_user,
        app_piles=app_piles,
        race_piles=race_piles,
        prescription_ids=[pk for p in app_piles + race_piles for pk in p],
    )


BASE_LOT = "bench_baseline_lot"
BASE_LEDGER = "bench_baseline_movement"


BASE_STOCK = 1_000_000_000  # the baseline needs no prescriptions: only the lot must not run dry


def prepare_baseline(setup: Setup) -> None:
    """Copies of the stock tables for the raw baseline, one lot per pharmacy like the app run."""
    raw = raw_connection()
    try:
        raw.execute(f"DROP TABLE IF EXISTS {BASE_LEDGER}, {BASE_LOT}")
        raw.execute(f"CREATE TABLE {BASE_LOT} (LIKE inventory_lot INCLUDING ALL)")
        raw.execute(f"CREATE TABLE {BASE_LEDGER} (LIKE inventory_stockmovement INCLUDING ALL)")
        expiry = dt.date.today() + dt.timedelta(days=365)
        insert = (
            f"INSERT INTO {BASE_LOT} (public_id, created_at, updated_at, facility_id, medicine_id, "  # noqa: S608 - constant table name
            "lot_number, expiry, quantity) VALUES (%s, now(), now(), %s, %s, %s, %s, %s) RETURNING id"
        )
        for k, facility_id in enumerate(setup.pharmacies):
            row = raw.execute(
                insert,
                [uuid.uuid4(), facility_id, setup.medicine, f"B{k}", expiry, BASE_STOCK],
            ).fetchone()
            assert row is not None
            setup.base_lots.append(row[0])
            setup.base_initial[row[0]] = BASE_STOCK
        row = raw.execute(
            insert,
            [uuid.uuid4(), setup.race_pharmacy, setup.medicine, "BRACE", expiry, RACE_STOCK],
        ).fetchone()
        assert row is not None
        setup.base_race_lot = row[0]
        setup.base_initial[row[0]] = RACE_STOCK
    finally:
        raw.close()


def drop_baseline() -> None:
    raw = raw_connection()
    try:
        raw.execute(f"DROP TABLE IF EXISTS {BASE_LEDGER}, {BASE_LOT}")
    finally:
        raw.close()


# --- Workers (forked processes, one database connection each) ----------------------------------


def _app_worker(
    user_id: int,
    pharmacy_id: int,
    pile: list[int],
    seconds: float,
    barrier: Any,
    results: Any,
) -> None:
    out = Outcome()
    try:
        from bienestar.access.actor import Actor
        from bienestar.access.models import User
        from bienestar.facilities.models import Facility
        from bienestar.inventory.errors import InsufficientStock
        from bienestar.prescribing.models import Prescription
        from bienestar.prescribing.services import DispenseLineInput, dispense_record

        actor = Actor(
            user=User.objects.select_related("territory", "facility").get(pk=user_id),
            client_address="127.0.0.1",
            channel="bench",
        )
        pharmacy = Facility.objects.get(pk=pharmacy_id)
        barrier.wait(timeout=120)
        deadline = time.monotonic() + seconds
        for pk in pile:
            if time.monotonic() >= deadline:
                break
            start = time.perf_counter()
            # What an API call does before the service: read the prescription and its lines.
            prescription = Prescription.objects.get(pk=pk)
            lines = list(prescription.lines.all())
            try:
                dispense_record(
                    actor,
                    prescription=prescription,
                    pharmacy=pharmacy,
                    lines=[DispenseLineInput(line, line.remaining) for line in lines],
                )
            except InsufficientStock:
                out.refused += 1
            else:
                out.ok += 1
            out.latencies_ms.append((time.perf_counter() - start) * 1000)
            out.last_done = time.monotonic()
        else:
            out.exhausted = seconds < 1e6
    except BaseException:
        out.errors.append(traceback.format_exc(limit=3))
    finally:
        connection.close()
        results.put(out)


def _base_worker(
    lot_id: int,
    facility_id: int,
    medicine: str,
    units: int,
    attempts: int,
    seconds: float,
    barrier: Any,
    results: Any,
) -> None:
    out = Outcome()
    raw = None
    try:
        raw = raw_connection(autocommit=False)
        update = (
            f"UPDATE {BASE_LOT} SET quantity = quantity - %s, updated_at = now() "  # noqa: S608 - constant table name
            "WHERE id = %s AND quantity >= %s RETURNING quantity"
        )
        insert = (
            f"INSERT INTO {BASE_LEDGER} (public_id, lot_id, facility_id, medicine_id, kind, quantity, "  # noqa: S608 - constant table name
            "balance_after, reason, note, reference, operation, person_id, actor_id, "
            "actor_username, at) VALUES (%s, %s, %s, %s, 'dispense', %s, %s, '', '', %s, %s, 1, "
            "NULL, 'bench', now())"
        )
        barrier.wait(timeout=120)
        deadline = time.monotonic() + seconds
        done = 0
        while time.monotonic() < deadline and done < attempts:
            start = time.perf_counter()
            with raw.transaction():
                row = raw.execute(update, [units, lot_id, units]).fetchone()
                if row is None:
                    out.refused += 1
                else:
                    raw.execute(
                        insert,
                        [
                            uuid.uuid4(),
                            lot_id,
                            facility_id,
                            medicine,
                            -units,
                            row[0],
                            f"dispense-line:{uuid.uuid4()}",
                            uuid.uuid4(),
                        ],
                    )
                    out.ok += 1
            done += 1
            out.latencies_ms.append((time.perf_counter() - start) * 1000)
            out.last_done = time.monotonic()
    except BaseException:
        out.errors.append(traceback.format_exc(limit=3))
    finally:
        if raw is not None:
            raw.close()
        results.put(out)


def _run(targets: list[tuple[Any, tuple[Any, ...]]], seconds: float) -> Phase:
    """Fork one process per target, release them together, collect their outcomes."""
    connections.close_all()  # every child opens its own connection
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(len(targets) + 1)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=fn, args=(*args, barrier, results), daemon=True) for fn, args in targets
    ]
    for p in procs:
        p.start()
    phase = Phase(seconds=seconds)
    barrier.wait(timeout=180)
    phase.started = time.monotonic()
    for _ in procs:
        try:
            phase.outcomes.append(results.get(timeout=seconds + 300))
        except queue.Empty:
            phase.outcomes.append(Outcome(errors=["a dispenser did not report back"]))
    for p in procs:
        p.join(timeout=30)
    return phase


def run_app(setup: Setup, seconds: float) -> tuple[Phase, Phase]:
    throughput = _run(
        [
            (
                _app_worker,
                (
                    setup.users[i % PHARMACIES],
                    setup.pharmacies[i % PHARMACIES],
                    setup.app_piles[i],
                    seconds,
                ),
            )
            for i in range(DISPENSERS)
        ],
        seconds,
    )
    race = _run(
        [
            (_app_worker, (setup.race_user, setup.race_pharmacy, setup.race_piles[i], 1e6))
            for i in range(DISPENSERS)
        ],
        0,
    )
    return throughput, race


def run_baseline(setup: Setup, seconds: float) -> tuple[Phase, Phase]:
    throughput = _run(
        [
            (
                _base_worker,
                (
                    setup.base_lots[i % PHARMACIES],
                    setup.pharmacies[i % PHARMACIES],
                    setup.medicine,
                    UNITS,
                    10**9,  # attempts: bounded by time only
                    seconds,
                ),
            )
            for i in range(DISPENSERS)
        ],
        seconds,
    )
    race = _run(
        [
            (
                _base_worker,
                (
                    setup.base_race_lot,
                    setup.race_pharmacy,
                    setup.medicine,
                    RACE_UNITS,
                    RACE_ATTEMPTS,
                    1e6,
                ),
            )
            for _ in range(DISPENSERS)
        ],
        0,
    )
    return throughput, race


# --- Reconciliation -----------------------------------------------------------------------------


def _stock(facilities: list[int], medicine: str) -> dict[int, tuple[int, int]]:
    """(all units, units in lots not expired today) per facility."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT facility_id, coalesce(sum(quantity), 0),
                      coalesce(sum(quantity) FILTER (WHERE expiry >= current_date), 0)
               FROM inventory_lot WHERE facility_id = ANY(%s) AND medicine_id = %s
               GROUP BY facility_id""",
            [facilities, medicine],
        )
        found = {r[0]: (int(r[1]), int(r[2])) for r in cursor.fetchall()}
    return {f: found.get(f, (0, 0)) for f in facilities}


def oversold_units(
    setup: Setup, before: dict[int, tuple[int, int]], after: dict[int, tuple[int, int]]
) -> tuple[int, list[str]]:
    """Units handed out beyond the stock that was on the shelf, plus units the books cannot
    account for (dispense lines vs ledger vs balances), over this run's prescriptions."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT dl.pharmacy_id, coalesce(sum(dl.quantity), 0)
               FROM prescribing_dispenseline dl JOIN prescribing_dispense d ON d.id = dl.dispense_id
               WHERE d.prescription_id = ANY(%s) GROUP BY dl.pharmacy_id""",
            [setup.prescription_ids],
        )
        handed = {r[0]: int(r[1]) for r in cursor.fetchall()}
        cursor.execute(
            """SELECT m.facility_id, coalesce(-sum(m.quantity), 0)
               FROM inventory_stockmovement m
               JOIN prescribing_dispenseline dl ON m.reference = 'dispense-line:' || dl.public_id::text
               JOIN prescribing_dispense d ON d.id = dl.dispense_id
               WHERE m.kind = 'dispense' AND d.prescription_id = ANY(%s) GROUP BY m.facility_id""",
            [setup.prescription_ids],
        )
        ledger = {r[0]: int(r[1]) for r in cursor.fetchall()}
        cursor.execute(
            "SELECT count(*) FROM inventory_lot WHERE facility_id = ANY(%s) AND quantity < 0",
            [list(before)],
        )
        negative = cursor.fetchone()[0]  # type: ignore[index]
    units, problems = 0, []
    for facility, (total_before, usable_before) in before.items():
        out, moved = handed.get(facility, 0), ledger.get(facility, 0)
        beyond = max(0, out - usable_before)
        unaccounted = abs(out - moved) + abs(total_before - moved - after[facility][0])
        if beyond or unaccounted:
            problems.append(
                f"facility {facility}: {out} handed out, {usable_before} on the shelf, ledger "
                f"{moved}, balance {total_before} → {after[facility][0]}"
            )
        units += beyond + unaccounted
    if negative:
        problems.append(f"{negative} lots with a negative balance")
        units += negative
    return units, problems


def baseline_oversold_units(setup: Setup) -> int:
    """The same reconciliation for the baseline's copies: units out beyond the initial stock, plus
    units where initial - ledger ≠ balance."""
    raw = raw_connection()
    try:
        rows = raw.execute(
            f"""SELECT l.id, l.quantity, coalesce(-sum(m.quantity), 0)
                FROM {BASE_LOT} l LEFT JOIN {BASE_LEDGER} m ON m.lot_id = l.id GROUP BY l.id"""  # noqa: S608 - constant table names
        ).fetchall()
    finally:
        raw.close()
    units = 0
    for lot_id, balance, moved in rows:
        initial = setup.base_initial[lot_id]
        units += max(0, int(moved) - initial) + abs(initial - int(moved) - int(balance))
    return units


def dispensing(seconds: float) -> dict[str, Metric]:
    setup = prepare(seconds)
    touched = [*setup.pharmacies, setup.race_pharmacy]
    before = _stock(touched, setup.medicine)
    app, app_race = run_app(setup, seconds)
    after = _stock(touched, setup.medicine)
    oversold, problems = oversold_units(setup, before, after)
    prepare_baseline(setup)
    try:
        base, base_race = run_baseline(setup, seconds)
        base_oversold = baseline_oversold_units(setup)
    finally:
        drop_baseline()
    errors = app.errors + app_race.errors + base.errors + base_race.errors
    exhausted = sum(o.exhausted for o in app.outcomes)
    race_expected = min(DISPENSERS * RACE_ATTEMPTS, RACE_STOCK // RACE_UNITS)
    notes = (
        f"{DISPENSERS} dispenser processes (own DB connection each) at {PHARMACIES} pharmacies "
        f"({DISPENSERS // PHARMACIES} share each pharmacy's stock) for {seconds:g} s, one "
        f"{UNITS}-unit line per prescription, each call = read the prescription + "
        f"dispense_record (locks, FEFO ledger, audit); {app.ok} dispenses in {app.wall:.1f} s, "
        f"p50 {percentile(app.latencies, 50):.1f} ms, p95 {percentile(app.latencies, 95):.1f} ms"
        f"{f', {exhausted} dispensers ran out of prescriptions' if exhausted else ''}; "
        f"baseline: raw psycopg conditional UPDATE of the lot + ledger INSERT in one transaction, "
        f"same processes and stock layout: {base.ok} in {base.wall:.1f} s, "
        f"p50 {percentile(base.latencies, 50):.1f} ms"
    )
    oversell_notes = (
        f"units handed out beyond the stock on the shelf, plus units the books cannot account for "
        f"(dispense lines vs ledger vs balances), over the throughput run and a stock-out race "
        f"({DISPENSERS} dispensers x {RACE_ATTEMPTS} x {RACE_UNITS} units against {RACE_STOCK}: "
        f"{app_race.ok} served of {race_expected} possible, {app_race.refused} refused with "
        f"InsufficientStock); baseline: the same reconciliation of the raw-SQL run "
        f"({base_race.ok} served)"
    )
    if problems:
        oversell_notes += "; PROBLEMS: " + "; ".join(problems[:5])
    if errors:
        notes += f"; {len(errors)} UNEXPECTED ERRORS, first: {errors[0].strip().splitlines()[-1]}"
    return {
        "dispense_tx_per_s": metric(app.rate, "req/s", base.rate, notes),
        "dispense_oversell_count": metric(
            float(oversold), "count", float(base_oversold), oversell_notes
        ),
    }
