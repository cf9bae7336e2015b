"""Authorization matrix: no token, other territory, wrong role, wrong scope, allowed — and on every
refusal an OperationOutcome and nothing written (not even an audit row)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from bienestar.access.models import ApiToken, AuditEvent
from bienestar.fhir.tests.client import FhirClient
from bienestar.fhir.tests.test_write import new_patient, state

pytestmark = pytest.mark.django_db


def outcome_code(response) -> str:  # type: ignore[no-untyped-def]
    return response.json()["issue"][0]["code"]


def test_without_a_token_everything_but_metadata_is_401(users, jose):
    client = FhirClient(None)

    assert client.get("metadata").status_code == 200
    for response in (
        client.get(f"Patient/{jose.public_id}"),
        client.get("Patient"),
        client.post("Patient", new_patient()),
        client.get(f"Patient/{jose.public_id}/$everything"),
    ):
        assert response.status_code == 401
        assert outcome_code(response) == "login"
    assert not AuditEvent.objects.exists()


def test_without_a_token_the_body_and_media_type_are_not_looked_at(users, jose, client):
    """Anonymous callers learn nothing: 401 before any check of what they sent."""
    before = state()
    for path, body, content_type in (
        ("/fhir/Patient", "<Patient/>", "application/fhir+xml"),
        ("/fhir/", "not json", "application/fhir+json"),
        ("/fhir/Patient/$export", "", "text/plain"),
    ):
        response = client.post(path, body, content_type=content_type)
        assert response.status_code == 401, path
        assert response.json()["resourceType"] == "OperationOutcome"
    assert client.get("/fhir/Patient", headers={"Accept": "application/xml"}).status_code == 401
    assert state() == before


def test_unknown_or_revoked_token_is_401(users, jose):
    client = FhirClient(users["clinician"])
    ApiToken.objects.update(revoked_at=timezone.now())

    assert client.get(f"Patient/{jose.public_id}").status_code == 401
    client.token = "bnst_not-a-real-token"
    assert client.get(f"Patient/{jose.public_id}").status_code == 401
    client.token = None
    basic = client.client.get(
        f"/fhir/Patient/{jose.public_id}", headers={"Authorization": "Basic dXNlcjpwYXNz"}
    )
    assert basic.status_code == 401


def test_the_page_session_is_not_enough(users, jose, client):
    client.force_login(users["clinician"])

    response = client.get(f"/fhir/Patient/{jose.public_id}")

    assert response.status_code == 401


def test_a_patient_of_another_territory_does_not_exist(users, jose, record):
    client = FhirClient(users["other_state_clinician"])
    before = state()
    current = FhirClient(users["clinician"]).get(f"Patient/{jose.public_id}").json()
    before = state()

    assert client.get(f"Patient/{jose.public_id}").status_code == 404
    assert client.get(f"Patient/{jose.public_id}/_history/1").status_code == 404
    assert client.get(f"Patient/{jose.public_id}/$everything").status_code == 404
    assert client.get(f"Encounter/{record.encounter.public_id}").status_code == 404
    assert client.get("Patient", {"_id": str(jose.public_id)}).json()["total"] == 0
    assert client.get("Encounter").json()["total"] == 0
    put = client.put(f"Patient/{jose.public_id}", {**current, "birthDate": "1981-01-01"})
    assert put.status_code == 404
    after = state()
    assert after["persons"] == before["persons"]
    # The searches that found nothing are on record (who looked for what); reads of others are not.
    assert not AuditEvent.objects.filter(person_id=jose.id, actor_username="hgo_clinician").exists()


@pytest.mark.parametrize(
    ("role", "path"),
    [
        ("warehouse_manager", "Patient"),
        ("auditor", "Patient"),
        ("outreach_manager", "Encounter"),
        ("pharmacist", "Condition"),
        ("national_coordinator", "Observation"),
        ("warehouse_manager", "MedicationRequest"),
    ],
)
def test_a_role_without_the_permission_is_403(users, record, role, path):
    response = FhirClient(users[role]).get(path)

    assert response.status_code == 403
    assert outcome_code(response) == "forbidden"


def test_a_role_that_may_not_write_writes_nothing(users, jose, net, codes):
    before = state()

    for role in ("pharmacist", "national_coordinator", "auditor"):
        response = FhirClient(users[role]).post("Patient", new_patient())
        assert response.status_code == 403, role
    assert state() == before


@pytest.mark.parametrize(
    ("scopes", "read", "write", "encounter_read"),
    [
        ("", True, True, True),
        ("user/*.*", True, True, True),
        ("user/*.read", True, False, True),
        ("patient/*.read", False, False, False),
        ("system/*.read", True, False, True),
        ("user/Patient.read", True, False, False),
        ("user/Patient.write", False, True, False),
        ("user/Patient.rs", True, False, False),
        ("user/Patient.cu user/Encounter.r", False, True, True),
        ("openid fhirUser launch", False, False, False),
    ],
)
def test_smart_scopes_narrow_the_role(users, jose, record, scopes, read, write, encounter_read):
    client = FhirClient(users["clinician"], scopes=scopes)

    assert (client.get(f"Patient/{jose.public_id}").status_code == 200) is read
    assert (client.get("Encounter").status_code == 200) is encounter_read
    created = client.post("Patient", new_patient())
    assert (created.status_code == 201) is write
    if not write:
        assert created.status_code == 403


def test_scopes_never_widen_the_role(users, jose):
    client = FhirClient(users["warehouse_manager"], scopes="user/*.*")

    assert client.get(f"Patient/{jose.public_id}").status_code == 403


def test_an_allowed_integrator_reads_and_writes(users, jose, net, codes):
    client = FhirClient(users["integrator"])

    assert client.get(f"Patient/{jose.public_id}").status_code == 200
    assert client.post("Patient", new_patient()).status_code == 201
