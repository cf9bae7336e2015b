"""MedicationRequest ↔ a prescription line; MedicationDispense ↔ a dispensed line.

A prescription (receta) of several medicines is several MedicationRequests sharing a
`groupIdentifier` (the prescription's opaque id). Its verification code is not disclosed here: it
lets a pharmacist of any territory open the prescription, so it stays on the paper and the page.

The way back (`*_from_fhir`, for create and update, see fhir/writes/pharmacy.py) reads:

- MedicationRequest: the medicine (`medicationReference` Medication/<catalogue key>, or a
  `medicationCodeableConcept` coded in the catalogue), `subject`, `encounter`, `requester`,
  `authoredOn`, the units to hand over (`dispenseRequest.quantity`), and one `dosageInstruction`:
  dose from `doseAndRate[0].doseQuantity`, frequency from `timing.code.text` or `timing.repeat`
  (frequency/period/periodUnit), duration in days from `timing.repeat.boundsDuration` or
  `dispenseRequest.expectedSupplyDuration`, instructions from `patientInstruction`. Whatever of
  these is missing is read from `dosageInstruction.text` in the form Bienestar writes it
  ("<dose>, <frequency>, <n> d[. <instructions>]"), so a resource read from this server can be
  sent back as it is.
- MedicationDispense: the prescription line (`authorizingPrescription`, exactly one), the units
  handed over (`quantity.value`, 0 allowed with status `declined`), and why the rest of the line
  is not handed over: `statusReasonCodeableConcept`, coded in the unfilled-reason code system
  (out_of_stock, not_in_catalogue, patient_declined, other), its `text` being the note (required
  with `other`); a text without a code is the reason `other` with that text.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from bienestar.fhir import systems
from bienestar.fhir.errors import MappingError
from bienestar.fhir.mappers.common import (
    codes_of,
    coding,
    concept,
    date,
    date_time,
    decimal_of,
    derived_version,
    meta,
    number,
    parse_date_time,
    reference,
    reference_id,
)
from bienestar.fhir.mappers.medication import medication_reference
from bienestar.prescribing.models import (
    DispenseLine,
    LineStatus,
    PrescriptionLine,
    PrescriptionStatus,
    UnfilledReason,
    dispensable_on_q,
    lapsed_on_q,
)

FIELD_PATHS = {
    "person": "MedicationRequest.subject",
    "encounter": "MedicationRequest.encounter",
    "facility": "MedicationRequest.encounter",
    "medicine": "MedicationRequest.medicationReference",
    "lines": "MedicationRequest",
    "quantity": "MedicationRequest.dispenseRequest.quantity",
    "dose": "MedicationRequest.dosageInstruction[0].doseAndRate",
    "frequency": "MedicationRequest.dosageInstruction[0].timing",
    "duration_days": "MedicationRequest.dispenseRequest.expectedSupplyDuration",
    "instructions": "MedicationRequest.dosageInstruction[0].patientInstruction",
    "note": "MedicationRequest.note",
    "reason": "MedicationRequest.statusReason",
    "status": "MedicationRequest.status",
}
DISPENSE_FIELD_PATHS = {
    "line": "MedicationDispense.authorizingPrescription",
    "lines": "MedicationDispense.authorizingPrescription",
    # The prescription's status: cancelled, expired or completed (409).
    "status": "MedicationDispense.authorizingPrescription",
    "quantity": "MedicationDispense.quantity",
    "reason_if_unfilled": "MedicationDispense.statusReasonCodeableConcept",
    "note": "MedicationDispense.statusReasonCodeableConcept.text",
    "idempotency_key": "MedicationDispense",
}
REQUEST_STATUS_SYSTEM = "http://hl7.org/fhir/CodeSystem/medicationrequest-status"


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
            | lapsed_on_q(today, prefix="prescription__")
        )
    if status == "active":
        return open_line & dispensable_on_q(today, prefix="prescription__")
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


# --- the way back ------------------------------------------------------------------------------------

# "<dose>, <frequency>, <n> d[. <instructions>]", as medication_request_to_fhir writes it.
_DOSAGE_TEXT = re.compile(
    r"^(?P<dose>.+?), (?P<frequency>.+?), (?P<days>\d+) d(?:\. (?P<instructions>.*))?$", re.S
)
_DAY_UNITS = {"d", "day", "days", "día", "días", "dia", "dias"}
# timing.repeat.periodUnit → the Spanish unit a prescription line is written with (stored text,
# not a translated label: the pharmacy reads it as the doctor wrote it).
_PERIOD_UNITS = {
    "h": ("hora", "horas"),
    "d": ("día", "días"),
    "wk": ("semana", "semanas"),
    "mo": ("mes", "meses"),
}


@dataclass(frozen=True)
class MedicationRequestInput:
    person_id: str
    medicine_key: str
    quantity: int
    dose: str
    frequency: str
    duration_days: int
    status: str
    instructions: str = ""
    intent: str = "order"
    encounter_id: str | None = None
    requester_id: str | None = None
    authored_at: dt.datetime | None = None
    note: str = ""
    # (system, value) of groupIdentifier, when given.
    group: tuple[str, str] | None = None
    status_reason: str = ""


def _text(value: Any) -> str:
    return " ".join(str(value or "").split())


def _whole(value: Any, path: str) -> int:
    """A JSON number that must be a whole number of units or days."""
    if isinstance(value, bool) or value is None:
        raise MappingError(_("Indique un número entero."), path)
    amount: Decimal = decimal_of(value, path)
    if not amount.is_finite() or amount != amount.to_integral_value():
        raise MappingError(_("Indique un número entero."), path)
    return int(amount)


def medicine_key_of(data: Mapping[str, Any], resource_type: str) -> str:
    """The catalogue key of `medicationReference` (Medication/<key>) or of a
    `medicationCodeableConcept` coded in the national catalogue."""
    if data.get("medicationReference"):
        return reference_id(
            data["medicationReference"], "Medication", f"{resource_type}.medicationReference"
        )
    keys = codes_of(data.get("medicationCodeableConcept"), systems.MEDICINE_CATALOGUE)
    if not keys:
        raise MappingError(
            _("Indique el medicamento: Medication/<clave> o un código de %(system)s.")
            % {"system": systems.MEDICINE_CATALOGUE},
            f"{resource_type}.medicationCodeableConcept",
        )
    return keys[0].strip()


def _days(value: Any, path: str) -> int:
    if not isinstance(value, dict) or value.get("value") is None:
        raise MappingError(_("Indique la duración en días."), path)
    unit = value.get("code") or value.get("unit") or "d"
    if str(unit).strip().lower() not in _DAY_UNITS:
        raise MappingError(_("Indique la duración en días (d)."), path)
    return _whole(value["value"], f"{path}.value")


def _frequency(timing: Any, path: str) -> str:
    """A frequency in words, from `timing.code.text` or `timing.repeat`; "" when neither."""
    if not isinstance(timing, dict):
        return ""
    code = timing.get("code") or {}
    if isinstance(code, dict) and _text(code.get("text")):
        return _text(code.get("text"))
    repeat = timing.get("repeat") or {}
    if not isinstance(repeat, dict) or repeat.get("period") is None:
        return ""
    unit = _PERIOD_UNITS.get(str(repeat.get("periodUnit") or ""))
    if unit is None:
        raise MappingError(
            _("Unidad de periodo no admitida; use h, d, wk o mo."), f"{path}.repeat.periodUnit"
        )
    times = _whole(repeat.get("frequency", 1), f"{path}.repeat.frequency")
    period = decimal_of(repeat["period"], f"{path}.repeat.period")
    if times < 1 or period <= 0:
        raise MappingError(_("Frecuencia inválida."), f"{path}.repeat")
    every = number(period)
    if times == 1:
        return f"cada {every} {unit[0] if every == 1 else unit[1]}"
    if every == 1:
        return f"{times} veces al {unit[0]}" if unit[0] == "día" else f"{times} veces por {unit[0]}"
    return f"{times} veces cada {every} {unit[1]}"


def _dose(dosage: dict[str, Any], path: str) -> str:
    rates = dosage.get("doseAndRate") or []
    first = rates[0] if rates and isinstance(rates[0], dict) else {}
    quantity = first.get("doseQuantity")
    if not isinstance(quantity, dict) or quantity.get("value") is None:
        return ""
    value = number(decimal_of(quantity["value"], f"{path}.doseAndRate[0].doseQuantity.value"))
    unit = _text(quantity.get("unit") or quantity.get("code"))
    return f"{value} {unit}".strip()


def medication_request_from_fhir(data: Mapping[str, Any]) -> MedicationRequestInput:
    """One prescription line from a MedicationRequest. Pure; MappingError with the element."""
    status = str(data.get("status") or "")
    intent = str(data.get("intent") or "")
    if intent != "order":
        raise MappingError(
            _("Solo se admiten órdenes (intent = order)."), "MedicationRequest.intent"
        )
    medicine_key = medicine_key_of(data, "MedicationRequest")
    person_id = reference_id(data.get("subject"), "Patient", "MedicationRequest.subject")
    encounter_id = (
        reference_id(data["encounter"], "Encounter", "MedicationRequest.encounter")
        if data.get("encounter")
        else None
    )
    requester_id = (
        reference_id(data["requester"], "Practitioner", "MedicationRequest.requester")
        if data.get("requester")
        else None
    )
    authored_at = (
        parse_date_time(data["authoredOn"], "MedicationRequest.authoredOn")
        if data.get("authoredOn")
        else None
    )
    dosages = data.get("dosageInstruction") or []
    if not dosages:
        raise MappingError(
            _("Indique la dosis, la frecuencia y la duración."),
            "MedicationRequest.dosageInstruction",
        )
    if len(dosages) > 1:
        raise MappingError(
            _("Un renglón de receta lleva una sola indicación de dosis."),
            "MedicationRequest.dosageInstruction[1]",
        )
    here = "MedicationRequest.dosageInstruction[0]"
    dosage = dosages[0]
    parsed = _DOSAGE_TEXT.match(_text(dosage.get("text")))
    dose = _dose(dosage, here) or (_text(parsed["dose"]) if parsed else "")
    timing = dosage.get("timing")
    frequency = _frequency(timing, f"{here}.timing") or (
        _text(parsed["frequency"]) if parsed else ""
    )
    if not dose or not frequency:
        raise MappingError(
            _(
                "Indique la dosis (doseAndRate.doseQuantity) y la frecuencia (timing), o el "
                "texto «dosis, frecuencia, N d»."
            ),
            here,
        )
    instructions = _text(dosage.get("patientInstruction"))
    if not instructions and parsed and parsed["instructions"]:
        instructions = _text(parsed["instructions"])
    dispense_request = data.get("dispenseRequest") or {}
    bounds = ((timing or {}).get("repeat") or {}).get("boundsDuration")
    if bounds:
        days = _days(bounds, f"{here}.timing.repeat.boundsDuration")
    elif dispense_request.get("expectedSupplyDuration"):
        days = _days(
            dispense_request["expectedSupplyDuration"],
            "MedicationRequest.dispenseRequest.expectedSupplyDuration",
        )
    elif parsed:
        days = int(parsed["days"])
    else:
        raise MappingError(
            _("Indique la duración del tratamiento en días."),
            "MedicationRequest.dispenseRequest.expectedSupplyDuration",
        )
    quantity = dispense_request.get("quantity") or {}
    if quantity.get("value") is None:
        raise MappingError(
            _("Indique las unidades a surtir."), "MedicationRequest.dispenseRequest.quantity"
        )
    units = _whole(quantity["value"], "MedicationRequest.dispenseRequest.quantity.value")
    notes = data.get("note") or []
    note = _text(notes[0].get("text")) if notes else ""
    group = data.get("groupIdentifier") or {}
    reason = data.get("statusReason") or {}
    reason_text = _text(reason.get("text")) or next(
        (
            _text(c.get("display") or c.get("code"))
            for c in reason.get("coding") or []
            if c.get("display") or c.get("code")
        ),
        "",
    )
    return MedicationRequestInput(
        person_id=person_id,
        medicine_key=medicine_key,
        quantity=units,
        dose=dose,
        frequency=frequency,
        duration_days=days,
        status=status,
        instructions=instructions,
        intent=intent,
        encounter_id=encounter_id,
        requester_id=requester_id,
        authored_at=authored_at,
        note=note,
        group=(str(group.get("system") or ""), str(group.get("value") or "")) if group else None,
        status_reason=reason_text,
    )


@dataclass(frozen=True)
class MedicationDispenseInput:
    request_id: str
    quantity: int
    status: str
    medicine_key: str
    person_id: str | None = None
    location_id: str | None = None
    performer_id: str | None = None
    handed_over_at: dt.datetime | None = None
    # An UnfilledReason value, or "" when none is given.
    unfilled_reason: str = ""
    unfilled_note: str = ""


DISPENSE_STATUSES = ("completed", "declined")


def medication_dispense_from_fhir(data: Mapping[str, Any]) -> MedicationDispenseInput:
    """One prescription line at one visit to the pharmacy. Pure; MappingError with the element."""
    status = str(data.get("status") or "")
    if status not in DISPENSE_STATUSES:
        raise MappingError(
            _(
                "Estado no admitido: %(s)s. Un surtimiento registrado es completed (se "
                "entregaron unidades) o declined (ninguna)."
            )
            % {"s": status},
            "MedicationDispense.status",
        )
    prescriptions = data.get("authorizingPrescription") or []
    if len(prescriptions) != 1:
        raise MappingError(
            _("Indique el renglón de receta que se surte (un MedicationRequest)."),
            "MedicationDispense.authorizingPrescription",
        )
    request_id = reference_id(
        prescriptions[0], "MedicationRequest", "MedicationDispense.authorizingPrescription[0]"
    )
    quantity = data.get("quantity") or {}
    if quantity.get("value") is None:
        raise MappingError(
            _("Indique las unidades entregadas (0 si ninguna)."), "MedicationDispense.quantity"
        )
    units = _whole(quantity["value"], "MedicationDispense.quantity.value")
    if units < 0:
        raise MappingError(
            _("Las unidades no pueden ser negativas."), "MedicationDispense.quantity.value"
        )
    if (status == "completed") != (units > 0):
        raise MappingError(
            _("Con unidades entregadas el estado es completed; sin ninguna, declined."),
            "MedicationDispense.status",
        )
    person_id = (
        reference_id(data["subject"], "Patient", "MedicationDispense.subject")
        if data.get("subject")
        else None
    )
    location_id = (
        reference_id(data["location"], "Location", "MedicationDispense.location")
        if data.get("location")
        else None
    )
    performer_id = None
    for index, performer in enumerate(data.get("performer") or []):
        performer_id = reference_id(
            performer.get("actor"), "Practitioner", f"MedicationDispense.performer[{index}].actor"
        )
        break
    handed_over_at = (
        parse_date_time(data["whenHandedOver"], "MedicationDispense.whenHandedOver")
        if data.get("whenHandedOver")
        else None
    )
    reason_concept = data.get("statusReasonCodeableConcept") or {}
    reasons = codes_of(reason_concept, systems.UNFILLED_REASON)
    note = _text(reason_concept.get("text"))
    reason = reasons[0] if reasons else (UnfilledReason.OTHER.value if note else "")
    if reason and reason not in UnfilledReason.values:
        raise MappingError(
            _("Motivo de no surtimiento desconocido: %(code)s. Use uno de: %(all)s.")
            % {"code": reason, "all": ", ".join(UnfilledReason.values)},
            "MedicationDispense.statusReasonCodeableConcept",
        )
    return MedicationDispenseInput(
        request_id=request_id,
        quantity=units,
        status=status,
        medicine_key=medicine_key_of(data, "MedicationDispense"),
        person_id=person_id,
        location_id=location_id,
        performer_id=performer_id,
        handed_over_at=handed_over_at,
        unfilled_reason=reason,
        unfilled_note=note,
    )
