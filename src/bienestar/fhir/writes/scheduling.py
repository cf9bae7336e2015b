"""Appointment: created by booking its Slot (scheduling.services.appointment_book: scope, the
person's visibility, one seat per booking under a unique index, history, audit). A booked
appointment's state changes through the scheduling services (JSON API and pages), so a PUT that
changes anything is refused naming the element."""

from __future__ import annotations

from typing import Any

from bienestar.access.actor import Actor
from bienestar.access.roles import Permission
from bienestar.fhir.mappers import scheduling as mapper
from bienestar.fhir.writes.base import Writer, locked, unchangeable
from bienestar.scheduling import services
from bienestar.scheduling.models import Appointment
from bienestar.scheduling.selectors import appointments_visible_to


def _create(actor: Actor, data: dict[str, Any]) -> Appointment:
    given = mapper.appointment_from_fhir(data)
    return services.appointment_book(
        actor, person=given.person, slot=given.slot, reason=given.reason
    )


def _update(actor: Actor, appointment: Appointment, data: dict[str, Any]) -> bool:
    current = mapper.appointment_to_fhir(appointment)
    for key in ("status", "start", "end", "slot", "description"):
        if data.get(key) != current.get(key):
            raise unchangeable(f"Appointment.{key}")
    return False


APPOINTMENT = Writer(
    create=_create,
    update=_update,
    lock=lambda actor, rid: locked(
        appointments_visible_to(actor, Permission.APPOINTMENT_WRITE), rid
    ),
    paths=mapper.FIELD_PATHS,
)
