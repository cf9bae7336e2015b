"""Schedule, Slot and Appointment: agendas (not personal data), computed slots (served by
fhir/slots.py, declared here for the CapabilityStatement) and appointments (personal data, scoped to
the unit's territory and audited)."""

from __future__ import annotations

from django.db.models import Q

from bienestar.access.actor import Actor
from bienestar.access.roles import Permission
from bienestar.fhir.mappers.scheduling import (
    STATUS,
    appointment_to_fhir,
    schedule_to_fhir,
)
from bienestar.fhir.params import NOTHING
from bienestar.fhir.registry import DATE, TOKEN, ResourceDef, SearchParam, register
from bienestar.fhir.resources.common import (
    id_param,
    last_updated_param,
    patient_params,
    reference_param,
)
from bienestar.scheduling.models import Appointment, Schedule
from bienestar.scheduling.scope import facilities_in_scope
from bienestar.scheduling.selectors import appointments_visible_to


def _schedules(actor: Actor):  # type: ignore[no-untyped-def]
    return Schedule.objects.filter(
        facility__in=facilities_in_scope(actor, Permission.SCHEDULE_READ)
    )


SCHEDULE = register(
    ResourceDef(
        type="Schedule",
        read_permission=Permission.SCHEDULE_READ,
        queryset=_schedules,
        load=lambda qs: qs.select_related("service", "facility", "practitioner"),
        to_fhir=lambda rows, actor: [schedule_to_fhir(s) for s in rows],
        documentation="Agendas of the units inside the caller's territory. Not personal data.",
        params={
            "_id": id_param(),
            "_lastUpdated": last_updated_param(),
            "actor": reference_param(
                "actor", "facility__public_id", ("Location",), "The unit of the agenda"
            ),
            "active": SearchParam(
                "active",
                TOKEN,
                "true | false",
                token=lambda system, code: (
                    Q(active=code == "true") if code in ("true", "false") else NOTHING
                ),
            ),
        },
        sorts={"_lastUpdated": ("updated_at",), "_id": ("public_id",)},
    )
)

# Declared for the CapabilityStatement and the scope checks; served by fhir/slots.py (a Slot is
# computed from its agenda, never a row).
SLOT = register(
    ResourceDef(
        type="Slot",
        read_permission=Permission.SCHEDULE_READ,
        queryset=lambda actor: Schedule.objects.none(),
        load=lambda qs: qs,
        to_fhir=lambda rows, actor: [],
        documentation=(
            "Slots computed from the agendas of the units inside the caller's territory, in each "
            "unit's time zone. Search by schedule, status (free | busy) and start (ge/gt/le/lt; "
            "default: the next 7 days); read by id."
        ),
        params={
            "schedule": SearchParam("schedule", "reference", "The agenda (Schedule/<id>)"),
            "status": SearchParam("status", TOKEN, "free | busy"),
            "start": SearchParam("start", DATE, "When the slot starts"),
        },
    )
)


def _status(system: str | None, code: str) -> Q:
    ours = [k for k, v in STATUS.items() if v == code]
    return Q(status__in=ours) if ours else NOTHING


APPOINTMENT = register(
    ResourceDef(
        type="Appointment",
        read_permission=Permission.APPOINTMENT_READ,
        write_permission=Permission.APPOINTMENT_WRITE,
        queryset=appointments_visible_to,
        load=lambda qs: qs.select_related("person", "facility", "schedule"),
        to_fhir=lambda rows, actor: [appointment_to_fhir(a) for a in rows],
        audit_type="Appointment",
        documentation=(
            "Appointments at the units inside the caller's territory. Create books the Slot named in "
            "`slot` for the Patient participant (409 when the slot is taken); changes of state go "
            "through the JSON API."
        ),
        params={
            "_id": id_param(),
            "_lastUpdated": last_updated_param(),
            **patient_params(),
            "date": SearchParam(
                "date", DATE, "When the appointment starts", date_fields=("start", "end")
            ),
            "status": SearchParam(
                "status", TOKEN, "booked | arrived | fulfilled | …", token=_status
            ),
            "location": reference_param(
                "location", "facility__public_id", ("Location",), "The unit"
            ),
        },
        sorts={"date": ("start",), "_lastUpdated": ("updated_at",), "_id": ("public_id",)},
        default_sort=("start",),
    )
)

__all__ = ["APPOINTMENT", "SCHEDULE", "SLOT", "Appointment"]
