"""Booking never double-books, holds expire, states move only along their transitions, the no-show
job is idempotent and its undo is audited, walk-ins take free slots, and each unit's evening slot is
booked at its local time."""

from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone

from bienestar.access.models import AuditEvent
from bienestar.access.tests.factories import actor_for
from bienestar.core.errors import Conflict, ValidationFailed
from bienestar.people.tests.factories import PersonFactory
from bienestar.scheduling import selectors, services
from bienestar.scheduling.models import Appointment, AppointmentChange, AppointmentStatus, Service
from bienestar.scheduling.tests.factories import unit

S = AppointmentStatus


def _tomorrow(zone: str) -> dt.date:
    return timezone.now().astimezone(ZoneInfo(zone)).date() + dt.timedelta(days=1)


def _free(u, day):  # type: ignore[no-untyped-def]
    return selectors.slots_search(
        actor_for(u.clinician),
        selectors.SlotSearch(facility=u.facility, first_day=day, last_day=day),
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("code", "name", "zone"),
    [("23", "Quintana Roo", "America/Cancun"), ("02", "Baja California", "America/Tijuana")],
)
def test_a_1930_local_slot_is_found_and_booked_at_1930_local(code, name, zone):
    u = unit(code, name)
    person = PersonFactory(territory=u.territory)
    day = _tomorrow(zone)
    found = _free(u, day)
    assert str(found.zone) == zone
    evening = [
        s for s in found.slots if s.start.astimezone(found.zone).strftime("%H:%M") == "19:30"
    ]
    assert len(evening) == 1
    booked = services.appointment_book(
        actor_for(u.clinician), person=person.public_id, slot=evening[0].slot_id
    )
    assert booked.local_start.strftime("%H:%M") == "19:30"
    assert booked.local_start.date() == day
    again = _free(u, day)
    assert evening[0].slot_id not in {s.slot_id for s in again.slots}
    listed = selectors.day_list(actor_for(u.clinician), facility=u.facility, day=day)
    assert [r.appointment.pk for r in listed] == [booked.pk]


@pytest.mark.django_db
def test_a_full_slot_is_refused_and_nothing_is_written():
    u = unit()
    a, b = PersonFactory(territory=u.territory), PersonFactory(territory=u.territory)
    slot = _free(u, _tomorrow("America/Mexico_City")).slots[0]
    services.appointment_book(actor_for(u.clinician), person=a.public_id, slot=slot.slot_id)
    before = (Appointment.objects.count(), AuditEvent.objects.count())
    with pytest.raises(Conflict):
        services.appointment_book(actor_for(u.clinician), person=b.public_id, slot=slot.slot_id)
    assert (Appointment.objects.count(), AuditEvent.objects.count()) == before


@pytest.mark.django_db
def test_a_group_slot_takes_as_many_people_as_its_capacity():
    u = unit(capacity=3)
    slot = _free(u, _tomorrow("America/Mexico_City")).slots[0]
    people = [PersonFactory(territory=u.territory) for _ in range(4)]
    for p in people[:3]:
        services.appointment_book(actor_for(u.clinician), person=p.public_id, slot=slot.slot_id)
    assert sorted(Appointment.objects.values_list("seat", flat=True)) == [0, 1, 2]
    with pytest.raises(Conflict):
        services.appointment_book(
            actor_for(u.clinician), person=people[3].public_id, slot=slot.slot_id
        )


