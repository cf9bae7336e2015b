"""MedicationRequest and MedicationDispense through prescribing.services.

**MedicationRequest → prescription_create.** A MedicationRequest is one prescription line. Each
create is a prescription of its own, with that one line: the service writes a prescription and
all its lines at once and has no way to add a line later, and the Bundle code runs each entry as
the single request it would be alone. So several MedicationRequests of one transaction Bundle
become as many prescriptions, even when they share a groupIdentifier: Bienestar assigns the
groupIdentifier (the prescription's id) and answers it in each response; one of its own system
sent on create is refused (422), one of another system is not kept. A prescription of several
lines is written on the page or the JSON API (`POST /api/prescriptions/`).

The prescriber is the signed-in user's practitioner (`requester`, when given, must be that one);
the prescribing facility is the encounter's, else the user's own; `authoredOn`, when given, must be
now (the service dates the prescription, and its validity runs from that date).

Update (PUT): only `status` → cancelled, with the reason in `statusReason.text`, through
prescription_cancel. Bienestar cancels prescriptions, not lines: every line of the prescription
that is not fully dispensed — every MedicationRequest sharing the groupIdentifier — becomes
cancelled. Any other change is refused (422) naming the element.

**MedicationDispense → dispense_record**, exactly as the pharmacy page records it: the same
service moves the stock (first-expiring-first-out among the pharmacy's lots, with ledger rows)
and refuses a quantity the shelf does not hold (InsufficientStock: 409, nothing written). One
MedicationDispense is one line at one visit: `authorizingPrescription` names the MedicationRequest,
`quantity` the units handed over (0 with status declined), and `statusReasonCodeableConcept`
why the rest of the line is not handed over (see mappers/medication_request.py); the service
requires it whenever units remain. The pharmacy is the user's own (`location`, when given, must be
it: 403 otherwise); `performer`, when given, must be the user's practitioner; `whenHandedOver`,
when given, must be now. Only prescriptions of persons inside the user's territory can be
dispensed here: redeeming another territory's voucher needs its verification code, which FHIR
does not carry (the page opens it by code). Update: a dispense stays as recorded; a PUT that
changes anything is refused (422) naming the element, a PUT of what is there answers it unchanged.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.access.errors import Forbidden, OutOfScope
from bienestar.core.errors import Conflict
from bienestar.fhir import systems
from bienestar.fhir.errors import MappingError
from bienestar.fhir.mappers import medication_request as rx_map
from bienestar.fhir.mappers.common import derived_version
from bienestar.fhir.params import uuid_or_none
from bienestar.fhir.writes.base import (
    Writer,
    locked,
    refuse_changes,
    require_now,
    same_second,
)
from bienestar.prescribing import selectors as rx
from bienestar.prescribing import services as prescribing
from bienestar.prescribing.models import DispenseLine, PrescriptionLine


def _own_practitioner(actor: Actor, practitioner_id: str | None, path: str, message: Any) -> None:
    if practitioner_id is None:
        return
    own = actor.user.practitioner if actor.user is not None else None
    if own is None or str(own.public_id) != practitioner_id:
        raise MappingError(message, path)


# --- MedicationRequest -------------------------------------------------------------------------------


def _request_create(actor: Actor, data: dict[str, Any]) -> PrescriptionLine:
    given = rx_map.medication_request_from_fhir(data)
    if given.status != "active":
        raise MappingError(_("Una receta nueva está activa (active)."), "MedicationRequest.status")
    if given.group is not None and given.group[0] == systems.PRESCRIPTION:
        raise MappingError(
            _("El identificador de la receta lo asigna Bienestar; omítalo."),
            "MedicationRequest.groupIdentifier",
        )
    require_now(
        given.authored_at,
        "MedicationRequest.authoredOn",
        _("La receta se fecha al registrarla: omita authoredOn o indique la hora actual."),
    )
    _own_practitioner(
        actor,
        given.requester_id,
        "MedicationRequest.requester",
        _("Quien prescribe es el profesional de su usuario: omita requester o indíquelo a él."),
    )
    person_id = uuid_or_none(given.person_id)
    if person_id is None:
        raise OutOfScope()
    person = rx.person_for_prescribing(actor, public_id=person_id)
    encounter = None
    if given.encounter_id is not None:
        encounter_id = uuid_or_none(given.encounter_id)
        if encounter_id is None:
            raise MappingError(
                _("Atención desconocida para esta persona."), "MedicationRequest.encounter"
            )
        encounter = rx.encounter_for_prescribing(actor, person=person, public_id=encounter_id)
    prescription = prescribing.prescription_create(
        actor,
        person=person,
        encounter=encounter,
        note=given.note,
        lines=[
            prescribing.LineInput(
                medicine_key=given.medicine_key,
                quantity=given.quantity,
                dose=given.dose,
                frequency=given.frequency,
                duration_days=given.duration_days,
                instructions=given.instructions,
            )
        ],
    )
    return rx.prescription_lines_visible_to(actor).get(prescription=prescription)


def _request_update(actor: Actor, line: PrescriptionLine, data: dict[str, Any]) -> bool:
    given = rx_map.medication_request_from_fhir(data)
    current = rx_map.medication_request_from_fhir(
        rx_map.medication_request_to_fhir(line, today=timezone.localdate())
    )
    here = "MedicationRequest"
    refuse_changes(
        [
            (given.person_id == current.person_id, f"{here}.subject"),
            (given.medicine_key == current.medicine_key, f"{here}.medicationReference"),
            (given.encounter_id == current.encounter_id, f"{here}.encounter"),
            (given.requester_id in (None, current.requester_id), f"{here}.requester"),
            (
                given.authored_at is None or same_second(given.authored_at, current.authored_at),
                f"{here}.authoredOn",
            ),
            (given.group in (None, current.group), f"{here}.groupIdentifier"),
            (
                (given.dose, given.frequency, given.instructions)
                == (current.dose, current.frequency, current.instructions),
                f"{here}.dosageInstruction",
            ),
            (
                given.duration_days == current.duration_days,
                f"{here}.dispenseRequest.expectedSupplyDuration",
            ),
            (given.quantity == current.quantity, f"{here}.dispenseRequest.quantity"),
            (given.note == current.note, f"{here}.note"),
        ]
    )
    if given.status == current.status:
        return False
    if given.status != "cancelled":
        raise MappingError(
            _("Cambio de estado no admitido: %(old)s → %(new)s.")
            % {"old": current.status, "new": given.status},
            f"{here}.status",
        )
    if current.status == "completed":
        raise Conflict(_("El renglón ya fue surtido por completo."), field="status")
    if not given.status_reason:
        raise MappingError(
            _("Indique el motivo de la cancelación (statusReason.text)."), f"{here}.statusReason"
        )
    prescribing.prescription_cancel(
        actor, prescription=line.prescription, reason=given.status_reason
    )
    return True


def _request_lock(actor: Actor, resource_id: str) -> PrescriptionLine | None:
    """The line and its prescription, locked prescription first (the order every prescribing
    service locks in); the version derives from both rows' change times."""
    public_id = uuid_or_none(resource_id)
    if public_id is None:
        return None
    lines = rx.prescription_lines_visible_to(actor)
    prescription_id = lines.filter(public_id=public_id).values_list("prescription_id").first()
    if prescription_id is None:
        return None
    rx.prescriptions_visible_to(actor).select_for_update(of=("self",)).filter(
        pk=prescription_id[0]
    ).first()
    line: PrescriptionLine | None = locked(
        lines.select_related(
            "prescription__encounter", "prescription__prescriber", "person", "medicine"
        ),
        resource_id,
    )
    if line is not None:
        line.version = derived_version(line.updated_at, line.prescription.updated_at)  # type: ignore[attr-defined]
    return line


