"""Scheduling API, mounted at /api/scheduling/: services, agendas, slots, appointments, the day's
list and the walk-in queue. Thin: scope, permissions, validation and audit live in the services and
selectors. Times travel as ISO 8601 with their offset; local days are the unit's own."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from bienestar.access.api_auth import request_actor
from bienestar.access.scopes import reads, writes
from bienestar.core.api import NO_NUL
from bienestar.scheduling import selectors, services
from bienestar.scheduling.models import Appointment, Schedule, Service
from bienestar.scheduling.slots import Slot, slot_id
from bienestar.scheduling.timezones import facility_zone

router = Router(tags=["scheduling"])


class ServiceIn(Schema):
    facility: UUID
    name: str = Field(..., min_length=1, max_length=150, pattern=NO_NUL)
    slot_minutes: int = Field(20, ge=5, le=480)
    capacity: int = Field(1, ge=1, le=100)
    mode: str = Field("in_person", pattern=r"^(in_person|virtual)$")
    wait_standard_minutes: int = Field(30, ge=1, le=1440)


class ServiceOut(Schema):
    public_id: UUID
    facility: UUID
    name: str
    slot_minutes: int
    capacity: int
    mode: str


class WindowIn(Schema):
    weekday: int = Field(..., ge=0, le=6, description="0 = lunes")
    start: dt.time
    end: dt.time


class ScheduleIn(Schema):
    service: UUID
    windows: list[WindowIn] = Field(..., min_length=1, max_length=50)
    valid_from: dt.date
    valid_to: dt.date | None = None
    room: str = Field("", max_length=60, pattern=NO_NUL)


class ScheduleOut(Schema):
    public_id: UUID
    service: UUID
    facility: UUID
    time_zone: str
    valid_from: dt.date
    valid_to: dt.date | None


class SlotOut(Schema):
    public_id: str
    schedule: UUID
    start: dt.datetime
    end: dt.datetime
    local_start: str
    capacity: int
    free: int


class BookIn(Schema):
    person: UUID
    slot: str | None = Field(None, max_length=64, pattern=NO_NUL)
    hold: UUID | None = None
    reason: str = Field("", max_length=300, pattern=NO_NUL)


class HoldIn(Schema):
    slot: str = Field(..., max_length=64, pattern=NO_NUL)


class StatusIn(Schema):
    status: str = Field(..., max_length=20, pattern=NO_NUL)
    reason: str = Field("", max_length=300, pattern=NO_NUL)
    expected_status: str | None = Field(None, max_length=20, pattern=NO_NUL)


class UndoIn(Schema):
    reason: str = Field(..., min_length=1, max_length=300, pattern=NO_NUL)


class WalkInIn(Schema):
    person: UUID
    service: UUID
    triage: int = Field(..., ge=1, le=5)
    reason: str = Field("", max_length=300, pattern=NO_NUL)


class AppointmentOut(Schema):
    public_id: UUID
    person: UUID | None
    schedule: UUID
    slot: str
    start: dt.datetime
    end: dt.datetime
    local_start: str
    status: str
    origin: str
    triage: int | None
    hold_expires_at: dt.datetime | None
    virtual_room: str
    waiting_minutes: int | None = None


def _service(s: Service) -> dict[str, Any]:
    return {
        "public_id": s.public_id,
        "facility": s.facility.public_id,
        "name": s.name,
        "slot_minutes": s.slot_minutes,
        "capacity": s.capacity,
        "mode": s.mode,
    }


def _slot(s: Slot, zone: Any) -> dict[str, Any]:
    return {
        "public_id": s.slot_id,
        "schedule": s.schedule,
        "start": s.start,
        "end": s.end,
        "local_start": s.start.astimezone(zone).isoformat(),
        "capacity": s.capacity,
        "free": s.free,
    }


def _appointment(a: Appointment, waiting: int | None = None) -> dict[str, Any]:
    return {
        "public_id": a.public_id,
        "person": a.person.public_id if a.person is not None else None,
        "schedule": a.schedule.public_id,
        "slot": slot_id(a.schedule.public_id, a.start),
        "start": a.start,
        "end": a.end,
        "local_start": a.local_start.isoformat(),
        "status": a.status,
        "origin": a.origin,
        "triage": a.triage,
        "hold_expires_at": a.hold_expires_at,
        "virtual_room": a.virtual_room,
        "waiting_minutes": waiting,
    }


@router.get(
    "/facilities/{facility}/services",
    response=list[ServiceOut],
    summary="Services of a unit",
    openapi_extra=reads("HealthcareService"),
)
def service_list(request: HttpRequest, facility: UUID) -> list[dict[str, Any]]:
    return [_service(s) for s in selectors.services_of(request_actor(request), facility=facility)]


@router.post(
    "/services",
    response={201: ServiceOut},
    summary="Create a bookable service",
    openapi_extra=writes("HealthcareService"),
)
def service_create(request: HttpRequest, payload: ServiceIn) -> Status[dict[str, Any]]:
    s = services.service_create(
        request_actor(request),
        facility=payload.facility,
        name=payload.name,
        slot_minutes=payload.slot_minutes,
        capacity=payload.capacity,
        mode=payload.mode,
        wait_standard_minutes=payload.wait_standard_minutes,
    )
    return Status(201, _service(s))


@router.post(
    "/schedules",
    response={201: ScheduleOut},
    summary="Create an agenda with weekly hours",
    openapi_extra=writes("Schedule"),
)
def schedule_create(request: HttpRequest, payload: ScheduleIn) -> Status[dict[str, Any]]:
    actor = request_actor(request)
    s: Schedule = services.schedule_create(
        actor,
        service=payload.service,
        windows=[services.WindowInput(w.weekday, w.start, w.end) for w in payload.windows],
        valid_from=payload.valid_from,
        valid_to=payload.valid_to,
        practitioner=actor.user.practitioner if actor.user is not None else None,
        room=payload.room,
    )
    return Status(
        201,
        {
            "public_id": s.public_id,
            "service": s.service.public_id,
            "facility": s.facility.public_id,
            "time_zone": str(facility_zone(s.facility)),
            "valid_from": s.valid_from,
            "valid_to": s.valid_to,
        },
    )


@router.get(
    "/facilities/{facility}/slots",
    response=list[SlotOut],
    summary="Slots of a unit on local days",
    openapi_extra=reads("Schedule", "Slot"),
)
def slot_search(
    request: HttpRequest,
    facility: UUID,
    first_day: dt.date,
    last_day: dt.date | None = None,
    service: UUID | None = None,
    schedule: UUID | None = None,
    free: bool = True,
    limit: int = Query(200, ge=1, le=2000),
) -> list[dict[str, Any]]:
    actor = request_actor(request)
    found = selectors.slots_search(
        actor,
        selectors.SlotSearch(
            facility=facility,
            first_day=first_day,
            last_day=last_day or first_day,
            service=service,
            schedule=schedule,
            only_free=free,
        ),
    )
    return [_slot(s, found.zone) for s in found.slots[:limit]]


@router.post(
    "/holds",
    response={201: AppointmentOut},
    summary="Hold a slot for a few minutes",
    openapi_extra=writes("Appointment"),
)
def hold_create(request: HttpRequest, payload: HoldIn) -> Status[dict[str, Any]]:
    return Status(
        201, _appointment(services.appointment_hold(request_actor(request), slot=payload.slot))
    )


@router.post(
    "/appointments",
    response={201: AppointmentOut},
    summary="Book a person into a slot",
    openapi_extra=writes("Appointment"),
)
def appointment_book(request: HttpRequest, payload: BookIn) -> Status[dict[str, Any]]:
    a = services.appointment_book(
        request_actor(request),
        person=payload.person,
        slot=payload.slot,
        hold=payload.hold,
        reason=payload.reason,
    )
    return Status(201, _appointment(a))


@router.get(
    "/appointments/{public_id}",
    response=AppointmentOut,
    summary="One appointment",
    openapi_extra=reads("Appointment"),
)
def appointment_detail(request: HttpRequest, public_id: UUID) -> dict[str, Any]:
    return _appointment(selectors.appointment_get(request_actor(request), appointment=public_id))


@router.post(
    "/appointments/{public_id}/status",
    response=AppointmentOut,
    summary="Change an appointment's state",
    openapi_extra=writes("Appointment"),
)
def appointment_status(request: HttpRequest, public_id: UUID, payload: StatusIn) -> dict[str, Any]:
    a = services.appointment_transition(
        request_actor(request),
        appointment=public_id,
        to=payload.status,
        reason=payload.reason,
        expected_status=payload.expected_status,
    )
    return _appointment(a)


@router.post(
    "/appointments/{public_id}/undo-no-show",
    response=AppointmentOut,
    summary="Undo a no-show mark",
    openapi_extra=writes("Appointment"),
)
def appointment_undo_no_show(
    request: HttpRequest, public_id: UUID, payload: UndoIn
) -> dict[str, Any]:
    return _appointment(
        services.no_show_undo(request_actor(request), appointment=public_id, reason=payload.reason)
    )


@router.post(
    "/walk-ins",
    response={201: AppointmentOut},
    summary="Register a walk-in (unifila)",
    openapi_extra=writes("Appointment"),
)
def walk_in(request: HttpRequest, payload: WalkInIn) -> Status[dict[str, Any]]:
    a = services.walk_in_register(
        request_actor(request),
        person=payload.person,
        service=payload.service,
        triage=payload.triage,
        reason=payload.reason,
    )
    return Status(201, _appointment(a))


@router.get(
    "/day",
    response=list[AppointmentOut],
    summary="The day's list of a unit, in order",
    openapi_extra=reads("Appointment"),
)
def day(
    request: HttpRequest, facility: UUID | None = None, day: dt.date | None = None
) -> list[dict[str, Any]]:
    rows = selectors.day_list(request_actor(request), facility=facility, day=day)
    return [_appointment(r.appointment, r.waiting_minutes) for r in rows]


@router.get(
    "/persons/{person}/appointments",
    response=list[AppointmentOut],
    summary="A person's appointments",
    openapi_extra=reads("Appointment"),
)
def person_appointments(request: HttpRequest, person: UUID) -> list[dict[str, Any]]:
    return [
        _appointment(a)
        for a in selectors.appointments_of_person(request_actor(request), person=person)
    ]
