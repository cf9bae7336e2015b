"""Schedule, Slot and Appointment ↔ scheduling's agendas, computed slots and appointments.

A Slot is never stored: it is computed from its agenda (scheduling.slots), so its id names the
agenda and the UTC start (`<agenda uuid>-<YYYYMMDDHHMM>`) and its version is "1". An Appointment is
created by booking its Slot through `scheduling.services.appointment_book` (the same guarantee as
the pages: two bookings of one seat are impossible); its state then changes through the scheduling
services, not through FHIR.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from bienestar.fhir.errors import MappingError
from bienestar.fhir.mappers.common import derived_version, instant, meta, reference, reference_id
from bienestar.scheduling.models import Appointment, AppointmentStatus, Schedule
from bienestar.scheduling.slots import Slot, slot_id

S = AppointmentStatus
# Our states → FHIR Appointment.status (R4).
STATUS = {
    S.PROPOSED: "pending",
    S.BOOKED: "booked",
    S.ARRIVED: "arrived",
    S.IN_CONSULTATION: "checked-in",
    S.FULFILLED: "fulfilled",
    S.CANCELLED: "cancelled",
    S.NO_SHOW: "noshow",
    S.ENTERED_IN_ERROR: "entered-in-error",
}
FIELD_PATHS = {
    "slot": "Appointment.slot[0]",
    "person": "Appointment.participant",
    "reason": "Appointment.description",
    "status": "Appointment.status",
}


def schedule_to_fhir(schedule: Schedule) -> dict[str, Any]:
    actors = [reference("Location", schedule.facility.public_id, schedule.facility.name)]
    if schedule.practitioner is not None:
        actors.append(
            reference("Practitioner", schedule.practitioner.public_id, str(schedule.practitioner))
        )
    return {
        "resourceType": "Schedule",
        "id": str(schedule.public_id),
        "meta": meta(derived_version(schedule.updated_at), schedule.updated_at),
        "active": schedule.active,
        "serviceType": [{"text": schedule.service.name}],
        "actor": actors,
        "planningHorizon": {
            k: v
            for k, v in {
                "start": schedule.valid_from.isoformat(),
                "end": schedule.valid_to.isoformat() if schedule.valid_to else None,
            }.items()
            if v
        },
    }


def slot_to_fhir(slot: Slot) -> dict[str, Any]:
    return {
        "resourceType": "Slot",
        "id": slot.slot_id,
        "meta": {"versionId": "1"},
        "schedule": reference("Schedule", slot.schedule),
        "status": "free" if slot.free > 0 else "busy",
        "start": instant(slot.start),
        "end": instant(slot.end),
    }


def appointment_to_fhir(a: Appointment) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Appointment",
        "id": str(a.public_id),
        "meta": meta(a.version, a.updated_at),
        "status": STATUS[S(a.status)],
        "start": instant(a.start),
        "end": instant(a.end),
        "slot": [reference("Slot", slot_id(a.schedule.public_id, a.start))],
        "created": instant(a.created_at),
        "participant": [],
    }
    if a.reason:
        resource["description"] = a.reason
    if a.person is not None:
        resource["participant"].append(
            {"actor": reference("Patient", a.person.public_id), "status": "accepted"}
        )
    resource["participant"].append(
        {
            "actor": reference("Location", a.facility.public_id, a.facility.name),
            "status": "accepted",
        }
    )
    if a.virtual_room:
        resource["extension"] = [
            {
                "url": "https://bienestar.salud/fhir/StructureDefinition/virtual-room",
                "valueUrl": a.virtual_room,
            }
        ]
    return resource


@dataclass(frozen=True)
class AppointmentInput:
    slot: str
    person: str
    reason: str


def appointment_from_fhir(data: dict[str, Any]) -> AppointmentInput:
    if data.get("status") not in ("booked", "pending", "proposed"):
        raise MappingError(_("Una cita nueva se crea como booked."), "Appointment.status")
    slots = data.get("slot")
    if not isinstance(slots, list) or len(slots) != 1:
        raise MappingError(_("Indique exactamente un Slot."), "Appointment.slot")
    slot = reference_id(slots[0], "Slot", "Appointment.slot[0]")
    patients = []
    for i, p in enumerate(data.get("participant") or []):
        actor = p.get("actor") if isinstance(p, dict) else None
        ref = actor.get("reference", "") if isinstance(actor, dict) else ""
        if isinstance(ref, str) and ref.split("/")[-2:-1] == ["Patient"]:
            patients.append(reference_id(actor, "Patient", f"Appointment.participant[{i}].actor"))
    if len(patients) != 1:
        raise MappingError(_("Indique un participante Patient."), "Appointment.participant")
    reason = data.get("description") or ""
    if not isinstance(reason, str):
        raise MappingError(_("Texto inválido."), "Appointment.description")
    return AppointmentInput(slot=slot, person=patients[0], reason=reason[:300])