MEDICATION_REQUEST = Writer(
    create=_request_create,
    update=_request_update,
    lock=_request_lock,
    paths=rx_map.FIELD_PATHS,
)


# --- MedicationDispense ------------------------------------------------------------------------------


def _dispense_create(actor: Actor, data: dict[str, Any]) -> DispenseLine:
    given = rx_map.medication_dispense_from_fhir(data)
    pharmacy = prescribing.actor_pharmacy(actor)
    request_id = uuid_or_none(given.request_id)
    line = (
        rx.prescription_lines_visible_to(actor)
        .select_related("prescription", "person")
        .filter(public_id=request_id)
        .first()
        if request_id is not None
        else None
    )
    if line is None:
        raise OutOfScope()
    if given.person_id is not None and given.person_id != str(line.person.public_id):
        raise MappingError(_("El paciente no es el de la receta."), "MedicationDispense.subject")
    if given.medicine_key != line.medicine_id:
        raise MappingError(
            _("El medicamento no es el de la receta."), "MedicationDispense.medicationReference"
        )
    if given.location_id is not None and given.location_id != str(pharmacy.public_id):
        raise Forbidden(_("Solo puede surtir en la farmacia de su propio establecimiento."))
    _own_practitioner(
        actor,
        given.performer_id,
        "MedicationDispense.performer[0].actor",
        _("Quien surte es el profesional de su usuario: omita performer o indíquelo a él."),
    )
    require_now(
        given.handed_over_at,
        "MedicationDispense.whenHandedOver",
        _("El surtimiento se registra al entregar: omita whenHandedOver o indique la hora actual."),
    )
    dispense = prescribing.dispense_record(
        actor,
        prescription=line.prescription,
        pharmacy=pharmacy,
        lines=[
            prescribing.DispenseLineInput(
                line=line,
                quantity=given.quantity,
                reason_if_unfilled=given.unfilled_reason,
                note=given.unfilled_note,
            )
        ],
    )
    return rx.dispense_lines_visible_to(actor).get(dispense=dispense)


