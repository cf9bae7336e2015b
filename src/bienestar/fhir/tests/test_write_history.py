"""AllergyIntolerance and Immunization written through clinical.services (allergy_add,
allergy_set_status, immunization_record): created, their status changed where the service allows,
refused with nothing written and the element named."""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from typing import Any

import pytest
from django.utils import timezone

from bienestar.access.models import AuditAction, AuditEvent
from bienestar.clinical.models import AllergyIntolerance, Immunization
from bienestar.clinical.tests.factories import schedule_entries
from bienestar.fhir import systems
from bienestar.fhir.models import ResourceVersion
from bienestar.fhir.tests.client import FhirClient, assert_valid
from bienestar.inventory.tests.factories import METFORMIN

pytestmark = pytest.mark.django_db


def state() -> dict[str, Any]:
    return {
        "allergies": sorted(AllergyIntolerance.objects.values_list("id", "version", "status")),
        "immunizations": sorted(Immunization.objects.values_list("id", "version", "status")),
        "versions": ResourceVersion.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


def allergy_resource(person: Any, **overrides: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "AllergyIntolerance",
        "clinicalStatus": {"coding": [{"system": systems.ALLERGY_CLINICAL, "code": "active"}]},
        "verificationStatus": {
            "coding": [{"system": systems.ALLERGY_VERIFICATION, "code": "confirmed"}]
        },
        "type": "allergy",
        "category": ["medication"],
        "criticality": "high",
        "code": {"text": "Penicilina"},
        "patient": {"reference": f"Patient/{person.public_id}"},
        "onsetDateTime": "2010-05-01",
        "reaction": [{"manifestation": [{"text": "Urticaria"}]}],
    }
    resource.update(overrides)
    return resource


def immunization_resource(person: Any, **overrides: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Immunization",
        "status": "completed",
        "vaccineCode": {"text": "Anti influenza estacional"},
        "patient": {"reference": f"Patient/{person.public_id}"},
        "occurrenceDateTime": (timezone.localdate() - dt.timedelta(days=3)).isoformat(),
        "primarySource": True,
        "lotNumber": "FLU-24",
        "protocolApplied": [{"doseNumberString": "anual"}],
    }
    resource.update(overrides)
    return resource


@pytest.fixture
def schedule(db):  # type: ignore[no-untyped-def]
    return schedule_entries()


# --- AllergyIntolerance ------------------------------------------------------------------------------


def test_an_allergy_is_recorded_through_the_service(users, net, jose):
    client = FhirClient(users["clinician"])

    response = client.post("AllergyIntolerance", allergy_resource(jose))

    assert response.status_code == 201, response.json()
    body = response.json()
    assert_valid(body)
    allergy = AllergyIntolerance.objects.get(public_id=body["id"])
    assert (
        allergy.person,
        allergy.substance,
        allergy.category,
        allergy.criticality,
        allergy.reaction,
        allergy.onset_date,
        allergy.facility,
        allergy.recorded_by,
    ) == (
        jose,
        "Penicilina",
        "medication",
        "high",
        "Urticaria",
        dt.date(2010, 5, 1),
        net.centre,
        users["clinician"],
    )
    assert response["ETag"] == 'W/"1"'
    event = AuditEvent.objects.get(action=AuditAction.CREATE, resource_type="AllergyIntolerance")
    assert (event.channel, event.person_id) == ("fhir", jose.id)
    assert_valid(client.get(f"AllergyIntolerance/{body['id']}").json())


def test_an_allergy_to_a_catalogue_medicine(users, net, jose):
    resource = allergy_resource(
        jose,
        code={"coding": [{"system": systems.MEDICINE_CATALOGUE, "code": METFORMIN}]},
        category=[],
    )
    resource.pop("category")

    response = FhirClient(users["clinician"]).post("AllergyIntolerance", resource)

    assert response.status_code == 201, response.json()
    allergy = AllergyIntolerance.objects.get(public_id=response.json()["id"])
    assert (allergy.medicine_id, allergy.category) == (METFORMIN, "medication")
    assert response.json()["code"]["coding"][0]["code"] == METFORMIN


def test_an_allergy_is_resolved_then_marked_entered_in_error(users, net, jose):
    client = FhirClient(users["clinician"])
    created = client.post("AllergyIntolerance", allergy_resource(jose)).json()
    resolved = copy.deepcopy(created)
    resolved["clinicalStatus"]["coding"][0]["code"] = "resolved"

    response = client.put(f"AllergyIntolerance/{created['id']}", resolved, **{"If-Match": 'W/"1"'})

    assert response.status_code == 200, response.json()
    allergy = AllergyIntolerance.objects.get(public_id=created["id"])
    assert (allergy.status, allergy.version) == ("resolved", 2)
    assert response.json()["meta"]["versionId"] == "2"
    assert AuditEvent.objects.filter(
        action=AuditAction.UPDATE, resource_type="AllergyIntolerance", channel="fhir"
    ).exists()
    in_error = copy.deepcopy(response.json())
    in_error.pop("clinicalStatus")
    in_error["verificationStatus"]["coding"][0]["code"] = "entered-in-error"
    marked = client.put(f"AllergyIntolerance/{created['id']}", in_error)
    assert marked.status_code == 200, marked.json()
    allergy.refresh_from_db()
    assert allergy.status == "entered-in-error"
    # Entered in error is final.
    again = copy.deepcopy(resolved)
    assert client.put(f"AllergyIntolerance/{created['id']}", again).status_code == 422
    assert (
        client.get(f"AllergyIntolerance/{created['id']}/_history/1").json()["clinicalStatus"][
            "coding"
        ][0]["code"]
        == "active"
    )


def test_an_allergy_update_refuses_what_no_service_changes(users, net, jose):
    client = FhirClient(users["clinician"])
    created = client.post("AllergyIntolerance", allergy_resource(jose)).json()
    before = state()

    for change, path in [
        ({"criticality": "low"}, "AllergyIntolerance.criticality"),
        ({"code": {"text": "Sulfas"}}, "AllergyIntolerance.code"),
        ({"onsetDateTime": "2011-01-01"}, "AllergyIntolerance.onsetDateTime"),
        ({"reaction": [{"manifestation": [{"text": "Edema"}]}]}, "AllergyIntolerance.reaction"),
        ({"recordedDate": "2020-01-01T10:00:00-06:00"}, "AllergyIntolerance.recordedDate"),
    ]:
        response = client.put(f"AllergyIntolerance/{created['id']}", {**created, **change})
        assert response.status_code == 422, (change, response.json())
        assert response.json()["issue"][0]["expression"] == [path]
    assert state() == before


@pytest.mark.parametrize(
    ("change", "status", "path"),
    [
        (
            {
                "clinicalStatus": {
                    "coding": [{"system": systems.ALLERGY_CLINICAL, "code": "resolved"}]
                }
            },
            422,
            "AllergyIntolerance.clinicalStatus",
        ),
        (
            {
                "verificationStatus": {
                    "coding": [{"system": systems.ALLERGY_VERIFICATION, "code": "refuted"}]
                }
            },
            422,
            "AllergyIntolerance.verificationStatus",
        ),
        ({"code": {"coding": [{"system": "urn:x", "code": "1"}]}}, 422, "AllergyIntolerance.code"),
        (
            {"code": {"coding": [{"system": systems.MEDICINE_CATALOGUE, "code": "999.9"}]}},
            422,
            "AllergyIntolerance.code",
        ),
        ({"onsetDateTime": "2999-01-01"}, 422, "AllergyIntolerance.onsetDateTime"),
        ({"category": ["medication", "food"]}, 422, "AllergyIntolerance.category[1]"),
        ({"patient": {"reference": f"Patient/{uuid.uuid4()}"}}, 404, ""),
    ],
)
def test_an_allergy_that_cannot_be_recorded_is_refused(users, net, jose, change, status, path):
    before = state()

    response = FhirClient(users["clinician"]).post(
        "AllergyIntolerance", allergy_resource(jose, **change)
    )

    assert response.status_code == status, response.json()
    if path:
        assert response.json()["issue"][0]["expression"] == [path]
    assert state() == before


def test_the_same_active_allergy_twice_is_a_conflict(users, net, jose):
    client = FhirClient(users["clinician"])
    assert client.post("AllergyIntolerance", allergy_resource(jose)).status_code == 201
    before = state()

    response = client.post("AllergyIntolerance", allergy_resource(jose))

    assert response.status_code == 409
    assert response.json()["issue"][0]["expression"] == ["AllergyIntolerance.code"]
    assert state() == before


@pytest.mark.parametrize(
    ("who", "patient", "status"),
    [
        (None, "jose", 401),
        ("pharmacist", "jose", 403),
        ("auditor", "jose", 403),
        ("clinician", "maria", 404),
        ("other_state_clinician", "jose", 404),
        ("clinician", "jose", 201),
    ],
)
def test_who_may_record_an_allergy(users, net, jose, maria, who, patient, status):
    person = {"jose": jose, "maria": maria}[patient]
    before = state()

    response = FhirClient(users[who] if who else None).post(
        "AllergyIntolerance", allergy_resource(person)
    )

    assert response.status_code == status, response.json()
    if status == 201:
        assert AllergyIntolerance.objects.filter(person=jose).count() == 1
    else:
        assert state() == before


# --- Immunization ------------------------------------------------------------------------------------


def test_a_dose_is_recorded_through_the_service(users, net, jose, schedule):
    client = FhirClient(users["clinician"])

    response = client.post("Immunization", immunization_resource(jose))

    assert response.status_code == 201, response.json()
    body = response.json()
    assert_valid(body)
    dose = Immunization.objects.get(public_id=body["id"])
    assert (dose.person, dose.vaccine, dose.dose, dose.lot, dose.facility) == (
        jose,
        "Anti influenza estacional",
        "anual",
        "FLU-24",
        net.centre,
    )
    assert dose.schedule_entry is not None
    assert body["location"]["reference"] == f"Location/{net.centre.public_id}"
    event = AuditEvent.objects.get(action=AuditAction.CREATE, resource_type="Immunization")
    assert (event.channel, event.person_id) == ("fhir", jose.id)
    assert_valid(client.get(f"Immunization/{body['id']}").json())


def test_a_recorded_dose_only_takes_an_identical_put(users, net, jose, schedule):
    client = FhirClient(users["clinician"])
    created = client.post("Immunization", immunization_resource(jose)).json()
    before = state()

    same = client.put(f"Immunization/{created['id']}", created, **{"If-Match": 'W/"1"'})
    assert same.status_code == 200
    assert same.json()["meta"]["versionId"] == "1"
    for change, path in [
        ({"lotNumber": "OTRO"}, "Immunization.lotNumber"),
        ({"status": "entered-in-error"}, "Immunization.status"),
        ({"occurrenceDateTime": "2024-01-01"}, "Immunization.occurrenceDateTime"),
        ({"protocolApplied": [{"doseNumberString": "1"}]}, "Immunization.protocolApplied[0]"),
        (
            {"location": {"reference": f"Location/{net.pharmacy2.public_id}"}},
            "Immunization.location",
        ),
    ]:
        response = client.put(f"Immunization/{created['id']}", {**created, **change})
        assert response.status_code == 422, (change, response.json())
        assert response.json()["issue"][0]["expression"] == [path]
    after = state()
    assert after["audit"] == before["audit"] + 1  # the read of the identical PUT
    assert {**after, "audit": 0} == {**before, "audit": 0}


@pytest.mark.parametrize(
    ("change", "status", "path"),
    [
        ({"status": "not-done"}, 422, "Immunization.status"),
        ({"status": "entered-in-error"}, 422, "Immunization.status"),
        (
            {"vaccineCode": {"coding": [{"system": "urn:x", "code": "1"}]}},
            422,
            "Immunization.vaccineCode",
        ),
        ({"protocolApplied": []}, 422, "Immunization.protocolApplied"),
        (
            {"occurrenceDateTime": (timezone.localdate() + dt.timedelta(days=3)).isoformat()},
            422,
            "Immunization.occurrenceDateTime",
        ),
        ({"occurrenceDateTime": "1970-01-01"}, 422, "Immunization.occurrenceDateTime"),
        ({"location": {"reference": f"Location/{uuid.uuid4()}"}}, 422, "Immunization.location"),
        ("pharmacy2", 403, ""),
    ],
)
def test_a_dose_that_cannot_be_recorded_is_refused(
    users, net, jose, schedule, change, status, path
):
    if change == "pharmacy2":  # a real facility, not the clinician's own
        change = {"location": {"reference": f"Location/{net.pharmacy2.public_id}"}}
    resource = immunization_resource(jose, **change)
    if not resource.get("protocolApplied"):
        resource.pop("protocolApplied")
    before = state()

    response = FhirClient(users["clinician"]).post("Immunization", resource)

    assert response.status_code == status, response.json()
    if path:
        assert response.json()["issue"][0]["expression"] == [path]
    assert state() == before


def test_the_same_dose_twice_is_a_conflict(users, net, jose, schedule):
    client = FhirClient(users["clinician"])
    assert client.post("Immunization", immunization_resource(jose)).status_code == 201
    before = state()

    response = client.post("Immunization", immunization_resource(jose))

    assert response.status_code == 409
    assert response.json()["issue"][0]["expression"] == ["Immunization.protocolApplied[0]"]
    assert state() == before


def test_a_dose_at_the_encounter_facility_only(users, net, jose, record):
    """An encounter fixes where the dose was applied: another location is refused, rolled back."""
    before = state()
    resource = immunization_resource(
        jose,
        vaccineCode={"text": "SRP (triple viral)"},
        protocolApplied=[{"doseNumberString": "2"}],
        encounter={"reference": f"Encounter/{record.encounter.public_id}"},
        location={"reference": f"Location/{net.pharmacy2.public_id}"},
    )

    response = FhirClient(users["clinician"]).post("Immunization", resource)

    assert response.status_code == 422
    assert response.json()["issue"][0]["expression"] == ["Immunization.location"]
    assert state() == before


@pytest.mark.parametrize(
    ("who", "patient", "status"),
    [
        (None, "jose", 401),
        ("pharmacist", "jose", 403),
        ("outreach_manager", "jose", 403),
        ("clinician", "maria", 404),
        ("other_state_clinician", "jose", 404),
        ("clinician", "jose", 201),
    ],
)
def test_who_may_record_a_dose(users, net, jose, maria, schedule, who, patient, status):
    person = {"jose": jose, "maria": maria}[patient]
    before = state()

    response = FhirClient(users[who] if who else None).post(
        "Immunization", immunization_resource(person)
    )

    assert response.status_code == status, response.json()
    if status == 201:
        assert Immunization.objects.filter(person=jose).count() == 1
    else:
        assert state() == before


def test_a_transaction_records_an_allergy_and_a_dose(users, net, jose, schedule):
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": f"urn:uuid:{uuid.uuid4()}",
                "resource": resource,
                "request": {"method": "POST", "url": resource["resourceType"]},
            }
            for resource in (allergy_resource(jose), immunization_resource(jose))
        ],
    }

    response = FhirClient(users["clinician"]).post("", bundle)

    assert response.status_code == 200, response.json()
    assert [e["response"]["status"] for e in response.json()["entry"]] == [
        "201 Created",
        "201 Created",
    ]
    assert AllergyIntolerance.objects.filter(person=jose).count() == 1
    assert Immunization.objects.filter(person=jose).count() == 1