@pytest.mark.django_db
def test_a_hold_keeps_the_seat_until_it_expires():
    u = unit()
    a, b = PersonFactory(territory=u.territory), PersonFactory(territory=u.territory)
    slot = _free(u, _tomorrow("America/Mexico_City")).slots[0]
    hold = services.appointment_hold(actor_for(u.clinician), slot=slot.slot_id)
    other = unit("13", "Hidalgo", username="otro")  # another clerk cannot take the held seat
    assert slot.slot_id not in {s.slot_id for s in _free(u, slot.start.date()).slots}
    with pytest.raises(Conflict):
        services.appointment_book(actor_for(u.clinician), person=b.public_id, slot=slot.slot_id)
    Appointment.objects.filter(pk=hold.pk).update(
        hold_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    booked = services.appointment_book(
        actor_for(u.clinician), person=b.public_id, slot=slot.slot_id
    )
    assert booked.seat == 0
    assert Appointment.objects.get(pk=hold.pk).status == S.CANCELLED
    assert other.facility.pk != u.facility.pk
    # a live hold becomes the booking
    slot2 = _free(u, _tomorrow("America/Mexico_City")).slots[0]
    hold2 = services.appointment_hold(actor_for(u.clinician), slot=slot2.slot_id)
    done = services.appointment_book(
        actor_for(u.clinician), person=a.public_id, hold=hold2.public_id
    )
    assert done.pk == hold2.pk and done.status == S.BOOKED and done.hold_expires_at is None


@pytest.mark.django_db
def test_slots_outside_the_agenda_or_in_the_past_are_refused():
    u = unit(windows=((0, dt.time(8), dt.time(9)),))
    person = PersonFactory(territory=u.territory)
    from bienestar.scheduling.slots import slot_id

    not_offered = slot_id(u.schedule.public_id, dt.datetime(2030, 1, 1, 3, 0, tzinfo=dt.UTC))
    past = slot_id(u.schedule.public_id, dt.datetime(2020, 1, 6, 14, 0, tzinfo=dt.UTC))  # Mon 08:00
    for bad in [not_offered, past, "basura"]:
        with pytest.raises(ValidationFailed):
            services.appointment_book(actor_for(u.clinician), person=person.public_id, slot=bad)
    assert Appointment.objects.count() == 0


@pytest.mark.django_db
def test_states_move_only_along_transitions_and_every_change_is_kept():
    u = unit()
    person = PersonFactory(territory=u.territory)
    actor = actor_for(u.clinician)
    slot = _free(u, _tomorrow("America/Mexico_City")).slots[0]
    a = services.appointment_book(actor, person=person.public_id, slot=slot.slot_id)
    with pytest.raises(Conflict):
        services.appointment_transition(actor, appointment=a.public_id, to=S.FULFILLED)
    with pytest.raises(Conflict):  # a stale screen
        services.appointment_transition(
            actor, appointment=a.public_id, to=S.ARRIVED, expected_status=S.ARRIVED
        )
    for to in [S.ARRIVED, S.IN_CONSULTATION, S.FULFILLED]:
        services.appointment_transition(actor, appointment=a.public_id, to=to)
    a.refresh_from_db()
    assert a.arrived_at and a.seen_at and a.finished_at
    assert list(
        AppointmentChange.objects.filter(appointment=a).values_list("to_status", flat=True)
    ) == [
        S.BOOKED,
        S.ARRIVED,
        S.IN_CONSULTATION,
        S.FULFILLED,
    ]
    with pytest.raises(ValidationFailed):  # an error needs its reason
        services.appointment_transition(actor, appointment=a.public_id, to=S.ENTERED_IN_ERROR)


@pytest.mark.django_db
def test_the_no_show_job_runs_once_in_effect_and_its_undo_is_audited():
    u = unit()
    person = PersonFactory(territory=u.territory)
    actor = actor_for(u.clinician)
    slot = _free(u, _tomorrow("America/Mexico_City")).slots[0]
    a = services.appointment_book(actor, person=person.public_id, slot=slot.slot_id)
    assert services.no_shows_mark(as_of=slot.start) == 0  # not over yet
    after = slot.end + dt.timedelta(minutes=1)
    assert services.no_shows_mark(as_of=after) == 1
    assert services.no_shows_mark(as_of=after) == 0
    a.refresh_from_db()
    assert a.status == S.NO_SHOW
    with pytest.raises(ValidationFailed):
        services.no_show_undo(actor, appointment=a.public_id, reason=" ")
    services.no_show_undo(actor, appointment=a.public_id, reason="Llegó tarde y fue atendida")
    a.refresh_from_db()
    assert a.status == S.BOOKED
    last = AuditEvent.objects.filter(resource_type="Appointment").order_by("-id").first()
    assert last is not None and last.query == {"status": [S.NO_SHOW, S.BOOKED], "undo": True}
    assert last.actor_username == u.clinician.username


@pytest.mark.django_db
def test_a_walk_in_takes_the_first_free_slot_and_waits_in_triage_order():
    u = unit(windows=tuple((d, dt.time(0, 0), dt.time(23, 59)) for d in range(7)), minutes=60)
    actor = actor_for(u.clinician)
    first, second = PersonFactory(territory=u.territory), PersonFactory(territory=u.territory)
    green = services.walk_in_register(
        actor, person=first.public_id, service=u.service.public_id, triage=4
    )
    orange = services.walk_in_register(
        actor, person=second.public_id, service=u.service.public_id, triage=2
    )
    assert green.status == S.ARRIVED and green.origin == "walk_in"
    rows = selectors.day_list(actor, facility=u.facility, day=green.local_start.date())
    waiting = [r.appointment.pk for r in rows if r.appointment.status == S.ARRIVED]
    if orange.local_start.date() == green.local_start.date():
        assert waiting == [orange.pk, green.pk]  # the more urgent first, whatever the arrival
    assert all(r.waiting_minutes is not None for r in rows if r.appointment.status == S.ARRIVED)
    other = Service.objects.create(facility=u.facility, name="Sin agenda")
    with pytest.raises(Conflict):
        services.walk_in_register(actor, person=first.public_id, service=other.public_id, triage=3)


@pytest.mark.django_db(transaction=True)
def test_thirty_clients_racing_for_the_last_slot_book_it_exactly_once():
    u = unit()
    people = [PersonFactory(territory=u.territory) for _ in range(30)]
    slot = _free(u, _tomorrow("America/Mexico_City")).slots[0]
    barrier = threading.Barrier(30)
    outcomes: list[str] = []
    lock = threading.Lock()

    def book(person_id):  # type: ignore[no-untyped-def]
        try:
            barrier.wait()
            services.appointment_book(actor_for(u.clinician), person=person_id, slot=slot.slot_id)
            result = "ok"
        except Conflict:
            result = "conflict"
        except Exception as exc:
            result = f"error: {exc!r}"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=book, args=(p.public_id,)) for p in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict"] * 29 + ["ok"]
    assert Appointment.objects.filter(start=slot.start).count() == 1
    assert AuditEvent.objects.filter(resource_type="Appointment", action="create").count() == 1


