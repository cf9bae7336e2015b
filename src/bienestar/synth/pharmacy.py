"""Stock and dispensing at each health centre's pharmacy over the activity window.

Where: a health centre's pharmacy is the centre itself. The dispensing service and the pharmacist's
pages treat the pharmacist's own facility as the pharmacy (`prescribing.services.actor_pharmacy`),
the demo's `farmacia` works at the same centre as `medico`, and the synthetic network has no
separate pharmacy facilities; so prescriptions written at a centre are dispensed there, and its
lots and ledger belong to that facility.

Supply: each pharmacy has a supply reliability drawn from the seed. A share of them
(`PROGRAMME_SHARE`) already work like the pharmacies of the computer-in-every-pharmacy programme
(reliability 0.93-1.0); the others are supplied like before it (0.3-0.85). A delivery arrives every
month (on a day fixed per pharmacy, give or take two days). For each catalogue key the pharmacy asks
for what the coming month's prescriptions need plus a margin and the vouchers it owes, minus what
it holds; with probability `reliability` the key arrives in full (whole packages), otherwise at most
half of it, or nothing. The window opens with the stock already on the shelf (some of it expiring
inside the window: it is written off on the first of the month after it expires).

Dispensing: patients go to the pharmacy right after their visit (a few never do). Each line gets
what the shelf holds, first-expiring-first-out among lots not yet expired; the rest stays unfilled
"out of stock" as a pending balance. When the next delivery arrives within the prescription's
validity, most patients come back for it (a second time less often).

The ledger is built in the order things happen, one pharmacy after another, and written in that
order, so each lot's `balance_after` is the running sum of its ledger in id order.
"""

from __future__ import annotations

import bisect
import datetime as dt
import heapq
import math
import random
from dataclasses import dataclass, field
from itertools import count
from zoneinfo import ZoneInfo

from bienestar.prescribing.models import UnfilledReason, stock_reference
from bienestar.synth import regimens as rx
from bienestar.synth.activity import PlannedPrescription, fast_uuid

PROGRAMME_SHARE = 0.55
PROGRAMME_RELIABILITY = (0.93, 1.0)
LEGACY_RELIABILITY = (0.3, 0.85)
# Prescriptions of the last WAITING_DAYS not yet taken to the pharmacy, in this share.
WAITING_DAYS = 3
WAITING_SHARE = 0.6
NO_SHOW = 0.02
# Chance that a patient owed units comes back after the next delivery (first time, second time).
RETURN_SHARE = (0.8, 0.5)
OUT_OF_STOCK = str(UnfilledReason.OUT_OF_STOCK)
LOT_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"


@dataclass(slots=True)
class StockLot:
    index: int  # creation order in the run (ids are reserved in this order)
    public_id: str
    facility_id: int
    medicine: str
    lot_number: str
    expiry: dt.date
    received_at: dt.datetime
    quantity: int = 0


@dataclass(slots=True)
class PlannedDispense:
    index: int
    public_id: str
    prescription: int
    person_id: int
    pharmacy_id: int
    at: dt.datetime
    # (line index, quantity handed over, unfilled after it, reason, public id)
    lines: list[tuple[int, int, int, str, str]]


# (lot index, facility, medicine, kind, quantity, balance after, note, reference, operation, person,
#  at, public id)
MovementRow = tuple[int, int, str, str, int, int, str, str, str, int | None, dt.datetime, str]


@dataclass
class Stock:
    lots: list[StockLot] = field(default_factory=list)
    movements: list[MovementRow] = field(default_factory=list)  # in the order they happened
    dispenses: list[PlannedDispense] = field(default_factory=list)
    reliability: dict[int, float] = field(default_factory=dict)
    dispense_lines: int = 0


# A visit to the pharmacy: the prescription, and how many times the patient came before.
Visit = tuple[PlannedPrescription, int]


