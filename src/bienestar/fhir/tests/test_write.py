"""create, conditional create, update with If-Match, conditional update, _history — all through
the domain services, refused with nothing written and an OperationOutcome naming the element."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from bienestar.access.models import AuditAction, AuditEvent
from bienestar.clinical.models import Condition, Encounter, Observation
from bienestar.fhir import systems
from bienestar.fhir.models import ResourceVersion
from bienestar.fhir.tests.client import FhirClient
from bienestar.fhir.tests.conftest import CURP
from bienestar.people.models import ChangeSource, Person, PersonChange

pytestmark = pytest.mark.django_db

NEW_CURP = "GARA850101HOCRCN07"


def new_patient(**overrides: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "identifier": [{"system": systems.CURP, "value": NEW_CURP}],
        "name": [
            {
                "family": "García Ramírez",
                "_family": {
                    "extension": [
                        {"url": systems.FATHERS_FAMILY, "valueString": "García"},
                        {"url": systems.MOTHERS_FAMILY, "valueString": "Ramírez"},
                    ]
                },
                "given": ["Andrés"],
            }
        ],
        "gender": "male",
        "birthDate": "1985-01-01",
        "address": [
            {
                "extension": [{"url": systems.TERRITORY_EXTENSION, "valueCode": "MX.20.067"}],
                "state": "Oaxaca",
            }
        ],
    }
    resource.update(overrides)
    return resource


def state() -> dict[str, Any]:
    return {
        "persons": sorted(Person.objects.values_list("id", "version", "given_names")),
        "encounters": sorted(Encounter.objects.values_list("id", "version", "status")),
        "conditions": sorted(Condition.objects.values_list("id", "version", "clinical_status")),
        "observations": Observation.objects.count(),
        "versions": ResourceVersion.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


# --- Patient -----------------------------------------------------------------------------------------


def test_create_patient_through_the_registration_service(users, geo):
    response = FhirClient(users["clinician"]).post("Patient", new_patient())

    assert response.status_code == 201, response.json()
    body = response.json()
    person = Person.objects.get(public_id=body["id"])
    assert (person.given_names, person.first_surname, person.second_surname) == (
        "Andrés",
        "García",
        "Ramírez",
    )
    assert person.territory == geo["oaxaca_centro"]
    assert person.identifiers.get().value == NEW_CURP
    assert response["Location"].endswith(f"/fhir/Patient/{person.public_id}/_history/1")
    assert response["ETag"] == 'W/"1"'
    assert body["identifier"][0]["system"] == systems.NATIONAL_HEALTH_ID
    assert body["identifier"][0]["value"] == person.national_health_id
    change = PersonChange.objects.get(person=person)
    assert (change.source, change.action) == (ChangeSource.FHIR, "create")
    event = AuditEvent.objects.get(action=AuditAction.CREATE)
    assert (event.channel, event.person_id) == ("fhir", person.id)
    assert ResourceVersion.objects.filter(resource_id=body["id"], version_id="1").exists()


def test_prefer_return_minimal(users, geo):
    response = FhirClient(users["clinician"]).post(
        "Patient", new_patient(), Prefer="return=minimal"
    )

    assert response.status_code == 201
    assert response.content == b""
    assert "Location" in response


def test_conditional_create_returns_the_existing_patient(users, jose):
    client = FhirClient(users["clinician"])
    before = state()

    response = client.post(
        "Patient",
        new_patient(identifier=[{"system": systems.CURP, "value": CURP}]),
        **{"If-None-Exist": f"identifier={systems.CURP}|{CURP}"},
    )

    assert response.status_code == 200
    assert response.json()["id"] == str(jose.public_id)
    after = state()
    assert after["persons"] == before["persons"]
    assert after["audit"] == before["audit"] + 1  # the read of the match


def test_conditional_create_creates_when_nothing_matches(users, geo):
    response = FhirClient(users["clinician"]).post(
        "Patient",
        new_patient(),
        **{"If-None-Exist": f"identifier={systems.CURP}|{NEW_CURP}"},
    )

    assert response.status_code == 201


def test_conditional_create_with_an_unknown_parameter_is_refused(users, geo):
    response = FhirClient(users["clinician"]).post(
        "Patient", new_patient(), **{"If-None-Exist": "curp=X"}
    )

    assert response.status_code == 400
    assert not Person.objects.exists()


@pytest.mark.parametrize(
    ("resource", "status", "path"),
    [
        (new_patient(gender="robot"), 400, "Patient.gender"),
        (new_patient(birthDate="1985-02-30"), 400, "Patient.birthDate"),
        (new_patient(shoeSize=42), 400, "Patient.shoeSize"),
        (new_patient(birthDate="2999-01-01"), 422, "Patient.birthDate"),
        (
            new_patient(identifier=[{"system": systems.CURP, "value": "XXXX"}]),
            422,
            "Patient.identifier",
        ),
        (
            new_patient(identifier=[{"system": systems.CURP, "value": NEW_CURP[:17] + "9"}]),
            422,
            "Patient.identifier[0].value",
        ),
        (
            new_patient(identifier=[{"value": "1"}]),
            422,
            "Patient.identifier[0].system",
        ),
        (
            new_patient(identifier=[{"system": "not a uri", "value": "1"}]),
            422,
            "Patient.identifier",
        ),
        (
            new_patient(identifier=[{"system": "urn:bienestar:sid:made-up", "value": "1"}]),
            422,
            "Patient.identifier",
        ),
        ({"resourceType": "Observation", "status": "final"}, 400, "Patient.resourceType"),
    ],
)
def test_invalid_patient_is_refused_with_the_path_and_nothing_written(
    users, geo, resource, status, path
):
    before = state()

    response = FhirClient(users["clinician"]).post("Patient", resource)

    assert response.status_code == status, response.json()
    issues = response.json()["issue"]
    assert any(path in (i.get("expression") or [""])[0] for i in issues), issues
    assert state() == before


def test_a_duplicate_identifier_is_a_conflict(users, jose):
    response = FhirClient(users["clinician"]).post(
        "Patient", new_patient(identifier=[{"system": systems.CURP, "value": CURP}])
    )

    assert response.status_code == 409
    assert response.json()["issue"][0]["code"] == "duplicate"


def test_update_patient_with_if_match_and_history(users, jose):
    client = FhirClient(users["clinician"])
    current = client.get(f"Patient/{jose.public_id}").json()
    changed = copy.deepcopy(current)
    changed["name"][0]["given"] = ["José", "Antonio"]

    response = client.put(f"Patient/{jose.public_id}", changed, **{"If-Match": 'W/"1"'})

    assert response.status_code == 200, response.json()
    assert response.json()["meta"]["versionId"] == "2"
    assert response["ETag"] == 'W/"2"'
    jose.refresh_from_db()
    assert jose.given_names == "José Antonio"
    stale = client.put(f"Patient/{jose.public_id}", changed, **{"If-Match": 'W/"1"'})
    assert stale.status_code == 412
    assert stale.json()["issue"][0]["code"] == "conflict"
    # Both versions can be read back, and the history lists them newest first.
    old = client.get(f"Patient/{jose.public_id}/_history/1").json()
    assert old["name"][0]["given"] == ["José"]
    history = client.get(f"Patient/{jose.public_id}/_history").json()
    assert history["type"] == "history"
    assert [e["resource"]["meta"]["versionId"] for e in history["entry"]] == ["2", "1"]
    assert [e["request"]["method"] for e in history["entry"]] == ["PUT", "POST"]


def test_update_refuses_what_no_service_changes(users, jose):
    client = FhirClient(users["clinician"])
    current = client.get(f"Patient/{jose.public_id}").json()
    before = state()

    for change, path in [
        ({"identifier": current["identifier"][:1]}, "Patient.identifier"),
        ({"active": False}, "Patient.active"),
        (
            {
                "address": [
                    {"extension": [{"url": systems.TERRITORY_EXTENSION, "valueCode": "MX.13"}]}
                ]
            },
            "Patient.address",
        ),
    ]:
        response = client.put(f"Patient/{jose.public_id}", {**current, **change})
        assert response.status_code == 422, change
        assert response.json()["issue"][0]["expression"] == [path]
    assert client.put(f"Patient/{jose.public_id}", {**current, "id": "other"}).status_code == 400
    assert state() == before


def test_an_unchanged_update_keeps_the_version(users, jose):
    client = FhirClient(users["clinician"])
    current = client.get(f"Patient/{jose.public_id}").json()

    response = client.put(f"Patient/{jose.public_id}", current, **{"If-Match": 'W/"1"'})

    assert response.status_code == 200
    assert response.json()["meta"]["versionId"] == "1"
    assert not PersonChange.objects.filter(person=jose).exists()
    assert AuditEvent.objects.filter(query__fhir="update-unchanged").count() == 1
    assert not AuditEvent.objects.filter(action=AuditAction.UPDATE).exists()


def test_prefer_return_operation_outcome(users, geo):
    response = FhirClient(users["clinician"]).post(
        "Patient", new_patient(), Prefer="return=OperationOutcome"
    )

    assert response.status_code == 201
    assert response.json()["issue"][0]["severity"] == "information"


def test_conditional_update_creates_then_updates(users, geo):
    client = FhirClient(users["clinician"])
    query = f"Patient?identifier={systems.CURP}|{NEW_CURP}"

    created = client.put(query, new_patient())
    assert created.status_code == 201
    changed = new_patient(birthDate="1985-01-02")
    updated = client.put(query, changed)
    assert updated.status_code == 200
    assert updated.json()["id"] == created.json()["id"]
    assert updated.json()["birthDate"] == "1985-01-02"
    assert Person.objects.count() == 1


# --- clinical ----------------------------------------------------------------------------------------


def encounter_resource(person: Person, net: Any, **overrides: Any) -> dict[str, Any]:
    start = (timezone.now() - dt.timedelta(hours=1)).replace(microsecond=0)
    resource: dict[str, Any] = {
        "resourceType": "Encounter",
        "status": "in-progress",
        "class": {"system": systems.ACT_CODE, "code": "AMB"},
        "subject": {"reference": f"Patient/{person.public_id}"},
        "period": {"start": start.isoformat()},
        "reasonCode": [{"coding": [{"system": systems.ICD10, "code": "E11"}], "text": "Control"}],
        "serviceProvider": {"reference": f"Organization/{net.centre.public_id}"},
    }
    resource.update(overrides)
    return resource


def test_encounter_created_opened_and_finished(users, net, codes, jose):
    client = FhirClient(users["clinician"])

    created = client.post("Encounter", encounter_resource(jose, net))
    assert created.status_code == 201, created.json()
    encounter = Encounter.objects.get(public_id=created.json()["id"])
    assert (encounter.status, encounter.reason_code_id, encounter.facility) == (
        "in-progress",
        "E11",
        net.centre,
    )
    assert encounter.practitioner == users["clinician"].practitioner
    finished = copy.deepcopy(created.json())
    finished["status"] = "finished"
    finished["period"]["end"] = timezone.now().replace(microsecond=0).isoformat()

    response = client.put(f"Encounter/{encounter.public_id}", finished, **{"If-Match": 'W/"1"'})

    assert response.status_code == 200, response.json()
    encounter.refresh_from_db()
    assert (encounter.status, encounter.version) == ("finished", 2)
    assert response.json()["meta"]["versionId"] == "2"


def test_encounter_elements_without_a_service_cannot_change(users, net, codes, jose):
    client = FhirClient(users["clinician"])
    created = client.post("Encounter", encounter_resource(jose, net)).json()

    moved = {**created, "class": {"system": systems.ACT_CODE, "code": "EMER"}}
    response = client.put(f"Encounter/{created['id']}", moved)

    assert response.status_code == 422
    assert response.json()["issue"][0]["expression"] == ["Encounter.class"]


def test_encounter_refusals_of_the_service_name_the_element(users, net, codes, jose):
    client = FhirClient(users["clinician"])
    future = (timezone.now() + dt.timedelta(days=2)).isoformat()

    response = client.post("Encounter", encounter_resource(jose, net, period={"start": future}))

    assert response.status_code == 422
    assert response.json()["issue"][0]["expression"] == ["Encounter.period.start"]
    other_facility = encounter_resource(
        jose, net, serviceProvider={"reference": f"Organization/{net.pharmacy2.public_id}"}
    )
    assert client.post("Encounter", other_facility).status_code == 403
    assert not Encounter.objects.exists()


def test_condition_added_then_resolved(users, net, codes, jose, record):
    client = FhirClient(users["clinician"])
    created = client.post(
        "Condition",
        {
            "resourceType": "Condition",
            "code": {"coding": [{"system": systems.ICD10, "code": "E66"}]},
            "subject": {"reference": f"Patient/{jose.public_id}"},
            "encounter": {"reference": f"Encounter/{record.encounter.public_id}"},
            "onsetDateTime": "2024-01-01",
        },
    )
    assert created.status_code == 201, created.json()
    resolved = copy.deepcopy(created.json())
    resolved["clinicalStatus"]["coding"][0]["code"] = "resolved"
    resolved["abatementDateTime"] = timezone.localdate().isoformat()

    response = client.put(f"Condition/{resolved['id']}", resolved, **{"If-Match": 'W/"1"'})

    assert response.status_code == 200, response.json()
    condition = Condition.objects.get(public_id=resolved["id"])
    assert (condition.clinical_status, condition.version) == ("resolved", 2)


def test_observation_created_as_a_blood_pressure_panel(users, net, codes, jose):
    panel = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": systems.LOINC, "code": "85354-9"}]},
        "subject": {"reference": f"Patient/{jose.public_id}"},
        "effectiveDateTime": (timezone.now() - dt.timedelta(minutes=5)).isoformat(),
        "component": [
            {
                "code": {"coding": [{"system": systems.LOINC, "code": code}]},
                "valueQuantity": {"value": value, "system": systems.UCUM, "code": "mm[Hg]"},
            }
            for code, value in (("8480-6", 125), ("8462-4", 82))
        ],
    }
    client = FhirClient(users["clinician"])

    response = client.post("Observation", panel)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert [c["valueQuantity"]["value"] for c in body["component"]] == [125, 82]
    assert Observation.objects.filter(person=jose).count() == 3
    refused = client.put(
        f"Observation/{body['id']}",
        {
            **body,
            "component": [
                body["component"][0],
                {
                    **body["component"][1],
                    "valueQuantity": {"value": 60, "system": systems.UCUM, "code": "mm[Hg]"},
                },
            ],
        },
    )
    assert refused.status_code == 422
    impossible = copy.deepcopy(panel)
    impossible["component"][0]["valueQuantity"]["value"] = 400
    bad = client.post("Observation", impossible)
    assert bad.status_code == 422
    assert bad.json()["issue"][0]["expression"] == ["Observation.component[0].valueQuantity.value"]


def test_read_only_types_refuse_writes(users, record):
    response = FhirClient(users["integrator"]).post(
        "Medication", {"resourceType": "Medication", "status": "active"}
    )

    assert response.status_code == 405
    assert response.json()["issue"][0]["code"] == "not-supported"


def test_body_that_is_not_json_or_not_fhir(users, geo):
    client = FhirClient(users["clinician"])
    headers = client.headers()

    not_json = client.client.post(
        "/fhir/Patient", "{", content_type="application/fhir+json", headers=headers
    )
    assert not_json.status_code == 400
    xml = client.client.post(
        "/fhir/Patient", "<Patient/>", content_type="application/xml", headers=headers
    )
    assert xml.status_code == 415
    for response in (not_json, xml):
        assert response.json()["resourceType"] == "OperationOutcome"
