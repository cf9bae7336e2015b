"""`slot_search_p95_ms` and `booking_per_s`: a unit with 20 practitioners over 8 weeks.

Set-up (removed afterwards): a bench unit in the network's first state with one 20-minute service
and 20 agendas, Monday to Friday 08:00-16:00, and a third of the next eight weeks' slots booked.

- `slot_search_p95_ms`: `scheduling.selectors.slots_search` for the whole unit over 8 weeks (about
  9,600 slots computed in the unit's time zone, less what is booked), as the unit's clinician;
  baseline: the one SQL statement of that search that reads the booked seats, in raw psycopg.
- `booking_per_s`: `BOOKERS` threads book random free slots of the next 8 weeks for `seconds`
  through `scheduling.services.appointment_book` (scope, person check, partial unique index, history,
  audit); several threads often race for one slot (the refusals are counted in the notes).
  Baseline: the same number of threads inserting appointment rows with `INSERT … ON CONFLICT DO
  NOTHING` against the same unique index, raw psycopg, on the same slot space.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
import uuid
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from bienestar.ops.bench.common import Metric, metric, percentile, raw_connection, timed_ms

PRACTITIONERS = 20
WEEKS = 8
BOOKERS = 4
MARK = "bench-scheduling"


def _setup() -> dict[str, Any]:
    from bienestar.access.models import User
    from bienestar.access.roles import Role
    from bienestar.facilities.models import Facility, FacilityType, Institution
    from bienestar.people.models import Person
    from bienestar.scheduling.models import AvailabilityRule, Schedule, Service
    from bienestar.territories.models import Territory, TerritoryKind
    from bienestar.workforce.models import Practitioner

    state = (
        Territory.objects.filter(kind=TerritoryKind.STATE, path__startswith="MX.")
        .order_by("path")
        .first()
    )
    if state is None:
        raise RuntimeError("no state in the bench network")
    with transaction.atomic():
        unit = Facility.objects.create(
            name="Unidad de prueba de agenda",
            institution=Institution.IMSS_BIENESTAR,
            facility_type=FacilityType.HEALTH_CENTRE,
            territory=state,
            source=MARK,
        )
        service = Service.objects.create(facility=unit, name="Consulta", slot_minutes=20)
        user, _ = User.objects.update_or_create(
            username=MARK,
            defaults={
                "role": Role.CLINICIAN,
                "territory": state,
                "facility": unit,
                "is_active": True,
            },
        )
        today = timezone.localdate()
        for i in range(PRACTITIONERS):
            practitioner = Practitioner.objects.create(
                given_names="Bench",
                first_surname=f"P{i}",
                licence_number=f"BENCH{uuid.uuid4().hex[:12]}",
            )
            schedule = Schedule.objects.create(
                service=service, facility=unit, practitioner=practitioner, valid_from=today
            )
            AvailabilityRule.objects.bulk_create(
                AvailabilityRule(
                    schedule=schedule, weekday=d, start_time=dt.time(8), end_time=dt.time(16)
                )
                for d in range(5)
            )
        people = list(
            Person.objects.filter(
                territory__path__startswith=state.path + ".", status="active"
            ).values_list("public_id", flat=True)[:2000]
        )
    return {"unit": unit, "user": user, "people": people, "first": today + dt.timedelta(days=1)}


def _teardown(ctx: dict[str, Any]) -> None:
    from bienestar.access.models import User
    from bienestar.scheduling.models import Appointment, Schedule, Service
    from bienestar.workforce.models import Practitioner

    unit = ctx["unit"]
    with transaction.atomic():
        Appointment.objects.filter(facility=unit).delete()
        schedules = Schedule.objects.filter(facility=unit)
        practitioners = list(schedules.values_list("practitioner_id", flat=True))
        schedules.delete()
        Service.objects.filter(facility=unit).delete()
        User.objects.filter(username=MARK).update(facility=None, is_active=False)
        Practitioner.objects.filter(pk__in=practitioners).delete()
        unit.delete()


def _slots(ctx: dict[str, Any]) -> list[Any]:
    from bienestar.access.actor import Actor
    from bienestar.scheduling import selectors

    actor = Actor(user=ctx["user"], channel="bench")
    first = ctx["first"]
    return selectors.slots_search(
        actor,
        selectors.SlotSearch(
            facility=ctx["unit"],
            first_day=first,
            last_day=first + dt.timedelta(weeks=WEEKS) - dt.timedelta(days=1),
        ),
    ).slots


def _prebook(ctx: dict[str, Any], slots: list[Any], share: float, rng: random.Random) -> None:
    from bienestar.people.models import Person
    from bienestar.scheduling.models import Appointment, Schedule

    schedules = {s.public_id: s for s in Schedule.objects.filter(facility=ctx["unit"])}
    ids = list(
        Person.objects.filter(public_id__in=ctx["people"][:500]).values_list("id", flat=True)
    )
    rows = [
        Appointment(
            schedule=schedules[s.schedule],
            facility=ctx["unit"],
            person_id=rng.choice(ids),
            start=s.start,
            end=s.end,
            status="booked",
            booked_by=MARK,
        )
        for s in slots
        if rng.random() < share
    ]
    Appointment.objects.bulk_create(rows, batch_size=2000)


def _race(worker: Any, seconds: float) -> tuple[int, int, list[str]]:
    ok = refused = 0
    errors: list[str] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def run(index: int) -> None:
        nonlocal ok, refused
        rng = random.Random(index)
        state = worker.start(index)
        try:
            while time.perf_counter() < stop:
                try:
                    booked = worker.book(state, rng)
                except Exception as exc:
                    with lock:
                        errors.append(repr(exc)[:200])
                    continue
                with lock:
                    if booked:
                        ok += 1
                    else:
                        refused += 1
        finally:
            worker.stop(state)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(BOOKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return ok, refused, errors


class _ServiceWorker:
    def __init__(self, ctx: dict[str, Any], slots: list[Any]) -> None:
        self.ctx, self.slots = ctx, slots

    def start(self, index: int) -> Any:
        from bienestar.access.actor import Actor

        return Actor(user=self.ctx["user"], channel="bench")

    def book(self, actor: Any, rng: random.Random) -> bool:
        from bienestar.core.errors import Conflict
        from bienestar.scheduling import services

        slot = rng.choice(self.slots)
        try:
            services.appointment_book(
                actor, person=rng.choice(self.ctx["people"]), slot=slot.slot_id
            )
        except Conflict:
            return False
        return True

    def stop(self, actor: Any) -> None:
        connection.close()


class _RawWorker:
    SQL = (
        "INSERT INTO scheduling_appointment (public_id, created_at, updated_at, schedule_id, "
        'facility_id, person_id, start, "end", seat, status, origin, reason, virtual_room, booked_by) '
        "VALUES (gen_random_uuid(), now(), now(), %s, %s, %s, %s, %s, 0, 'booked', 'booked', '', '', %s) "
        "ON CONFLICT DO NOTHING"
    )

    def __init__(
        self,
        ctx: dict[str, Any],
        slots: list[Any],
        schedule_ids: dict[Any, int],
        person_ids: list[int],
    ) -> None:
        self.ctx, self.slots, self.schedule_ids, self.person_ids = (
            ctx,
            slots,
            schedule_ids,
            person_ids,
        )

    def start(self, index: int) -> Any:
        return raw_connection()

    def book(self, conn: Any, rng: random.Random) -> bool:
        slot = rng.choice(self.slots)
        cur = conn.execute(
            self.SQL,
            [
                self.schedule_ids[slot.schedule],
                self.ctx["unit"].pk,
                rng.choice(self.person_ids),
                slot.start,
                slot.end,
                MARK,
            ],
        )
        return bool(cur.rowcount)

    def stop(self, conn: Any) -> None:
        conn.close()


def scheduling_metrics(samples: int, seconds: float) -> dict[str, Metric]:
    from bienestar.people.models import Person
    from bienestar.scheduling.models import Appointment, Schedule

    rng = random.Random(1)
    ctx = _setup()
    try:
        slots = _slots(ctx)
        _prebook(ctx, slots, 1 / 3, rng)
        found = len(_slots(ctx))
        times = timed_ms(lambda: _slots(ctx), samples)
        schedule_pks = list(
            Schedule.objects.filter(facility=ctx["unit"]).values_list("pk", flat=True)
        )
        first = slots[0].start
        last = slots[-1].start
        with raw_connection() as conn:
            raw = timed_ms(
                lambda: conn.execute(
                    "SELECT s.public_id, a.start, a.status, a.hold_expires_at FROM scheduling_appointment a "
                    "JOIN scheduling_schedule s ON s.id = a.schedule_id WHERE a.schedule_id = ANY(%s) "
                    "AND a.start BETWEEN %s AND %s AND a.status IN ('proposed','booked','arrived',"
                    "'in_consultation','fulfilled','noshow')",
                    [schedule_pks, first, last],
                ).fetchall(),
                samples,
            )
        out: dict[str, Metric] = {
            "slot_search_p95_ms": metric(
                percentile(times, 95),
                "ms",
                percentile(raw, 95),
                f"slots_search over {WEEKS} weeks for a unit with {PRACTITIONERS} agendas "
                f"(Mon-Fri 08-16, 20 min; a third booked; {found} free slots returned), {samples} "
                "samples; baseline: its booked-seats SQL statement in raw psycopg",
            ),
        }
        free = [s for s in _slots(ctx)]
        booked_before = Appointment.objects.filter(facility=ctx["unit"]).count()
        ok, refused, errors = _race(_ServiceWorker(ctx, free), seconds)
        service_rate = ok / seconds
        Appointment.objects.filter(facility=ctx["unit"]).exclude(booked_by=MARK).delete()
        schedule_ids = dict(
            Schedule.objects.filter(facility=ctx["unit"]).values_list("public_id", "pk")
        )
        person_ids = list(
            Person.objects.filter(public_id__in=ctx["people"][:500]).values_list("id", flat=True)
        )
        raw_ok, raw_refused, raw_errors = _race(
            _RawWorker(ctx, free, schedule_ids, person_ids), seconds
        )
        out["booking_per_s"] = metric(
            service_rate,
            "req/s",
            raw_ok / seconds,
            f"{BOOKERS} threads for {seconds:g} s booking random free slots of the unit's next "
            f"{WEEKS} weeks ({len(free)} slots, {booked_before} already booked) through "
            f"appointment_book: {ok} booked, {refused} refused as taken, {len(errors)} errors; "
            f"baseline: INSERT ... ON CONFLICT DO NOTHING on the same unique index, {raw_ok} inserted, "
            f"{raw_refused} conflicts, {len(raw_errors)} errors",
        )
        return out
    finally:
        _teardown(ctx)
