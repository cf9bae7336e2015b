"""Tokens bound to one patient (SMART launch context): every read, search, $everything, export and
write is confined to that patient's records; `patient/` scopes grant nothing without a patient."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from bienestar.access.models import ApiToken
from bienestar.access.tests.factories import actor_for
from bienestar.access.tokens import token_create
from bienestar.clinical import services as clinical
from bienestar.clinical.models import Observation
from bienestar.fhir import systems
from bienestar.fhir.tests.client import FhirClient
from bienestar.fhir.tests.test_write import new_patient, state
from bienestar.people.tests.factories import PersonFactory

pytestmark = pytest.mark.django_db


def bound_client(user: Any, patient: Any, scopes: str = "patient/*.*") -> FhirClient:
    client = FhirClient(None)
    _row, client.token = token_create(
        user=user, name="app", scopes=scopes, patient_public_id=patient.public_id
    )
    return client


@pytest.fixture
def neighbour(geo, users, net, codes):  # type: ignore[no-untyped-def]
    """Another patient of the same territory, with a consultation of their own."""
    person = PersonFactory(territory=geo["oaxaca_centro"], birth_date=dt.date(1975, 1, 2))
    clinical.encounter_record(
        actor_for(users["clinician"]),
        person=person,
        encounter_class="ambulatory",
        reason_text="Revisión",
        diagnoses=["I10"],
        vitals={"systolic": 150, "diastolic": 95},
        start=timezone.now() - dt.timedelta(days=1),
        end=timezone.now() - dt.timedelta(days=1) + dt.timedelta(minutes=15),
    )
    return person


def blood_glucose(patient: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": systems.LOINC, "code": "2339-0"}]},
        "subject": {"reference": f"Patient/{patient.public_id}"},
        "effectiveDateTime": (timezone.now() - dt.timedelta(minutes=5)).isoformat(),
        "valueQuantity": {"value": 110, "system": systems.UCUM, "code": "mg/dL"},
    }


def test_a_bound_token_reads_only_its_patient(users, jose, record, neighbour):
    client = bound_client(users["clinician"], jose)

    assert client.get(f"Patient/{jose.public_id}").status_code == 200
    assert client.get(f"Patient/{neighbour.public_id}").status_code == 404
    patients = client.get("Patient").json()
    assert [e["resource"]["id"] for e in patients["entry"]] == [str(jose.public_id)]
    observations = client.get("Observation").json()
    subjects = {e["resource"]["subject"]["reference"] for e in observations["entry"]}
    assert subjects == {f"Patient/{jose.public_id}"}
    encounters = client.get("Encounter", {"patient": str(neighbour.public_id)}).json()
    assert encounters["total"] == 0
    assert client.get(f"Patient/{neighbour.public_id}/$everything").status_code == 404
    everything = client.get(f"Patient/{jose.public_id}/$everything").json()
    patients_in = {
        e["resource"]["id"]
        for e in everything["entry"]
        if e["resource"]["resourceType"] == "Patient"
    }
    assert patients_in == {str(jose.public_id)}
    # Shared registries stay readable: they are not personal data.
    assert client.get("Organization").status_code == 200


def test_the_same_user_unbound_sees_both(users, jose, record, neighbour):
    client = FhirClient(users["clinician"], scopes="user/*.read")

    assert client.get(f"Patient/{neighbour.public_id}").status_code == 200
    assert client.get("Patient").json()["total"] >= 2


def test_a_bound_token_writes_only_for_its_patient(users, jose, record, neighbour):
    client = bound_client(users["clinician"], jose)
    before = state()

    refused = client.post("Observation", blood_glucose(neighbour))
    created_person = client.post("Patient", new_patient())

    assert refused.status_code == 403
    assert refused.json()["resourceType"] == "OperationOutcome"
    assert created_person.status_code == 403
    assert state() == before
    allowed = client.post("Observation", blood_glucose(jose))
    assert allowed.status_code == 201, allowed.json()
    assert Observation.objects.filter(person=jose, code="2339-0").exists()


def test_patient_scopes_without_a_launch_patient_grant_nothing(users, jose, record):
    client = FhirClient(users["clinician"], scopes="patient/*.read")

    assert client.get(f"Patient/{jose.public_id}").status_code == 403
    assert client.get("Observation").status_code == 403


def test_a_bound_token_never_widens_the_role(users, maria):
    """Binding to a patient outside the user's territory does not open that patient."""
    client = bound_client(users["clinician"], maria)

    assert client.get(f"Patient/{maria.public_id}").status_code == 404


def test_the_token_command_binds_a_patient(users, jose):
    out = StringIO()
    call_command(
        "token", "create", users["clinician"].username, "--patient", str(jose.public_id), stdout=out
    )
    plain = out.getvalue().strip()
    assert plain.startswith("bnst_")
    assert ApiToken.objects.get(prefix=plain[:12]).patient_public_id == jose.public_id
    with pytest.raises(CommandError):
        call_command("token", "create", users["clinician"].username, "--patient", "nope")
    with pytest.raises(CommandError):
        call_command(
            "token",
            "create",
            users["clinician"].username,
            "--patient",
            "00000000-0000-0000-0000-000000000000",
        )
