"""MedicationRequest written through prescribing.services (one line, one prescription; cancel
only), its authorization matrix with nothing written on refusal, and the helpers the
MedicationDispense tests (test_write_dispense.py) share."""

from __future__ import annotations

import copy
import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from django.db.models import Sum

from bienestar.access.models import AuditAction, AuditEvent
from bienestar.fhir import systems
from bienestar.fhir.errors import MappingError
from bienestar.fhir.mappers.medication_request import medication_request_from_fhir
from bienestar.fhir.models import ResourceVersion
from bienestar.fhir.tests.client import FhirClient, assert_valid
from bienestar.inventory.models import Lot
from bienestar.inventory.tests.factories import ENALAPRIL, METFORMIN, receive
from bienestar.prescribing.models import (
    Prescription,
    PrescriptionLine,
    PrescriptionStatus,
)
from bienestar.prescribing.tests.factories import state as rx_state

pytestmark = pytest.mark.django_db


def state() -> dict[str, Any]:
    """Every row a refused prescribing or dispensing write must leave as it was."""
    return {**rx_state(), "versions": ResourceVersion.objects.count()}


def request_resource(person: Any, **overrides: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        "medicationReference": {"reference": f"Medication/{METFORMIN}"},
        "subject": {"reference": f"Patient/{person.public_id}"},
        "dosageInstruction": [
            {
                "text": "1 tableta",
                "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "tableta"}}],
                "timing": {
                    "repeat": {
                        "frequency": 1,
                        "period": 12,
                        "periodUnit": "h",
                        "boundsDuration": {
                            "value": 30,
                            "unit": "d",
                            "system": systems.UCUM,
                            "code": "d",
                        },
                    }
                },
                "patientInstruction": "Con alimentos",
            }
        ],
        "dispenseRequest": {"quantity": {"value": 60}},
    }
    resource.update(overrides)
    return resource


def dispense_resource(
    request_id: Any, quantity: int, *, reason: str | None = None, text: str | None = None
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "MedicationDispense",
        "status": "completed" if quantity else "declined",
        "medicationReference": {"reference": f"Medication/{METFORMIN}"},
        "authorizingPrescription": [{"reference": f"MedicationRequest/{request_id}"}],
        "quantity": {"value": quantity},
    }
    if reason or text:
        concept: dict[str, Any] = {}
        if reason:
            concept["coding"] = [{"system": systems.UNFILLED_REASON, "code": reason}]
        if text:
            concept["text"] = text
        resource["statusReasonCodeableConcept"] = concept
    return resource


def only_line(prescription: Prescription) -> PrescriptionLine:
    return PrescriptionLine.objects.get(prescription=prescription)


def ledger_ok() -> bool:
    """Every lot's balance is the sum of its ledger."""
    return all(
        lot.quantity == (lot.movements.aggregate(total=Sum("quantity"))["total"] or 0)
        for lot in Lot.objects.all()
    )


# --- MedicationRequest -------------------------------------------------------------------------------


def test_a_medication_request_is_a_one_line_prescription(users, net, jose):
    client = FhirClient(users["clinician"])

    response = client.post("MedicationRequest", request_resource(jose))

    assert response.status_code == 201, response.json()
    body = response.json()
    assert_valid(body)
    line_row = PrescriptionLine.objects.select_related("prescription").get(public_id=body["id"])
    prescription = line_row.prescription
    assert (line_row.medicine_id, line_row.quantity, line_row.duration_days) == (METFORMIN, 60, 30)
    assert (line_row.dose, line_row.frequency, line_row.instructions) == (
        "1 tableta",
        "cada 12 horas",
        "Con alimentos",
    )
    assert prescription.person == jose
    assert prescription.facility == net.centre
    assert prescription.prescriber == users["clinician"].practitioner
    assert body["groupIdentifier"] == {
        "system": systems.PRESCRIPTION,
        "value": str(prescription.public_id),
    }
    assert body["status"] == "active"
    assert response["Location"].endswith(
        f"/MedicationRequest/{body['id']}/_history/{body['meta']['versionId']}"
    )
    event = AuditEvent.objects.get(action=AuditAction.CREATE, resource_type="Prescription")
    assert (event.channel, event.person_id, event.resource_id) == (
        "fhir",
        jose.id,
        str(prescription.public_id),
    )
    assert_valid(client.get(f"MedicationRequest/{body['id']}").json())