def _round_up(units: int, pack: int) -> int:
    return -(-units // pack) * pack


class Pharmacy:
    """One pharmacy's months, simulated event by event (see the module docstring)."""

    def __init__(
        self,
        *,
        facility_id: int,
        label: str,
        prescriptions: list[PlannedPrescription],
        start: dt.date,
        as_of: dt.date,
        seed: int | str,
        tz: ZoneInfo,
        stock: Stock,
        taken_lots: set[tuple[int, str, str]],
    ) -> None:
        self.facility_id = facility_id
        self.start, self.as_of, self.tz = start, as_of, tz
        self.stock = stock
        self.taken_lots = taken_lots
        self.rng_label = f"bienestar.synth/{seed}/pharmacy/{label}"
        self.rng = random.Random(self.rng_label)
        self.ids = random.Random(f"bienestar.synth/{seed}/pharmacy/{label}/ids")
        # A top-up's stream ("1/top-up/…") keeps the pharmacy's reliability of the first window.
        first = (
            self.rng
            if isinstance(seed, int)
            else random.Random(f"bienestar.synth/{str(seed).split('/')[0]}/pharmacy/{label}")
        )
        low, high = (
            PROGRAMME_RELIABILITY if first.random() < PROGRAMME_SHARE else LEGACY_RELIABILITY
        )
        self.reliability = first.uniform(low, high)
        stock.reliability[facility_id] = self.reliability
        self.prescriptions = sorted(prescriptions, key=lambda p: (p.authored_at, p.index))
        self.keys = sorted({line.medicine for p in self.prescriptions for line in p.lines})
        self.lots: dict[str, list[StockLot]] = {key: [] for key in self.keys}
        self.pending: dict[str, int] = dict.fromkeys(self.keys, 0)
        self._demand_index()
        self._schedule()

    # --- set-up -----------------------------------------------------------------------------------

    def _demand_index(self) -> None:
        """Per key, prescription times and cumulative units, to sum any period's demand quickly."""
        self.demand: dict[str, tuple[list[dt.datetime], list[int]]] = {
            key: ([], [0]) for key in self.keys
        }
        for p in self.prescriptions:
            for line in p.lines:
                times, cumulative = self.demand[line.medicine]
                times.append(p.authored_at)
                cumulative.append(cumulative[-1] + line.quantity)

    def _demand_between(self, key: str, since: dt.datetime, until: dt.datetime) -> int:
        times, cumulative = self.demand[key]
        return (
            cumulative[bisect.bisect_left(times, until)]
            - cumulative[bisect.bisect_left(times, since)]
        )

    def _at(self, day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
        return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=self.tz)

    def _schedule(self) -> None:
        rng = self.rng
        self.events: list[tuple[dt.datetime, int, str, Visit | None]] = []
        self.seq = count()
        delivery_day = rng.randint(3, 10)
        self.deliveries: list[dt.datetime] = []
        first = dt.date(self.start.year, self.start.month, 1)
        while first <= self.as_of:
            day = first + dt.timedelta(days=delivery_day - 1 + rng.randint(-2, 2))
            if self.start < day <= self.as_of:
                self.deliveries.append(self._at(day, 7, 30))
                self._push(self._at(first, 6, 30), "write_off", None)
            first = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
        self._push(self._at(self.start, 7), "opening", None)
        for at in self.deliveries:
            self._push(at, "delivery", None)
        waiting = random.Random(f"{self.rng_label}/waiting")
        last_days = self.as_of - dt.timedelta(days=WAITING_DAYS - 1)
        for p in self.prescriptions:
            if rng.random() < NO_SHOW:
                continue
            # The network's last days are still running: some patients have not come yet, so the
            # pharmacy has a queue when the demo opens.
            if p.authored_at.date() >= last_days and waiting.random() < WAITING_SHARE:
                continue
            self._push(p.authored_at + dt.timedelta(minutes=rng.randint(3, 40)), "dispense", (p, 0))

    def _push(self, at: dt.datetime, kind: str, payload: Visit | None) -> None:
        heapq.heappush(self.events, (at, next(self.seq), kind, payload))

    # --- the simulation ---------------------------------------------------------------------------

    def run(self) -> None:
        end = self._at(self.as_of + dt.timedelta(days=1), 7, 30)
        while self.events:
            at, _seq, kind, payload = heapq.heappop(self.events)
            if kind == "opening" or kind == "delivery":
                i = bisect.bisect_right(self.deliveries, at)
                until = self.deliveries[i] if i < len(self.deliveries) else end
                self._deliver(at, until, opening=kind == "opening")
            elif kind == "write_off":
                self._write_off(at)
            elif payload is not None:
                prescription, attempt = payload
                if attempt:
                    for line in prescription.lines:
                        self.pending[line.medicine] -= line.remaining
                self._dispense(prescription, at, attempt)

    def _usable(self, key: str, day: dt.date) -> int:
        return sum(lot.quantity for lot in self.lots[key] if lot.expiry >= day)

    def _move(
        self,
        lot: StockLot,
        kind: str,
        quantity: int,
        *,
        at: dt.datetime,
        operation: str,
        reference: str = "",
        note: str = "",
        person_id: int | None = None,
    ) -> None:
        lot.quantity += quantity
        self.stock.movements.append(
            (
                lot.index,
                self.facility_id,
                lot.medicine,
                kind,
                quantity,
                lot.quantity,
                note,
                reference,
                operation,
                person_id,
                at,
                fast_uuid(self.ids),
            )
        )

    def _new_lot(self, key: str, at: dt.datetime, expiry: dt.date) -> StockLot:
        rng = self.rng
        day = at.date()
        while True:
            number = f"{rng.choice(LOT_LETTERS)}{rng.choice(LOT_LETTERS)}{day:%y%m}{rng.randrange(1000):03d}"
            if (self.facility_id, key, number) not in self.taken_lots:
                self.taken_lots.add((self.facility_id, key, number))
                break
        lot = StockLot(
            index=len(self.stock.lots),
            public_id=fast_uuid(self.ids),
            facility_id=self.facility_id,
            medicine=key,
            lot_number=number,
            expiry=expiry,
            received_at=at,
        )
        self.stock.lots.append(lot)
        bisect.insort(self.lots[key], lot, key=lambda x: (x.expiry, x.index))
        return lot

    def _deliver(self, at: dt.datetime, until: dt.datetime, *, opening: bool) -> None:
        rng = self.rng
        day = at.date()
        operation = fast_uuid(self.ids)
        for key in self.keys:
            # Draw the same numbers for every key, whatever happens, so one key's outcome does
            # not shift the others'.
            arrives_whole = rng.random() < self.reliability
            short_share = rng.uniform(0, 0.5)
            margin = rng.uniform(1.1, 1.35)
            shelf = rng.uniform(0.6, 1.4)
            life = rng.randint(30, 540) if opening else rng.randint(240, 720)
            period = self._demand_between(key, at, until)
            if opening:
                target = math.ceil(period * shelf)
            else:
                target = math.ceil(period * margin) + self.pending[key]
            order = max(0, target - self._usable(key, day))
            pack = rx.PACK.get(key, 1)
            units = (
                _round_up(order, pack) if arrives_whole else int(order * short_share) // pack * pack
            )
            if units <= 0:
                continue
            lot = self._new_lot(key, at, day + dt.timedelta(days=life))
            self._move(
                lot,
                "receipt",
                units,
                at=at,
                operation=operation,
                reference="saldo-inicial" if opening else f"entrega-{day:%Y-%m}",
                note="Existencia al inicio del periodo" if opening else "Entrega mensual",
            )

    def _write_off(self, at: dt.datetime) -> None:
        day = at.date()
        operation = fast_uuid(self.ids)
        for key in self.keys:
            for lot in self.lots[key]:
                if lot.quantity > 0 and lot.expiry < day:
                    self._move(
                        lot,
                        "expiry_write_off",
                        -lot.quantity,
                        at=at,
                        operation=operation,
                        note="Lote caducado",
                    )

    def _take(
        self, key: str, wanted: int, at: dt.datetime, reference: str, person_id: int, operation: str
    ) -> int:
        """Units handed over for one dispense line, first-expiring-first-out."""
        day = at.date()
        given = 0
        for lot in self.lots.get(key, ()):
            if given == wanted:
                break
            if lot.quantity == 0 or lot.expiry < day:
                continue
            n = min(wanted - given, lot.quantity)
            self._move(
                lot,
                "dispense",
                -n,
                at=at,
                operation=operation,
                reference=reference,
                person_id=person_id,
            )
            given += n
        return given

    def _dispense(self, p: PlannedPrescription, at: dt.datetime, attempt: int) -> None:
        operation = fast_uuid(self.ids)
        rows: list[tuple[int, int, int, str, str]] = []
        for line in p.lines:
            wanted = line.remaining
            if wanted == 0:
                continue
            public_id = fast_uuid(self.ids)
            given = self._take(
                line.medicine, wanted, at, stock_reference(public_id), p.person_id, operation
            )
            if given:
                line.dispensed += given
                if line.remaining == 0:
                    line.fully_at = at
            unfilled = wanted - given
            rows.append((line.index, given, unfilled, OUT_OF_STOCK if unfilled else "", public_id))
        if not rows:
            return
        self.stock.dispenses.append(
            PlannedDispense(
                index=len(self.stock.dispenses),
                public_id=fast_uuid(self.ids),
                prescription=p.index,
                person_id=p.person_id,
                pharmacy_id=self.facility_id,
                at=at,
                lines=rows,
            )
        )
        self.stock.dispense_lines += len(rows)
        if any(line.remaining for line in p.lines) and attempt < len(RETURN_SHARE):
            self._schedule_return(p, at, attempt)

    def _schedule_return(self, p: PlannedPrescription, at: dt.datetime, attempt: int) -> None:
        rng = self.rng
        comes_back = rng.random() < RETURN_SHARE[attempt]
        delay, minute = rng.randint(0, 3), rng.randrange(540)
        i = bisect.bisect_right(self.deliveries, at)
        if i >= len(self.deliveries) or not comes_back:
            return
        arrival = self.deliveries[i].date()
        if arrival > p.valid_until:
            return
        day = min(arrival + dt.timedelta(days=delay), p.valid_until, self.as_of)
        for line in p.lines:
            self.pending[line.medicine] += line.remaining
        self._push(self._at(day, 9 + minute // 60, minute % 60), "dispense", (p, attempt + 1))


def simulate(
    *,
    prescriptions: list[PlannedPrescription],
    facilities: list[tuple[int, str]],
    start: dt.date,
    as_of: dt.date,
    seed: int | str,
    tz: ZoneInfo,
    taken_lots: set[tuple[int, str, str]],
) -> Stock:
    """Every pharmacy's stock and dispensing; `facilities` are (id, stable label) in a stable order.
    Mutates the prescriptions' lines (units dispensed, when completed)."""
    stock = Stock()
    by_facility: dict[int, list[PlannedPrescription]] = {}
    for p in prescriptions:
        by_facility.setdefault(p.facility_id, []).append(p)
    for facility_id, label in facilities:
        mine = by_facility.get(facility_id)
        if not mine:
            continue
        Pharmacy(
            facility_id=facility_id,
            label=label,
            prescriptions=mine,
            start=start,
            as_of=as_of,
            seed=seed,
            tz=tz,
            stock=stock,
            taken_lots=taken_lots,
        ).run()
    return stock
