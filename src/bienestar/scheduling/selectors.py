"""Reads of agendas and appointments, scoped to the caller and audited where they disclose a person."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import QuerySet
from django.utils import timezone

from bienestar.access.actor import Actor
from bienestar.access.audit import audit_record
from bienestar.access.errors import OutOfScope
from bienestar.access.models import AuditAction
from bienestar.access.roles import Permission
from bienestar.clinical.scope import visible_person
from bienestar.facilities.models import Facility
from bienestar.scheduling import slots as slots_mod
from bienestar.scheduling.models import (
    OCCUPYING,
    Appointment,
    AppointmentStatus,
    Schedule,
    ScheduleException,
    Service,
)
from bienestar.scheduling.scope import _uuid, facilities_in_scope, facility_visible, key_or_404
from bienestar.scheduling.timezones import facility_zone

MAX_DAYS = 92  # a search spans at most about three months


def services_of(actor: Actor, *, facility: Any) -> QuerySet[Service]:
    unit = facility_visible(actor, facility, Permission.SCHEDULE_READ)
    return Service.objects.filter(facility=unit, active=True).select_related("specialty")


def active_schedules(unit: Facility) -> QuerySet[Schedule]:
    """A unit's active agendas with what slot computing needs. Not scoped: the caller has already
    checked that the actor may see `unit`."""
    return (
        Schedule.objects.filter(facility=unit, active=True)
        .select_related("service", "practitioner", "facility__territory")
        .prefetch_related("rules")
    )


def schedules_of(actor: Actor, *, facility: Any) -> QuerySet[Schedule]:
    return active_schedules(facility_visible(actor, facility, Permission.SCHEDULE_READ))


def schedule_get(actor: Actor, *, schedule: Any) -> Schedule:
    key = _uuid(schedule)
    found = (
        Schedule.objects.filter(
            public_id=key, facility__in=facilities_in_scope(actor, Permission.SCHEDULE_READ)
        )
        .select_related("service", "practitioner", "facility__territory")
        .first()
        if key
        else None
    )
    if found is None:
        raise OutOfScope()
    return found


@dataclass(frozen=True)
class SlotSearch:
    facility: Any
    first_day: dt.date
    last_day: dt.date
    service: Any = None
    practitioner: Any = None
    schedule: Any = None
    only_free: bool = True


def compute_slots(
    schedules: list[Schedule], first_day: dt.date, last_day: dt.date
) -> list[slots_mod.Slot]:
    """Every slot of these schedules (one facility's) on the local days given, with seats taken.
    Three queries whatever the number of schedules: exceptions, rules (prefetched), appointments."""
    if not schedules:
        return []
    zone = facility_zone(schedules[0].facility)
    facility_id = schedules[0].facility_id
    exceptions = list(
        ScheduleException.objects.filter(
            facility_id=facility_id, first_day__lte=last_day, last_day__gte=first_day
        )
    )
    out: list[slots_mod.Slot] = []
    for s in schedules:
        offs = [
            slots_mod.DayOff(e.first_day, e.last_day)
            for e in exceptions
            if e.schedule_id is None or e.schedule_id == s.pk
        ]
        out.extend(
            slots_mod.schedule_slots(
                schedule=s.public_id,
                zone=zone,
                windows=[
                    slots_mod.Window(r.weekday, r.start_time, r.end_time) for r in s.rules.all()
                ],
                days_off=offs,
                minutes=s.service.slot_minutes,
                capacity=s.service.capacity,
                first_day=first_day,
                last_day=last_day,
                valid_from=s.valid_from,
                valid_to=s.valid_to,
            )
        )
    if not out:
        return []
    lo = min(x.start for x in out)
    hi = max(x.start for x in out)
    now = timezone.now()
    taken = Counter(
        (public_id, start)
        for public_id, start, status, hold_expires_at in Appointment.objects.filter(
            schedule__in=schedules, start__gte=lo, start__lte=hi, status__in=OCCUPYING
        ).values_list("schedule__public_id", "start", "status", "hold_expires_at")
        if status != AppointmentStatus.PROPOSED or (hold_expires_at and hold_expires_at > now)
    )
    return [
        slots_mod.Slot(x.schedule, x.start, x.end, x.capacity, taken.get((x.schedule, x.start), 0))
        for x in out
    ]


@dataclass(frozen=True)
class SlotsFound:
    zone: ZoneInfo
    slots: list[slots_mod.Slot]


def slots_search(actor: Actor, search: SlotSearch) -> SlotsFound:
    """Slots of a unit on local days, optionally of one service, practitioner or schedule, with
    the unit's time zone. Past slots are never offered. Not audited: a slot discloses no person."""
    unit = facility_visible(actor, search.facility, Permission.SCHEDULE_READ)
    zone = facility_zone(unit)
    if search.last_day < search.first_day:
        return SlotsFound(zone, [])
    last_day = min(search.last_day, search.first_day + dt.timedelta(days=MAX_DAYS))
    qs = active_schedules(unit)
    if search.service:
        qs = qs.filter(service__public_id=key_or_404(search.service))
    if search.practitioner:
        qs = qs.filter(practitioner__public_id=key_or_404(search.practitioner))
    if search.schedule:
        qs = qs.filter(public_id=key_or_404(search.schedule))
    found = compute_slots(list(qs), search.first_day, last_day)
    now = timezone.now()
    found = [s for s in found if s.start >= now]
    if search.only_free:
        found = [s for s in found if s.free > 0]
    found.sort(key=lambda s: (s.start, str(s.schedule)))
    return SlotsFound(zone, found)


def appointments_visible_to(
    actor: Actor, permission: Permission = Permission.APPOINTMENT_READ
) -> QuerySet[Appointment]:
    return Appointment.objects.filter(
        facility__in=facilities_in_scope(actor, permission)
    ).select_related("person", "schedule__service", "schedule__practitioner", "facility__territory")


def appointment_get(
    actor: Actor, *, appointment: Any, permission: Permission = Permission.APPOINTMENT_READ
) -> Appointment:
    key = _uuid(appointment)
    found = (
        appointments_visible_to(actor, permission).filter(public_id=key).first() if key else None
    )
    if found is None or (
        found.person is not None
        and actor.patient_id is not None
        and found.person_id != actor.patient_id
    ):
        raise OutOfScope()
    if found.person_id is not None:
        audit_record(
            actor,
            action=AuditAction.READ,
            resource_type="Appointment",
            resource_id=str(found.public_id),
            person_id=found.person_id,
        )
    return found


@dataclass(frozen=True)
class DayRow:
    appointment: Appointment
    waiting_minutes: int | None


def day_list(
    actor: Actor, *, facility: Any = None, day: dt.date | None = None, practitioner: Any = None
) -> list[DayRow]:
    """Today's list of a unit (or of one practitioner): booked and walk-in, in the order they will
    be seen — those in consultation, then those waiting by triage and arrival, then the booked ones
    by time — with each waiting person's minutes since arrival. Audited as one search."""
    if facility is None:
        facility = actor.user.facility if actor.user is not None else None
        if facility is None:
            return []
    unit = facility_visible(actor, facility, Permission.APPOINTMENT_READ)
    zone = facility_zone(unit)
    now = timezone.now()
    local_day = day or now.astimezone(zone).date()
    lo = dt.datetime.combine(local_day, dt.time.min, tzinfo=zone)
    hi = lo + dt.timedelta(days=1)
    qs = appointments_visible_to(actor).filter(
        facility=unit,
        start__gte=lo,
        start__lt=hi,
        status__in=[
            AppointmentStatus.BOOKED,
            AppointmentStatus.ARRIVED,
            AppointmentStatus.IN_CONSULTATION,
            AppointmentStatus.FULFILLED,
            AppointmentStatus.NO_SHOW,
        ],
    )
    if practitioner is not None:
        qs = qs.filter(schedule__practitioner=practitioner)
    rank = {
        AppointmentStatus.IN_CONSULTATION: 0,
        AppointmentStatus.ARRIVED: 1,
        AppointmentStatus.BOOKED: 2,
        AppointmentStatus.FULFILLED: 3,
        AppointmentStatus.NO_SHOW: 4,
    }
    rows = sorted(
        qs,
        key=lambda a: (
            rank[AppointmentStatus(a.status)],
            a.triage or 9 if a.status == AppointmentStatus.ARRIVED else 0,
            a.arrived_at or a.start if a.status == AppointmentStatus.ARRIVED else a.start,
            a.seat,
        ),
    )
    out = [
        DayRow(
            a,
            int((now - a.arrived_at).total_seconds() // 60)
            if a.status == AppointmentStatus.ARRIVED and a.arrived_at
            else None,
        )
        for a in rows
    ]
    if out:
        audit_record(
            actor,
            action=AuditAction.SEARCH,
            resource_type="Appointment",
            query={"facility": str(unit.public_id), "day": local_day.isoformat()},
            result_ids=[str(r.appointment.public_id) for r in out],
        )
    return out


def appointments_of_person(actor: Actor, *, person: Any) -> list[Appointment]:
    who = visible_person(actor, person, permission=Permission.APPOINTMENT_READ)
    rows = list(appointments_visible_to(actor).filter(person=who).order_by("-start")[:100])
    audit_record(
        actor,
        action=AuditAction.READ,
        resource_type="Appointment",
        person_id=who.pk,
        query={"person": str(who.public_id)},
        result_ids=[str(a.public_id) for a in rows],
    )
    return rows


def slot_of(schedule: Schedule, start: dt.datetime) -> slots_mod.Slot | None:
    """The slot of `schedule` that starts at `start`, if the agenda offers one then."""
    zone = facility_zone(schedule.facility)
    day = start.astimezone(zone).date()
    for s in compute_slots([schedule], day, day):
        if s.start == start:
            return s
    return None
