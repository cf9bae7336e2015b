"""Writes of agendas and appointments.

Booking guarantee: a slot's seats are rows of `Appointment` guarded by the partial unique index
`appointment_one_per_seat` on (schedule, start, seat) over the occupying states. A booking inserts
into the first seat it believes free inside a savepoint; a concurrent booking of the same seat
waits for the first to commit and then fails on the index, and tries the next seat. When no seat
is left the caller gets `Conflict` and nothing is written. No lock is taken on the schedule, so
bookings of different slots never wait for each other.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.access.audit import audit_record
from bienestar.access.errors import OutOfScope
from bienestar.access.models import AuditAction
from bienestar.access.roles import Permission
from bienestar.clinical.scope import visible_person
from bienestar.core.errors import Conflict, ValidationFailed
from bienestar.people.models import PersonStatus
from bienestar.scheduling import selectors
from bienestar.scheduling.models import (
    OCCUPYING,
    Appointment,
    AppointmentChange,
    AppointmentOrigin,
    AppointmentStatus,
    AvailabilityRule,
    ExceptionKind,
    Schedule,
    ScheduleException,
    Service,
    ServiceMode,
    TriageLevel,
)
from bienestar.scheduling.scope import facility_managed, facility_visible, key_or_404
from bienestar.scheduling.slots import Slot, parse_slot_id
from bienestar.scheduling.timezones import facility_zone
from bienestar.workforce.models import Practitioner, Specialty

HOLD_MINUTES = 5
S = AppointmentStatus

# What each state may become through `appointment_transition` (the undo of a no-show has its own
# service, so that it always carries a reason).
TRANSITIONS: dict[str, frozenset[str]] = {
    S.PROPOSED: frozenset({S.CANCELLED}),
    S.BOOKED: frozenset({S.ARRIVED, S.CANCELLED, S.NO_SHOW, S.ENTERED_IN_ERROR}),
    S.ARRIVED: frozenset({S.IN_CONSULTATION, S.CANCELLED, S.ENTERED_IN_ERROR}),
    S.IN_CONSULTATION: frozenset({S.FULFILLED, S.ENTERED_IN_ERROR}),
    S.FULFILLED: frozenset({S.ENTERED_IN_ERROR}),
    S.NO_SHOW: frozenset({S.ENTERED_IN_ERROR}),
    S.CANCELLED: frozenset(),
    S.ENTERED_IN_ERROR: frozenset(),
}


@dataclass(frozen=True)
class WindowInput:
    weekday: int
    start: dt.time
    end: dt.time


def service_create(
    actor: Actor,
    *,
    facility: Any,
    name: str,
    slot_minutes: int = 20,
    capacity: int = 1,
    mode: str = ServiceMode.IN_PERSON,
    specialty: Specialty | None = None,
    wait_standard_minutes: int = 30,
) -> Service:
    unit = facility_managed(actor, facility)
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("Escriba el nombre del servicio."), field="name")
    if not 5 <= slot_minutes <= 480:
        raise ValidationFailed(
            _("La duración debe estar entre 5 y 480 minutos."), field="slot_minutes"
        )
    if not 1 <= capacity <= 100:
        raise ValidationFailed(_("La capacidad debe estar entre 1 y 100."), field="capacity")
    if mode not in ServiceMode.values:
        raise ValidationFailed(_("Modalidad desconocida."), field="mode")
    return Service.objects.create(
        facility=unit,
        name=name,
        slot_minutes=slot_minutes,
        capacity=capacity,
        mode=mode,
        specialty=specialty,
        wait_standard_minutes=wait_standard_minutes,
    )


def schedule_create(
    actor: Actor,
    *,
    service: Any,
    windows: Sequence[WindowInput],
    valid_from: dt.date,
    valid_to: dt.date | None = None,
    practitioner: Practitioner | None = None,
    room: str = "",
) -> Schedule:
    """An agenda with its weekly windows (local time). Overlapping windows of one weekday are
    refused: they would offer the same hour twice."""
    found = (
        Service.objects.filter(public_id=key_or_404(service)).select_related("facility").first()
        if not isinstance(service, Service)
        else service
    )
    if found is None:
        raise OutOfScope()
    unit = facility_managed(actor, found.facility)
    if valid_to is not None and valid_to < valid_from:
        raise ValidationFailed(_("La vigencia termina antes de empezar."), field="valid_to")
    if not windows:
        raise ValidationFailed(_("Indique al menos un horario semanal."), field="windows")
    by_day: dict[int, list[WindowInput]] = {}
    for w in windows:
        if not 0 <= w.weekday <= 6:
            raise ValidationFailed(_("Día de la semana inválido."), field="windows")
        if w.start >= w.end:
            raise ValidationFailed(
                _("Cada horario debe terminar después de empezar."), field="windows"
            )
        by_day.setdefault(w.weekday, []).append(w)
    for day in by_day.values():
        day.sort(key=lambda w: w.start)
        for a, b in itertools.pairwise(day):
            if b.start < a.end:
                raise ValidationFailed(
                    _("Hay horarios que se enciman el mismo día."), field="windows"
                )
    with transaction.atomic():
        schedule = Schedule.objects.create(
            service=found,
            facility=unit,
            practitioner=practitioner,
            room=room,
            valid_from=valid_from,
            valid_to=valid_to,
        )
        AvailabilityRule.objects.bulk_create(
            AvailabilityRule(
                schedule=schedule, weekday=w.weekday, start_time=w.start, end_time=w.end
            )
            for w in windows
        )
    return schedule


def exception_add(
    actor: Actor,
    *,
    facility: Any,
    first_day: dt.date,
    last_day: dt.date,
    kind: str = ExceptionKind.HOLIDAY,
    schedule: Schedule | None = None,
    note: str = "",
) -> ScheduleException:
    """A day or days without service. Appointments already booked are kept: the unit decides whom
    to call (they are listed on the day's page)."""
    unit = facility_managed(actor, facility)
    if last_day < first_day:
        raise ValidationFailed(_("El último día es anterior al primero."), field="last_day")
    if schedule is not None and schedule.facility_id != unit.pk:
        raise OutOfScope()
    return ScheduleException.objects.create(
        facility=unit,
        schedule=schedule,
        first_day=first_day,
        last_day=last_day,
        kind=kind,
        note=note,
    )


def _slot(actor: Actor, slot_id: str) -> tuple[Schedule, Slot]:
    parsed = parse_slot_id(slot_id)
    if parsed is None:
        raise ValidationFailed(_("Horario inválido."), field="slot")
    schedule_key, start = parsed
    schedule = (
        Schedule.objects.filter(public_id=schedule_key, active=True)
        .select_related("service", "facility__territory")
        .first()
    )
    if schedule is None:
        raise OutOfScope()
    facility_visible(actor, schedule.facility, Permission.APPOINTMENT_WRITE)
    slot = selectors.slot_of(schedule, start)
    if slot is None:
        raise ValidationFailed(_("La agenda no ofrece ese horario."), field="slot")
    if slot.start < timezone.now():
        raise ValidationFailed(_("Ese horario ya pasó."), field="slot")
    return schedule, slot


def _take_seat(schedule: Schedule, slot: Slot, **fields: Any) -> Appointment:
    now = timezone.now()
    Appointment.objects.filter(
        schedule=schedule, start=slot.start, status=S.PROPOSED, hold_expires_at__lte=now
    ).update(status=S.CANCELLED, updated_at=now)
    taken = set(
        Appointment.objects.filter(
            schedule=schedule, start=slot.start, status__in=OCCUPYING
        ).values_list("seat", flat=True)
    )
    for seat in range(slot.capacity):
        if seat in taken:
            continue
        try:
            with transaction.atomic():
                return Appointment.objects.create(
                    schedule=schedule,
                    facility=schedule.facility,
                    start=slot.start,
                    end=slot.end,
                    seat=seat,
                    **fields,
                )
        except IntegrityError as exc:
            if "appointment_one_per_seat" not in str(exc):
                raise
    raise Conflict(_("Ese horario ya no está disponible; elija otro."), field="slot")


def _change(appointment: Appointment, actor: Actor, before: str, reason: str = "") -> None:
    AppointmentChange.objects.create(
        appointment=appointment,
        at=timezone.now(),
        by=actor.username,
        from_status=before,
        to_status=appointment.status,
        reason=reason[:300],
    )


def _virtual_room(service: Service) -> str:
    if service.mode != ServiceMode.VIRTUAL:
        return ""
    base = os.environ.get("BIENESTAR_VIDEO_URL", "").rstrip("/")
    if not base:
        raise ValidationFailed(
            _("La teleconsulta no está configurada (BIENESTAR_VIDEO_URL)."), field="slot"
        )
    # An unguessable room name: the link is the only key to the room.
    return f"{base}/bienestar-{secrets.token_urlsafe(18)}"


def appointment_hold(actor: Actor, *, slot: str) -> Appointment:
    """Keep a seat for a few minutes while the person is found or confirmed (find → hold → book)."""
    with transaction.atomic():
        schedule, found = _slot(actor, slot)
        hold = _take_seat(
            schedule,
            found,
            status=S.PROPOSED,
            hold_expires_at=timezone.now() + dt.timedelta(minutes=HOLD_MINUTES),
            booked_by=actor.username,
        )
        _change(hold, actor, "")
        return hold


def appointment_book(
    actor: Actor,
    *,
    person: Any,
    slot: str | None = None,
    hold: Any = None,
    reason: str = "",
) -> Appointment:
    """Book a person into a slot (or into the seat a live hold keeps). Atomic; audited."""
    with transaction.atomic():
        who = visible_person(actor, person, permission=Permission.APPOINTMENT_WRITE)
        if who.status != PersonStatus.ACTIVE:
            raise Conflict(
                _("La persona fue fusionada con otra; agende en el expediente que sobrevive."),
                field="person",
            )
        if hold is not None:
            held = (
                Appointment.objects.select_for_update()
                .filter(public_id=key_or_404(hold), status=S.PROPOSED)
                .select_related("schedule__service", "facility__territory")
                .first()
            )
            if held is None or held.booked_by != actor.username:
                raise OutOfScope()
            if held.hold_expires_at is None or held.hold_expires_at <= timezone.now():
                raise Conflict(_("El apartado venció; busque el horario de nuevo."), field="hold")
            facility_visible(actor, held.facility, Permission.APPOINTMENT_WRITE)
            before = held.status
            held.status = S.BOOKED
            held.person = who
            held.hold_expires_at = None
            held.reason = reason[:300]
            held.virtual_room = _virtual_room(held.schedule.service)
            held.save()
            appointment = held
        elif slot:
            schedule, found = _slot(actor, slot)
            before = ""
            appointment = _take_seat(
                schedule,
                found,
                status=S.BOOKED,
                person=who,
                reason=reason[:300],
                booked_by=actor.username,
                virtual_room=_virtual_room(schedule.service),
            )
        else:
            raise ValidationFailed(_("Indique el horario."), field="slot")
        _change(appointment, actor, before)
        audit_record(
            actor,
            action=AuditAction.CREATE,
            resource_type="Appointment",
            resource_id=str(appointment.public_id),
            person_id=who.pk,
        )
        return appointment


def appointment_transition(
    actor: Actor, *, appointment: Any, to: str, reason: str = "", expected_status: str | None = None
) -> Appointment:
    """Move an appointment along its states (arrived, in consultation, fulfilled, cancelled,
    no-show, entered in error). The row is locked; `expected_status` refuses a stale screen."""
    with transaction.atomic():
        found = selectors.appointment_get(
            actor, appointment=appointment, permission=Permission.APPOINTMENT_WRITE
        )
        row = Appointment.objects.select_for_update().get(pk=found.pk)
        if expected_status is not None and row.status != expected_status:
            raise Conflict(
                _("La cita cambió mientras la veía; recargue la página."), field="status"
            )
        if to not in TRANSITIONS.get(row.status, frozenset()):
            raise Conflict(
                _("Una cita «%(a)s» no puede pasar a «%(b)s».")
                % {"a": S(row.status).label, "b": S(to).label if to in S.values else to},
                field="status",
            )
        if to in (S.CANCELLED, S.ENTERED_IN_ERROR) and not reason.strip():
            raise ValidationFailed(_("Indique el motivo."), field="reason")
        before = row.status
        now = timezone.now()
        row.status = to
        if to == S.ARRIVED:
            row.arrived_at = now
        elif to == S.IN_CONSULTATION:
            row.seen_at = now
        elif to == S.FULFILLED:
            row.finished_at = now
        row.save()
        _change(row, actor, before, reason)
        if row.person_id is not None:
            audit_record(
                actor,
                action=AuditAction.UPDATE,
                resource_type="Appointment",
                resource_id=str(row.public_id),
                person_id=row.person_id,
                query={"status": [before, to]},
            )
        return row


def walk_in_register(
    actor: Actor, *, person: Any, service: Any, triage: int, reason: str = ""
) -> Appointment:
    """A person without appointment (unifila): triaged and placed in the first free (or freed)
    slot of the service today at the caller's unit, already marked as arrived."""
    if triage not in TriageLevel.values:
        raise ValidationFailed(_("Nivel de triaje inválido."), field="triage")
    unit = actor.user.facility if actor.user is not None else None
    if unit is None:
        raise ValidationFailed(
            _("Su usuario no tiene un establecimiento asignado."), field="service"
        )
    unit = facility_visible(actor, unit, Permission.APPOINTMENT_WRITE)
    found = Service.objects.filter(
        public_id=key_or_404(service), facility=unit, active=True
    ).first()
    if found is None:
        raise ValidationFailed(_("Servicio desconocido en su unidad."), field="service")
    today = timezone.now().astimezone(facility_zone(unit)).date()
    with transaction.atomic():
        who = visible_person(actor, person, permission=Permission.APPOINTMENT_WRITE)
        schedules = list(selectors.active_schedules(unit).filter(service=found))
        now = timezone.now()
        # A walk-in may take the slot that is running now, not only a future one.
        candidates = [
            s
            for s in selectors.compute_slots(schedules, today, today)
            if s.end > now and s.free > 0
        ]
        by_key = {s.public_id: s for s in schedules}
        for slot in sorted(candidates, key=lambda s: s.start):
            try:
                appointment = _take_seat(
                    by_key[slot.schedule],
                    slot,
                    status=S.ARRIVED,
                    person=who,
                    origin=AppointmentOrigin.WALK_IN,
                    triage=triage,
                    arrived_at=now,
                    reason=reason[:300],
                    booked_by=actor.username,
                )
            except Conflict:
                continue
            _change(appointment, actor, "")
            audit_record(
                actor,
                action=AuditAction.CREATE,
                resource_type="Appointment",
                resource_id=str(appointment.public_id),
                person_id=who.pk,
            )
            return appointment
    raise Conflict(
        _("No quedan lugares libres hoy en este servicio; ofrezca una cita otro día."),
        field="service",
    )


def no_shows_mark(*, as_of: dt.datetime | None = None) -> int:
    """End of day: booked appointments that ended before `as_of` with nobody arriving become
    no-shows. Idempotent (a second run finds nothing); each change is in the history."""
    as_of = as_of or timezone.now()
    system = Actor.system(channel="job")
    count = 0
    with transaction.atomic():
        rows = list(
            Appointment.objects.select_for_update(skip_locked=True).filter(
                status=S.BOOKED, end__lt=as_of
            )
        )
        for row in rows:
            row.status = S.NO_SHOW
            row.save(update_fields=["status", "updated_at"])
            _change(row, system, S.BOOKED, "fin del día")
            count += 1
    return count


def no_show_undo(actor: Actor, *, appointment: Any, reason: str) -> Appointment:
    """The person did come (or the mark was wrong): back to booked, with the reason, audited."""
    if not (reason or "").strip():
        raise ValidationFailed(_("Indique por qué se corrige la inasistencia."), field="reason")
    with transaction.atomic():
        found = selectors.appointment_get(
            actor, appointment=appointment, permission=Permission.APPOINTMENT_WRITE
        )
        row = Appointment.objects.select_for_update().get(pk=found.pk)
        if row.status != S.NO_SHOW:
            raise Conflict(_("La cita no está marcada como inasistencia."), field="status")
        row.status = S.BOOKED
        row.save(update_fields=["status", "updated_at"])
        _change(row, actor, S.NO_SHOW, reason)
        audit_record(
            actor,
            action=AuditAction.UPDATE,
            resource_type="Appointment",
            resource_id=str(row.public_id),
            person_id=row.person_id,
            query={"status": [S.NO_SHOW, S.BOOKED], "undo": True},
        )
        return row
