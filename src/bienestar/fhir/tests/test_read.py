"""metadata, read, vread, _history, $everything, and the errors around them."""

from __future__ import annotations

import pytest

from bienestar.access.models import AuditAction, AuditEvent
from bienestar.fhir import registry
from bienestar.fhir.tests.client import FhirClient

pytestmark = pytest.mark.django_db


def test_metadata_lists_exactly_the_supported_types_and_interactions(users):
    response = FhirClient(None).get("metadata")

    assert response.status_code == 200
    statement = response.json()
    assert statement["fhirVersion"] == "4.0.1"
    resources = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert set(resources) == {
        "Patient",
        "Practitioner",
        "PractitionerRole",
        "Organization",
        "Location",
        "Encounter",
        "Condition",
        "Observation",
        "AllergyIntolerance",
        "Immunization",
        "Medication",
        "MedicationRequest",
        "MedicationDispense",
        "Schedule",
        "Slot",
        "Appointment",
    }
    patient = resources["Patient"]
    assert {i["code"] for i in patient["interaction"]} == {
        "read",
        "vread",
        "search-type",
        "history-instance",
        "create",
        "update",
    }
    assert {i["code"] for i in resources["Medication"]["interaction"]} == {
        "read",
        "vread",
        "search-type",
        "history-instance",
    }
    assert patient["conditionalCreate"] is True
    assert "Encounter:patient" in patient["searchRevInclude"]
    assert "Encounter:patient" in resources["Encounter"]["searchInclude"]
    names = {p["name"] for p in patient["searchParam"]}
    assert {
        "identifier",
        "name",
        "family",
        "given",
        "birthdate",
        "gender",
        "address-state",
    } <= names
    # Every declared parameter really exists in the registry, and vice versa.
    for definition in registry.all_types():
        declared = {p["name"] for p in resources[definition.type]["searchParam"]}
        assert set(definition.params) <= declared


def test_read_patient_with_version_headers_and_an_audit_row(users, jose):
    response = FhirClient(users["clinician"]).get(f"Patient/{jose.public_id}")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(jose.public_id)
    assert body["meta"]["versionId"] == "1"
    assert response["ETag"] == 'W/"1"'
    assert response["Last-Modified"].endswith("GMT")
    assert response["Content-Location"].endswith(f"/fhir/Patient/{jose.public_id}/_history/1")
    event = AuditEvent.objects.get(action=AuditAction.READ)
    assert (event.resource_type, event.resource_id, event.person_id, event.channel) == (
        "Person",
        str(jose.public_id),
        jose.id,
        "fhir",
    )


def test_every_type_reads_back_what_its_search_returns(users, record, jose):
    """A sample over all types: search each, then read each resource found (the client checks
    that every body validates with the R4B models)."""
    client = FhirClient(users["integrator"])
    seen = 0
    for definition in registry.all_types():
        bundle = client.get(definition.type, {"_count": "50"}).json()
        for entry in bundle.get("entry", []):
            resource = entry["resource"]
            read = client.get(f"{resource['resourceType']}/{resource['id']}")
            assert read.status_code == 200
            assert read.json() == resource
            seen += 1
    assert seen >= 20


def test_a_version_counter_follows_every_change_of_the_row(users, jose):
    client = FhirClient(users["clinician"])
    jose.given_names = "José María"
    jose.save()

    response = client.get(f"Patient/{jose.public_id}")

    assert response.json()["meta"]["versionId"] == "2"
    assert response["ETag"] == 'W/"2"'


def test_vread_of_the_current_version_and_of_a_version_not_kept(users, jose):
    client = FhirClient(users["clinician"])

    assert client.get(f"Patient/{jose.public_id}/_history/1").status_code == 200
    missing = client.get(f"Patient/{jose.public_id}/_history/7")
    assert missing.status_code == 404
    assert missing.json()["issue"][0]["code"] == "not-found"


def test_unknown_ids_types_and_paths_are_operation_outcomes(users, jose):
    client = FhirClient(users["clinician"])

    assert client.get("Patient/00000000-0000-4000-8000-000000000000").status_code == 404
    assert client.get("Patient/not-a-uuid").status_code == 404
    unknown_type = client.get("Spaceship/1")
    assert unknown_type.status_code == 404
    assert unknown_type.json()["issue"][0]["code"] == "not-supported"
    assert client.get("Patient/1/2/3/4").status_code == 404
    assert client.get("Patient/_history/1/2/3").status_code == 404


def test_delete_and_other_methods_are_refused(users, jose):
    client = FhirClient(users["clinician"])
    response = client.client.delete(f"/fhir/Patient/{jose.public_id}", headers=client.headers())

    assert response.status_code == 405
    assert response.json()["resourceType"] == "OperationOutcome"


def test_xml_is_not_spoken(users, jose):
    client = FhirClient(users["clinician"])

    assert client.get("Patient", Accept="application/fhir+xml").status_code == 406
    assert client.get("Patient", {"_format": "xml"}).status_code == 406
    assert client.get("Patient", {"_format": "json"}).status_code == 200


def test_diagnostics_follow_accept_language(users):
    spanish = FhirClient(users["clinician"]).get("Patient/00000000-0000-4000-8000-000000000000")
    english = FhirClient(users["clinician"], language="en").get(
        "Patient/00000000-0000-4000-8000-000000000000"
    )

    assert "No existe" in spanish.json()["issue"][0]["diagnostics"]
    assert "does not exist" in english.json()["issue"][0]["diagnostics"]


def test_patient_everything_gathers_the_record_and_audits_each_resource(users, record, jose):
    response = FhirClient(users["clinician"]).get(f"Patient/{jose.public_id}/$everything")

    assert response.status_code == 200
    bundle = response.json()
    types = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert types[0] == "Patient"
    assert set(types) == {
        "Patient",
        "Encounter",
        "Condition",
        "Observation",
        "AllergyIntolerance",
        "Immunization",
        "MedicationRequest",
        "MedicationDispense",
    }
    audited = AuditEvent.objects.filter(query__fhir="everything")
    assert audited.count() == len(types)
    assert set(audited.values_list("person_id", flat=True)) == {jose.id}


def test_everything_leaves_out_what_the_role_may_not_read(users, record, jose):
    """A pharmacist reads persons and prescriptions, not the clinical record."""
    bundle = FhirClient(users["pharmacist"]).get(f"Patient/{jose.public_id}/$everything").json()

    types = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert types == {"Patient", "MedicationRequest", "MedicationDispense", "OperationOutcome"}


def test_an_unexpected_failure_is_a_500_outcome_without_personal_data_in_the_log(
    users, jose, monkeypatch, caplog
):
    from bienestar.fhir.resources import people

    def explode(rows, actor):  # type: ignore[no-untyped-def]
        raise RuntimeError(f"boom {jose.given_names} {jose.national_health_id}")

    monkeypatch.setattr(people.PATIENT, "to_fhir", explode)

    response = FhirClient(users["clinician"]).get(f"Patient/{jose.public_id}")

    assert response.status_code == 500
    assert response.json()["issue"][0]["code"] == "exception"
    assert "RuntimeError" in caplog.text
    assert jose.national_health_id not in caplog.text and "José" not in caplog.text


def test_metadata_only_answers_get(users):
    response = FhirClient(None).post("metadata", {"resourceType": "Parameters"})

    assert response.status_code == 405
    assert response.json()["resourceType"] == "OperationOutcome"
