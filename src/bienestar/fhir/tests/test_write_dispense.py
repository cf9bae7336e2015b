"""MedicationDispense written through prescribing.services: a FHIR dispense moves stock exactly as
the pharmacy page does, a shelf that holds too little is a 409 with nothing written, the
authorization matrix refuses with nothing written; a transaction Bundle prescribes and dispenses
in one go. (MedicationRequest and the shared helpers: test_write_pharmacy.py.)"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from bienestar.access.models import AuditAction, AuditEvent
from bienestar.fhir import systems
from bienestar.fhir.tests.client import FhirClient, assert_valid
from bienestar.fhir.tests.test_write_pharmacy import (
    dispense_resource,
    ledger_ok,
    only_line,
    request_resource,
    state,
)
from bienestar.inventory.models import Lot, MovementKind, StockMovement
from bienestar.inventory.tests.factories import ENALAPRIL, METFORMIN, receive
from bienestar.prescribing.models import (
    Dispense,
    DispenseLine,
    LineStatus,
    Prescription,
    PrescriptionLine,
    PrescriptionStatus,
    stock_reference,
)
from bienestar.prescribing.tests.factories import line, prescribe

pytestmark = pytest.mark.django_db


# --- MedicationDispense ------------------------------------------------------------------------------


def _movements(dispense_line: DispenseLine) -> list[tuple[Any, ...]]:
    return list(
        StockMovement.objects.filter(reference=stock_reference(dispense_line.public_id))
        .order_by("id")
        .values_list(
            "lot__lot_number", "lot__expiry", "kind", "quantity", "balance_after", "person_id"
        )
    )


def _lots(facility: Any) -> list[tuple[Any, ...]]:
    return list(
        Lot.objects.filter(facility=facility)
        .order_by("lot_number")
        .values_list("lot_number", "expiry", "quantity")
    )


def test_a_fhir_dispense_moves_stock_exactly_as_the_pharmacy_page(users, net, jose, client):
    """The same prescription and the same shelf at two pharmacies: one dispensed on the page, one
    through FHIR. Same lots, same ledger rows, same balances, same statuses."""
    soon = timezone.localdate() + dt.timedelta(days=60)
    later = timezone.localdate() + dt.timedelta(days=365)
    for who, pharmacy in (("pharmacist2", net.pharmacy2), ("pharmacist", net.centre)):
        receive(net.actor(who), pharmacy, METFORMIN, 20, lot_number="A", expiry=soon)
        receive(net.actor(who), pharmacy, METFORMIN, 100, lot_number="B", expiry=later)
    on_page = prescribe(net, jose, line(METFORMIN, 60))
    by_fhir = prescribe(net, jose, line(METFORMIN, 60))
    page_line, fhir_line = only_line(on_page), only_line(by_fhir)

    client.force_login(users["pharmacist2"])
    page = client.post(
        reverse("dispense", args=[on_page.public_id]),
        {
            "version": Prescription.objects.get(pk=on_page.pk).updated_at.isoformat(),
            f"cantidad-{page_line.public_id}": "45",
            f"motivo-{page_line.public_id}": "patient_declined",
            f"nota-{page_line.public_id}": "",
        },
    )
    assert page.status_code == 302, page.content.decode()[:500]
    response = FhirClient(users["pharmacist"]).post(
        "MedicationDispense", dispense_resource(fhir_line.public_id, 45, reason="patient_declined")
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert_valid(body)
    from_page = DispenseLine.objects.get(prescription_line=page_line)
    from_fhir = DispenseLine.objects.get(public_id=body["id"])
    assert from_fhir.prescription_line == fhir_line
    # FEFO: the 20 units of the lot that expires first, then 25 of the other; the same rows.
    assert _movements(from_fhir) == _movements(from_page)
    assert [(m[0], m[2], m[3]) for m in _movements(from_fhir)] == [
        ("A", MovementKind.DISPENSE, -20),
        ("B", MovementKind.DISPENSE, -25),
    ]
    assert _lots(net.centre) == _lots(net.pharmacy2)
    assert [q for *_rest, q in _lots(net.centre)] == [0, 75]
    fields = ("quantity", "unfilled_quantity", "unfilled_reason", "unfilled_note", "person_id")
    assert [getattr(from_fhir, f) for f in fields] == [getattr(from_page, f) for f in fields]
    page_line.refresh_from_db()
    fhir_line.refresh_from_db()
    assert (fhir_line.dispensed_quantity, fhir_line.status) == (
        page_line.dispensed_quantity,
        page_line.status,
    )
    assert fhir_line.status == LineStatus.PARTIALLY_DISPENSED
    assert (
        Prescription.objects.get(pk=by_fhir.pk).status
        == Prescription.objects.get(pk=on_page.pk).status
    )
    assert ledger_ok()
    assert from_fhir.dispense.pharmacy == net.centre
    assert from_fhir.dispense.dispensed_by == users["pharmacist"]
    event = AuditEvent.objects.get(
        action=AuditAction.CREATE,
        resource_type="Dispense",
        resource_id=str(from_fhir.dispense.public_id),
    )
    assert (event.channel, event.person_id) == ("fhir", jose.id)
    assert body["status"] == "completed"
    assert body["quantity"]["value"] == 45
    assert body["location"]["reference"] == f"Location/{net.centre.public_id}"


def test_a_dispense_the_shelf_cannot_cover_is_a_409_and_nothing_changes(users, net, jose):
    receive(net.actor("pharmacist"), net.centre, METFORMIN, 20)
    prescription = prescribe(net, jose, line(METFORMIN, 60))
    before = state()
    balances = _lots(net.centre)

    response = FhirClient(users["pharmacist"]).post(
        "MedicationDispense",
        dispense_resource(only_line(prescription).public_id, 30, reason="out_of_stock"),
    )

    assert response.status_code == 409
    issue = response.json()["issue"][0]
    assert issue["code"] == "conflict"
    assert issue["expression"] == ["MedicationDispense.quantity"]
    assert "20" in issue["diagnostics"]  # the units available
    assert state() == before
    assert _lots(net.centre) == balances
    assert Dispense.objects.count() == 0
    assert DispenseLine.objects.count() == 0
    assert StockMovement.objects.filter(kind=MovementKind.DISPENSE).count() == 0
    assert ledger_ok()


def test_an_unfilled_remainder_needs_a_reason(users, net, jose):
    receive(net.actor("pharmacist"), net.centre, METFORMIN, 100)
    prescription = prescribe(net, jose, line(METFORMIN, 60))
    request_id = only_line(prescription).public_id
    client = FhirClient(users["pharmacist"])
    before = state()

    missing = client.post("MedicationDispense", dispense_resource(request_id, 30))
    other_without_text = client.post(
        "MedicationDispense", dispense_resource(request_id, 30, reason="other")
    )
    unknown = client.post("MedicationDispense", dispense_resource(request_id, 30, reason="lost"))

    assert missing.status_code == 422
    assert missing.json()["issue"][0]["expression"] == [
        "MedicationDispense.statusReasonCodeableConcept"
    ]
    assert other_without_text.status_code == 422
    assert unknown.status_code == 422
    assert state() == before

    # A text without a code is the reason "other" with that note.
    response = client.post(
        "MedicationDispense", dispense_resource(request_id, 30, text="Lo surte su clínica")
    )

    assert response.status_code == 201, response.json()
    row = DispenseLine.objects.get(public_id=response.json()["id"])
    assert (row.quantity, row.unfilled_quantity, row.unfilled_reason, row.unfilled_note) == (
        30,
        30,
        "other",
        "Lo surte su clínica",
    )
    assert ledger_ok()


def test_a_declined_dispense_moves_no_stock(users, net, jose):
    receive(net.actor("pharmacist"), net.centre, METFORMIN, 100)
    prescription = prescribe(net, jose, line(METFORMIN, 60))

    response = FhirClient(users["pharmacist"]).post(
        "MedicationDispense",
        dispense_resource(only_line(prescription).public_id, 0, reason="patient_declined"),
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "declined"
    assert body["statusReasonCodeableConcept"]["coding"][0]["code"] == "patient_declined"
    assert StockMovement.objects.filter(kind=MovementKind.DISPENSE).count() == 0
    assert _lots(net.centre)[0][2] == 100


@pytest.mark.parametrize(
    ("change", "status", "path"),
    [
        ({"status": "completed", "quantity": {"value": 0}}, 422, "MedicationDispense.status"),
        ({"status": "in-progress"}, 422, "MedicationDispense.status"),
        ({"quantity": {"value": 70}}, 422, "MedicationDispense.quantity"),
        (
            {"medicationReference": {"reference": f"Medication/{ENALAPRIL}"}},
            422,
            "MedicationDispense.medicationReference",
        ),
        (
            {"whenHandedOver": "2024-01-01T10:00:00-06:00"},
            422,
            "MedicationDispense.whenHandedOver",
        ),
        (
            {"performer": [{"actor": {"reference": f"Practitioner/{uuid.uuid4()}"}}]},
            422,
            "MedicationDispense.performer[0].actor",
        ),
        ({"authorizingPrescription": []}, 422, "MedicationDispense.authorizingPrescription"),
    ],
)
def test_a_dispense_that_cannot_be_recorded_is_refused_naming_the_element(
    users, net, jose, change, status, path
):
    receive(net.actor("pharmacist"), net.centre, METFORMIN, 100)
    prescription = prescribe(net, jose, line(METFORMIN, 60))
    resource = {**dispense_resource(only_line(prescription).public_id, 60), **change}
    if not resource["authorizingPrescription"]:
        resource.pop("authorizingPrescription")
    before = state()

    response = FhirClient(users["pharmacist"]).post("MedicationDispense", resource)

    assert response.status_code == status, response.json()
    issues = response.json()["issue"]
    assert any(path in (i.get("expression") or [""]) for i in issues), issues
    assert state() == before


def test_a_dispense_of_a_cancelled_prescription_is_a_conflict(users, net, jose):
    receive(net.actor("pharmacist"), net.centre, METFORMIN, 100)
    clinician = FhirClient(users["clinician"])
    created = clinician.post("MedicationRequest", request_resource(jose)).json()
    assert (
        clinician.put(
            f"MedicationRequest/{created['id']}",
            {**created, "status": "cancelled", "statusReason": {"text": "Cambio"}},
        ).status_code
        == 200
    )
    before = state()

    response = FhirClient(users["pharmacist"]).post(
        "MedicationDispense", dispense_resource(created["id"], 60)
    )

    assert response.status_code == 409
    assert response.json()["issue"][0]["expression"] == [
        "MedicationDispense.authorizingPrescription"
    ]
    assert state() == before


@pytest.fixture
def hidalgo_rx(users, net, maria):  # type: ignore[no-untyped-def]
    """A prescription of María (Hidalgo), with stock at the Oaxaca centre."""
    receive(net.actor("pharmacist"), net.centre, METFORMIN, 100)
    return prescribe(net, maria, line(METFORMIN, 60), who="other_state_clinician")


@pytest.mark.parametrize(
    ("who", "target", "status"),
    [
        (None, "jose", 401),
        ("clinician", "jose", 403),
        ("auditor", "jose", 403),
        ("warehouse_manager", "jose", 403),
        ("hidalgo_pharmacist", "jose", 404),
        ("pharmacist", "maria", 404),
        ("pharmacist", "jose", 201),
    ],
)
def test_who_may_dispense_through_fhir(users, net, jose, hidalgo_rx, who, target, status):
    prescription = prescribe(net, jose, line(METFORMIN, 60)) if target == "jose" else hidalgo_rx
    before = state()

    response = FhirClient(users[who] if who else None).post(
        "MedicationDispense", dispense_resource(only_line(prescription).public_id, 60)
    )

    assert response.status_code == status, response.json()
    if status == 201:
        assert DispenseLine.objects.get().prescription_line.prescription == prescription
        assert ledger_ok()
    else:
        assert response.json()["resourceType"] == "OperationOutcome"
        assert state() == before


def test_a_dispense_at_another_pharmacy_is_forbidden(users, net, jose):
    receive(net.actor("pharmacist"), net.centre, METFORMIN, 100)
    prescription = prescribe(net, jose, line(METFORMIN, 60))
    resource = {
        **dispense_resource(only_line(prescription).public_id, 60),
        "location": {"reference": f"Location/{net.pharmacy2.public_id}"},
    }
    before = state()

    response = FhirClient(users["pharmacist"]).post("MedicationDispense", resource)

    assert response.status_code == 403
    assert state() == before
    resource["location"] = {"reference": f"Location/{net.centre.public_id}"}
    assert FhirClient(users["pharmacist"]).post("MedicationDispense", resource).status_code == 201


def test_a_recorded_dispense_does_not_change(users, net, jose):
    receive(net.actor("pharmacist"), net.centre, METFORMIN, 100)
    prescription = prescribe(net, jose, line(METFORMIN, 60))
    client = FhirClient(users["pharmacist"])
    created = client.post(
        "MedicationDispense",
        dispense_resource(only_line(prescription).public_id, 40, reason="patient_declined"),
    ).json()
    before = state()

    fewer = client.put(
        f"MedicationDispense/{created['id']}", {**created, "quantity": {"value": 30}}
    )
    same = client.put(
        f"MedicationDispense/{created['id']}",
        created,
        **{"If-Match": f'W/"{created["meta"]["versionId"]}"'},
    )

    assert fewer.status_code == 422
    assert fewer.json()["issue"][0]["expression"] == ["MedicationDispense.quantity"]
    assert same.status_code == 200
    assert same.json()["meta"]["versionId"] == created["meta"]["versionId"]
    after = state()
    assert {**after, "audit": 0} == {**before, "audit": 0}


# --- Bundles and the CapabilityStatement -------------------------------------------------------------


def _bundle(*entries: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": full_url,
                "resource": resource,
                "request": {"method": "POST", "url": resource["resourceType"]},
            }
            for full_url, resource in entries
        ],
    }


def test_a_transaction_prescribes_and_dispenses_by_urn_uuid(users, net, jose):
    """The dispense comes first in the document and refers to the request by its fullUrl: the
    server creates the request first and rewrites the reference."""
    integrator = users["integrator"]
    integrator.facility = net.centre
    integrator.save(update_fields=["facility"])
    receive(net.actor("pharmacist"), net.centre, METFORMIN, 100)
    request_url = f"urn:uuid:{uuid.uuid4()}"
    dispense = dispense_resource("x", 60)
    dispense["authorizingPrescription"] = [{"reference": request_url}]

    response = FhirClient(integrator).post(
        "", _bundle((f"urn:uuid:{uuid.uuid4()}", dispense), (request_url, request_resource(jose)))
    )

    assert response.status_code == 200, response.json()
    answers = response.json()["entry"]
    assert [a["response"]["status"] for a in answers] == ["201 Created", "201 Created"]
    written_dispense, written_request = (a["resource"] for a in answers)
    assert written_dispense["authorizingPrescription"][0]["reference"] == (
        f"MedicationRequest/{written_request['id']}"
    )
    line_row = PrescriptionLine.objects.get(public_id=written_request["id"])
    assert (line_row.status, line_row.dispensed_quantity) == (LineStatus.COMPLETED, 60)
    assert line_row.prescription.status == PrescriptionStatus.COMPLETED
    assert _lots(net.centre)[0][2] == 40
    assert ledger_ok()
    assert set(
        AuditEvent.objects.filter(action=AuditAction.CREATE, channel="fhir").values_list(
            "resource_type", flat=True
        )
    ) == {"Prescription", "Dispense"}


def test_requests_sharing_a_group_identifier_are_one_prescription_each(users, net, jose):
    """The documented choice: each MedicationRequest is a prescription of its own, and Bienestar
    answers its own groupIdentifier."""
    theirs = {"system": "urn:example:orders", "value": "R-1"}
    first = request_resource(jose, groupIdentifier=theirs)
    second = request_resource(
        jose,
        groupIdentifier=theirs,
        medicationReference={"reference": f"Medication/{ENALAPRIL}"},
    )

    response = FhirClient(users["clinician"]).post(
        "", _bundle((f"urn:uuid:{uuid.uuid4()}", first), (f"urn:uuid:{uuid.uuid4()}", second))
    )

    assert response.status_code == 200, response.json()
    groups = [e["resource"]["groupIdentifier"] for e in response.json()["entry"]]
    assert all(g["system"] == systems.PRESCRIPTION for g in groups)
    assert groups[0]["value"] != groups[1]["value"]
    assert Prescription.objects.filter(person=jose).count() == 2


def test_a_transaction_whose_dispense_lacks_stock_writes_nothing(users, net, jose):
    integrator = users["integrator"]
    integrator.facility = net.centre
    integrator.save(update_fields=["facility"])
    receive(net.actor("pharmacist"), net.centre, METFORMIN, 10)
    request_url = f"urn:uuid:{uuid.uuid4()}"
    dispense = dispense_resource("x", 60)
    dispense["authorizingPrescription"] = [{"reference": request_url}]
    before = state()

    response = FhirClient(integrator).post(
        "", _bundle((request_url, request_resource(jose)), (f"urn:uuid:{uuid.uuid4()}", dispense))
    )

    assert response.status_code == 409
    assert "Bundle.entry[1]" in response.json()["issue"][0]["expression"]
    assert state() == before


def test_the_capability_statement_lists_the_new_writes(users):
    body = FhirClient(users["clinician"]).get("metadata").json()
    resources = {r["type"]: r for r in body["rest"][0]["resource"]}

    for name in ("MedicationRequest", "MedicationDispense", "AllergyIntolerance", "Immunization"):
        codes = {i["code"] for i in resources[name]["interaction"]}
        assert {"create", "update"} <= codes, name
        assert resources[name]["conditionalCreate"] is True