def test_a_medication_request_read_from_the_server_can_be_sent_back_as_a_new_one(users, net, jose):
    """The dosage text Bienestar writes ("<dose>, <frequency>, <n> d. <instructions>") reads back."""
    client = FhirClient(users["clinician"])
    first = client.post("MedicationRequest", request_resource(jose)).json()
    copy_of = {
        k: v for k, v in first.items() if k not in ("id", "meta", "groupIdentifier", "authoredOn")
    }

    response = client.post("MedicationRequest", copy_of)

    assert response.status_code == 201, response.json()
    a, b = PrescriptionLine.objects.order_by("id")
    assert a.prescription_id != b.prescription_id
    fields = ("medicine_id", "quantity", "dose", "frequency", "duration_days", "instructions")
    assert [getattr(a, f) for f in fields] == [getattr(b, f) for f in fields]


@pytest.mark.parametrize(
    ("change", "status", "path"),
    [
        ({"intent": "plan"}, 422, "MedicationRequest.intent"),
        ({"status": "draft"}, 422, "MedicationRequest.status"),
        (
            {"groupIdentifier": {"system": systems.PRESCRIPTION, "value": str(uuid.uuid4())}},
            422,
            "MedicationRequest.groupIdentifier",
        ),
        ({"authoredOn": "2024-01-01T10:00:00-06:00"}, 422, "MedicationRequest.authoredOn"),
        (
            {"medicationReference": {"reference": "Medication/999.999.9999.99"}},
            422,
            "MedicationRequest.medicationReference",
        ),
        (
            {"dispenseRequest": {"quantity": {"value": 0}}},
            422,
            "MedicationRequest.dispenseRequest.quantity",
        ),
        (
            {"dispenseRequest": {"quantity": {"value": 2.5}}},
            422,
            "MedicationRequest.dispenseRequest.quantity.value",
        ),
        (
            {"dosageInstruction": [{"text": "lo de siempre"}]},
            422,
            "MedicationRequest.dosageInstruction[0]",
        ),
        (
            {"requester": {"reference": f"Practitioner/{uuid.uuid4()}"}},
            422,
            "MedicationRequest.requester",
        ),
        (
            {"encounter": {"reference": f"Encounter/{uuid.uuid4()}"}},
            422,
            "MedicationRequest.encounter",
        ),
    ],
)
def test_a_medication_request_that_cannot_be_a_prescription_is_refused_naming_the_element(
    users, net, jose, change, status, path
):
    before = state()

    response = FhirClient(users["clinician"]).post(
        "MedicationRequest", request_resource(jose, **change)
    )

    assert response.status_code == status, response.json()
    issues = response.json()["issue"]
    assert any(path in (i.get("expression") or [""]) for i in issues), issues
    assert state() == before