def _dispense_update(actor: Actor, row: DispenseLine, data: dict[str, Any]) -> bool:
    """A dispense stays as recorded (its units left the shelf): only a PUT of what is there is
    answered, unchanged."""
    given = rx_map.medication_dispense_from_fhir(data)
    current = rx_map.medication_dispense_from_fhir(rx_map.medication_dispense_to_fhir(row))
    here = "MedicationDispense"
    refuse_changes(
        [
            (given.request_id == current.request_id, f"{here}.authorizingPrescription"),
            (given.person_id in (None, current.person_id), f"{here}.subject"),
            (given.medicine_key == current.medicine_key, f"{here}.medicationReference"),
            (given.status == current.status, f"{here}.status"),
            (given.quantity == current.quantity, f"{here}.quantity"),
            (given.location_id in (None, current.location_id), f"{here}.location"),
            (given.performer_id is None, f"{here}.performer"),
            (
                given.handed_over_at is None
                or same_second(given.handed_over_at, current.handed_over_at),
                f"{here}.whenHandedOver",
            ),
            (
                given.unfilled_reason in ("", row.unfilled_reason)
                and given.unfilled_note in ("", row.unfilled_note),
                f"{here}.statusReasonCodeableConcept",
            ),
        ]
    )
    return False


def _dispense_lock(actor: Actor, resource_id: str) -> DispenseLine | None:
    row: DispenseLine | None = locked(
        rx.dispense_lines_visible_to(actor).select_related(
            "dispense__pharmacy", "prescription_line__medicine", "person"
        ),
        resource_id,
    )
    if row is not None:
        row.version = derived_version(row.updated_at)  # type: ignore[attr-defined]
    return row


MEDICATION_DISPENSE = Writer(
    create=_dispense_create,
    update=_dispense_update,
    lock=_dispense_lock,
    paths=rx_map.DISPENSE_FIELD_PATHS,
)