@pytest.mark.django_db
def test_wait_figures_count_the_minutes_from_arrival_to_being_seen():
    from bienestar.scheduling import metrics

    u = unit()
    actor = actor_for(u.clinician)
    day = _tomorrow("America/Mexico_City")
    found = _free(u, day).slots
    people = [PersonFactory(territory=u.territory) for _ in range(4)]
    waits = [10, 20, 30, 90]
    for person, slot, wait in zip(people, found, waits, strict=False):
        a = services.appointment_book(actor, person=person.public_id, slot=slot.slot_id)
        Appointment.objects.filter(pk=a.pk).update(
            status=S.FULFILLED,
            arrived_at=slot.start,
            seen_at=slot.start + dt.timedelta(minutes=wait),
        )
    no_show = services.appointment_book(actor, person=people[0].public_id, slot=found[5].slot_id)
    Appointment.objects.filter(pk=no_show.pk).update(status=S.NO_SHOW)
    f = metrics.wait_figures(actor, facility=u.facility, first_day=day, last_day=day)
    assert f.seen == 4
    assert f.mean_minutes == 37.5 and f.median_minutes == 25.0 and f.p90_minutes == 90.0
    assert f.within_standard == 0.75  # the standard is 30 minutes
    assert f.no_show_rate == 0.2
    assert f.utilisation == 5 / 26  # 08:00-21:00 in 30-minute slots