def test_cancelling_a_medication_request_cancels_its_prescription(users, net, jose):
    client = FhirClient(users["clinician"])
    created = client.post("MedicationRequest", request_resource(jose)).json()
    version = created["meta"]["versionId"]
    cancelled = copy.deepcopy(created)
    cancelled["status"] = "cancelled"
    cancelled["statusReason"] = {"text": "Cambio de tratamiento"}

    response = client.put(
        f"MedicationRequest/{created['id']}", cancelled, **{"If-Match": f'W/"{version}"'}
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "cancelled"
    assert body["meta"]["versionId"] != version
    prescription = PrescriptionLine.objects.get(public_id=created["id"]).prescription
    assert (prescription.status, prescription.cancel_reason) == (
        PrescriptionStatus.CANCELLED,
        "Cambio de tratamiento",
    )
    assert AuditEvent.objects.filter(
        action=AuditAction.UPDATE,
        resource_type="Prescription",
        channel="fhir",
        query__change="cancel",
    ).exists()
    # The version before the cancellation is kept, and a PUT on it now is stale.
    assert (
        client.get(f"MedicationRequest/{created['id']}/_history/{version}").json()["status"]
        == "active"
    )
    stale = client.put(
        f"MedicationRequest/{created['id']}", created, **{"If-Match": f'W/"{version}"'}
    )
    assert stale.status_code == 412


def test_a_medication_request_update_refuses_every_other_change(users, net, jose):
    client = FhirClient(users["clinician"])
    created = client.post("MedicationRequest", request_resource(jose)).json()
    before = state()
    cancelled_without_reason = {**created, "status": "cancelled"}
    more_units = copy.deepcopy(created)
    more_units["dispenseRequest"]["quantity"]["value"] = 90
    other_dose = copy.deepcopy(created)
    other_dose["dosageInstruction"][0]["text"] = "2 tabletas, cada 12 horas, 30 d"

    for changed, path in [
        (cancelled_without_reason, "MedicationRequest.statusReason"),
        ({**created, "status": "stopped"}, "MedicationRequest.status"),
        (more_units, "MedicationRequest.dispenseRequest.quantity"),
        (other_dose, "MedicationRequest.dosageInstruction"),
        (
            {**created, "medicationReference": {"reference": f"Medication/{ENALAPRIL}"}},
            "MedicationRequest.medicationReference",
        ),
    ]:
        response = client.put(f"MedicationRequest/{created['id']}", changed)
        assert response.status_code == 422, (path, response.json())
        assert response.json()["issue"][0]["expression"] == [path]
    unchanged = client.put(f"MedicationRequest/{created['id']}", created)
    assert unchanged.status_code == 200
    assert unchanged.json()["meta"]["versionId"] == created["meta"]["versionId"]
    after = state()
    assert after["audit"] == before["audit"] + 1  # the read of the unchanged PUT
    assert {**after, "audit": 0} == {**before, "audit": 0}


def test_a_fully_dispensed_medication_request_cannot_be_cancelled(users, net, jose):
    receive(net.actor("pharmacist"), net.centre, METFORMIN, 100)
    client = FhirClient(users["clinician"])
    created = client.post("MedicationRequest", request_resource(jose)).json()
    assert (
        FhirClient(users["pharmacist"])
        .post("MedicationDispense", dispense_resource(created["id"], 60))
        .status_code
        == 201
    )
    before = state()
    current = client.get(f"MedicationRequest/{created['id']}").json()
    assert current["status"] == "completed"

    response = client.put(
        f"MedicationRequest/{created['id']}",
        {**current, "status": "cancelled", "statusReason": {"text": "Error"}},
    )

    assert response.status_code == 409
    assert response.json()["issue"][0]["expression"] == ["MedicationRequest.status"]
    assert {**state(), "audit": 0} == {**before, "audit": 0}


@pytest.mark.parametrize(
    ("dosage", "expected"),
    [
        (
            {
                "doseAndRate": [{"doseQuantity": {"value": 0.5, "unit": "tableta"}}],
                "timing": {"repeat": {"frequency": 3, "period": 1, "periodUnit": "d"}},
                "text": "x, y, 1 d",  # the parts win over the text
            },
            ("0.5 tableta", "3 veces al día", 9, ""),
        ),
        (
            {
                "doseAndRate": [{"doseQuantity": {"value": 2, "unit": "tabletas"}}],
                "timing": {
                    "code": {"text": "cada 24 horas, por la noche"},
                    "repeat": {"boundsDuration": {"value": 14, "code": "d"}},
                },
            },
            ("2 tabletas", "cada 24 horas, por la noche", 14, ""),
        ),
        (
            {"text": "1 tableta de 5 mg, cada 24 horas, antes del desayuno, 30 d. En ayunas"},
            ("1 tableta de 5 mg", "cada 24 horas, antes del desayuno", 30, "En ayunas"),
        ),
    ],
)
def test_the_dosage_is_read_from_its_parts_or_from_the_text_bienestar_writes(dosage, expected):
    resource = request_resource(SimpleNamespace(public_id=uuid.uuid4()), dosageInstruction=[dosage])
    resource["dispenseRequest"] = {
        "quantity": {"value": 30},
        "expectedSupplyDuration": {"value": 9, "unit": "d"},
    }
    if expected[2] == 30:
        resource["dispenseRequest"].pop("expectedSupplyDuration")

    given = medication_request_from_fhir(resource)

    assert (given.dose, given.frequency, given.duration_days, given.instructions) == expected


def test_a_dosage_in_hours_of_supply_is_refused():
    resource = request_resource(SimpleNamespace(public_id=uuid.uuid4()))
    resource["dosageInstruction"][0]["timing"]["repeat"]["boundsDuration"] = {
        "value": 48,
        "code": "h",
    }

    with pytest.raises(MappingError) as refused:
        medication_request_from_fhir(resource)

    assert refused.value.path == (
        "MedicationRequest.dosageInstruction[0].timing.repeat.boundsDuration"
    )


@pytest.mark.parametrize(
    ("who", "patient", "status"),
    [
        (None, "jose", 401),
        ("pharmacist", "jose", 403),
        ("auditor", "jose", 403),
        ("facility_director", "jose", 403),
        ("clinician", "maria", 404),
        ("other_state_clinician", "jose", 404),
        ("clinician", "jose", 201),
    ],
)
def test_who_may_prescribe_through_fhir(users, net, jose, maria, who, patient, status):
    person = {"jose": jose, "maria": maria}[patient]
    before = state()

    response = FhirClient(users[who] if who else None).post(
        "MedicationRequest", request_resource(person)
    )

    assert response.status_code == status, response.json()
    if status == 201:
        assert Prescription.objects.filter(person=jose).count() == 1
    else:
        assert response.json()["resourceType"] == "OperationOutcome"
        assert state() == before


def test_a_token_without_the_write_scope_cannot_prescribe(users, net, jose):
    before = state()

    response = FhirClient(users["clinician"], scopes="user/*.read").post(
        "MedicationRequest", request_resource(jose)
    )

    assert response.status_code == 403
    assert state() == before
