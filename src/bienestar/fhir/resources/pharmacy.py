"""MedicationRequest (a prescription line) and MedicationDispense (a dispensed line), through
prescribing.selectors' scoped querysets; written through prescribing.services (fhir/writes/
pharmacy.py)."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from bienestar.access.roles import Permission
from bienestar.fhir import systems
from bienestar.fhir.mappers.medication_request import (
    medication_dispense_to_fhir,
    medication_request_to_fhir,
    request_status_q,
)
from bienestar.fhir.params import NOTHING, choice_token
from bienestar.fhir.registry import DATE, TOKEN, Include, ResourceDef, SearchParam, register
from bienestar.fhir.resources.common import (
    id_param,
    last_updated_param,
    patient_params,
    reference_param,
)
from bienestar.prescribing.selectors import (
    dispense_lines_visible_to,
    prescription_lines_visible_to,
)

REQUEST_STATUSES = ("active", "completed", "cancelled", "stopped")


def _request_status(system: str | None, code: str) -> Q:
    if system not in (None, "http://hl7.org/fhir/CodeSystem/medicationrequest-status"):
        return NOTHING
    if not code:
        return Q()
    return request_status_q(code, timezone.localdate()) if code in REQUEST_STATUSES else NOTHING


def _catalogue_code(field: str):  # type: ignore[no-untyped-def]
    def build(system: str | None, code: str) -> Q:
        if system not in (None, systems.MEDICINE_CATALOGUE):
            return NOTHING
        return Q(**{field: code.strip()}) if code else Q()

    return build


MEDICATION_REQUEST = register(
    ResourceDef(
        type="MedicationRequest",
        read_permission=Permission.PRESCRIPTION_READ,
        write_permission=Permission.PRESCRIBE,
        queryset=prescription_lines_visible_to,
        load=lambda qs: qs.select_related(
            "prescription__encounter", "prescription__prescriber", "person", "medicine"
        ),
        to_fhir=lambda rows, actor: [
            medication_request_to_fhir(line, today=timezone.localdate()) for line in rows
        ],
        audit_type="PrescriptionLine",
        documentation="Prescription lines of persons inside the caller's territory; the lines "
        "of one prescription share groupIdentifier.",
        params={
            "_id": id_param(),
            "_lastUpdated": last_updated_param(),
            **patient_params(),
            "status": SearchParam(
                "status", TOKEN, "active | completed | cancelled | stopped", token=_request_status
            ),
            "intent": SearchParam(
                "intent", TOKEN, "order", token=choice_token("pk__isnull", {"order": False})
            ),
            "authoredon": SearchParam(
                "authoredon",
                DATE,
                "When prescribed",
                date_fields=("prescription__authored_at", None),
            ),
            "medication": reference_param(
                "medication",
                "medicine_id",
                ("Medication",),
                "The catalogue medicine",
                uuid_ids=False,
            ),
            "code": SearchParam(
                "code", TOKEN, "Catalogue key of the medicine", token=_catalogue_code("medicine_id")
            ),
            "encounter": reference_param(
                "encounter", "prescription__encounter__public_id", ("Encounter",), "Encounter"
            ),
            "requester": reference_param(
                "requester",
                "prescription__prescriber__public_id",
                ("Practitioner",),
                "Who prescribed",
            ),
        },
        sorts={
            "authoredon": ("prescription__authored_at", "position"),
            "_lastUpdated": ("updated_at",),
        },
        includes={
            "patient": Include("patient", "Patient", "person"),
            "subject": Include("subject", "Patient", "person"),
            "medication": Include("medication", "Medication", "medicine"),
            "requester": Include("requester", "Practitioner", "prescription__prescriber"),
        },
    )
)


def _dispense_status(system: str | None, code: str) -> Q:
    if system not in (None, "http://terminology.hl7.org/CodeSystem/medicationdispense-status"):
        return NOTHING
    return {"completed": Q(quantity__gt=0), "declined": Q(quantity=0), "": Q()}.get(code, NOTHING)


MEDICATION_DISPENSE = register(
    ResourceDef(
        type="MedicationDispense",
        read_permission=Permission.PRESCRIPTION_READ,
        write_permission=Permission.DISPENSE,
        queryset=dispense_lines_visible_to,
        load=lambda qs: qs.select_related(
            "dispense__pharmacy", "prescription_line__medicine", "person"
        ),
        to_fhir=lambda rows, actor: [medication_dispense_to_fhir(line) for line in rows],
        audit_type="DispenseLine",
        documentation="What pharmacies handed over, line by line, for persons inside the "
        "caller's territory.",
        params={
            "_id": id_param(),
            "_lastUpdated": last_updated_param(),
            **patient_params(),
            "prescription": reference_param(
                "prescription",
                "prescription_line__public_id",
                ("MedicationRequest",),
                "The prescription line dispensed",
            ),
            "status": SearchParam("status", TOKEN, "completed | declined", token=_dispense_status),
            "whenhandedover": SearchParam(
                "whenhandedover", DATE, "When handed over", date_fields=("dispense__at", None)
            ),
            "medication": reference_param(
                "medication",
                "prescription_line__medicine_id",
                ("Medication",),
                "The catalogue medicine",
                uuid_ids=False,
            ),
        },
        sorts={"whenhandedover": ("dispense__at",), "_lastUpdated": ("updated_at",)},
        includes={
            "patient": Include("patient", "Patient", "person"),
            "subject": Include("subject", "Patient", "person"),
            "prescription": Include("prescription", "MedicationRequest", "prescription_line"),
            "medication": Include("medication", "Medication", "prescription_line__medicine"),
        },
    )
)
