"""MedicationRequest ↔ a prescription line; MedicationDispense ↔ a dispensed line (read only).

A prescription (receta) of several medicines is several MedicationRequests sharing a
`groupIdentifier` (the prescription's opaque id). Its verification code is not disclosed here: it
lets a pharmacist of any territory open the prescription, so it stays on the paper and the page.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from bienestar.fhir import systems
from bienestar.fhir.mappers.common import (
    coding,
    concept,
    date,
    date_time,
    derived_version,
    meta,
    reference,
)
from bienestar.fhir.mappers.medication import medication_reference
from bienestar.prescribing.models import (
    DISPENSABLE,
    DispenseLine,
    LineStatus,
    PrescriptionLine,
    PrescriptionStatus,
)


def request_status(line: PrescriptionLine, today: dt.date) -> str:
    """A line fully dispensed is completed; otherwise its prescription decides: cancelled, expired
    (stopped: nothing more will be dispensed) or still dispensable (active)."""
    if line.status == LineStatus.COMPLETED:
        return "completed"
    status = line.prescription.status_on(today)
    if status == PrescriptionStatus.CANCELLED:
        return "cancelled"
    if status == PrescriptionStatus.EXPIRED:
        return "stopped"
    return "active"


def request_status_q(status: str, today: dt.date) -> Q:
    """The rows `request_status` maps to `status`, as a filter on PrescriptionLine."""
    open_line = ~Q(status=LineStatus.COMPLETED)
    if status == "completed":
        return Q(status=LineStatus.COMPLETED)
    if status == "cancelled":
        return open_line & Q(prescription__status=PrescriptionStatus.CANCELLED)
    if status == "stopped":
        return open_line & (
            Q(prescription__status=PrescriptionStatus.EXPIRED)
            | Q(prescription__status__in=DISPENSABLE, prescription__valid_until__lt=today)
        )
    if status == "active":
        return open_line & Q(
            prescription__status__in=DISPENSABLE, prescription__valid_until__gte=today
        )
    return Q(pk__in=[])


def medication_request_to_fhir(line: PrescriptionLine, *, today: dt.date) -> dict[str, Any]:
    prescription = line.prescription
    resource: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": str(line.public_id),
        "meta": meta(
            derived_version(line.updated_at, prescription.updated_at),
            max(line.updated_at, prescription.updated_at),
        ),
        "groupIdentifier": {"system": systems.PRESCRIPTION, "value": str(prescription.public_id)},
        "status": request_status(line, today),
        "intent": "order",
        "medicationReference": medication_reference(line.medicine),
        "subject": reference("Patient", line.person.public_id),
    }
    if prescription.encounter is not None:
        resource["encounter"] = reference("Encounter", prescription.encounter.public_id)
    resource["authoredOn"] = date_time(prescription.authored_at)
    if prescription.prescriber is not None:
        resource["requester"] = reference(
            "Practitioner", prescription.prescriber.public_id, str(prescription.prescriber)
        )
    text = f"{line.dose}, {line.frequency}, {line.duration_days} d"
    if line.instructions:
        text += f". {line.instructions}"
    resource["dosageInstruction"] = [{"sequence": line.position, "text": text}]
    resource["dispenseRequest"] = {
        "validityPeriod": {
            "start": date(timezone.localdate(prescription.authored_at)),
            "end": date(prescription.valid_until),
        },
        "quantity": {"value": line.quantity},
        "expectedSupplyDuration": {
            "value": line.duration_days,
            "unit": "d",
            "system": systems.UCUM,
            "code": "d",
        },
    }
    if prescription.note:
        resource["note"] = [{"text": prescription.note}]
    return resource


def medication_dispense_to_fhir(line: DispenseLine) -> dict[str, Any]:
    """One prescription line at one visit to a pharmacy. Nothing handed over (an unfilled line with
    its reason) is `declined`."""
    dispense = line.dispense
    requested = line.prescription_line
    resource: dict[str, Any] = {
        "resourceType": "MedicationDispense",
        "id": str(line.public_id),
        "meta": meta(derived_version(line.updated_at), line.updated_at),
        "status": "completed" if line.quantity > 0 else "declined",
    }
    if line.unfilled_quantity and line.unfilled_reason:
        reason = concept(
            coding(
                systems.UNFILLED_REASON, line.unfilled_reason, line.get_unfilled_reason_display()
            ),
            text=line.unfilled_note or None,
        )
        if line.quantity == 0:
            resource["statusReasonCodeableConcept"] = reason
    resource["medicationReference"] = medication_reference(requested.medicine)
    resource["subject"] = reference("Patient", line.person.public_id)
    resource["location"] = reference(
        "Location", dispense.pharmacy.public_id, dispense.pharmacy.name
    )
    resource["authorizingPrescription"] = [reference("MedicationRequest", requested.public_id)]
    resource["quantity"] = {"value": line.quantity}
    resource["whenHandedOver"] = date_time(dispense.at)
    if line.unfilled_quantity:
        note = _("%(n)d sin surtir (%(reason)s)") % {
            "n": line.unfilled_quantity,
            "reason": line.get_unfilled_reason_display(),
        }
        if line.unfilled_note:
            note += f": {line.unfilled_note}"
        resource["note"] = [{"text": note}]
    return resource
