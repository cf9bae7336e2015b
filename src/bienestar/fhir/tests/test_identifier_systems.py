"""Identifier systems as data: another institution's identifiers enter as given, are read back and
found; a known system's invalid value is refused naming the element, with nothing written."""

from __future__ import annotations

from typing import Any

import pytest

from bienestar.access.models import AuditEvent
from bienestar.access.tests.api_client import ApiClient
from bienestar.fhir import systems
from bienestar.fhir.tests.client import FhirClient
from bienestar.fhir.tests.test_write import NEW_CURP, new_patient
from bienestar.people.models import (
    IdentifierSystemEntry,
    Person,
    PersonIdentifier,
    SystemStatus,
)

pytestmark = pytest.mark.django_db

FOREIGN = "urn:oid:2.25.329800735698586629295641978511506172918"
SYNTHEA = "https://github.com/synthetichealth/synthea"


def _state() -> dict[str, Any]:
    return {
        "persons": Person.objects.count(),
        "identifiers": PersonIdentifier.objects.count(),
        "systems": sorted(IdentifierSystemEntry.objects.values_list("code", flat=True)),
    }


def test_the_registry_is_seeded_with_the_known_systems_verified(db):
    seeded = dict(IdentifierSystemEntry.objects.values_list("code", "status"))
    assert set(seeded) >= {"curp", "imss-nss", "issste", "record", "co-cc", "co-ppt"}
    assert set(seeded.values()) == {SystemStatus.VERIFIED}
    curp = IdentifierSystemEntry.objects.get(code="curp")
    assert (curp.uri, curp.issuer, curp.country, curp.rule) == (
        systems.CURP,
        "RENAPO",
        "MX",
        "curp",
    )


def test_a_patient_with_an_unknown_system_is_created_read_back_and_found(users, geo):
    client = FhirClient(users["clinician"])
    idents = [
        {"system": systems.CURP, "value": NEW_CURP},
        {"system": FOREIGN, "value": "Exp-00042/b"},
        {"system": SYNTHEA, "value": "b0f5c9a2-6f1e-4c1d-9a55-6c2a3f1e0d11"},
    ]

    created = client.post("Patient", new_patient(identifier=idents))

    assert created.status_code == 201, created.json()
    pid = created.json()["id"]
    read = client.get(f"Patient/{pid}").json()
    got = {(i["system"], i["value"]) for i in read["identifier"]}
    assert {(i["system"], i["value"]) for i in idents} <= got  # stored as given (case kept)
    for system, value in [(FOREIGN, "Exp-00042/b"), (SYNTHEA, idents[2]["value"])]:
        found = client.get("Patient", {"identifier": f"{system}|{value}"}).json()
        assert [e["resource"]["id"] for e in found.get("entry", [])] == [pid]
    # Another value of the same system, or the same value in another system: not this patient.
    other = client.get("Patient", {"identifier": f"{FOREIGN}|Exp-00043/b"}).json()
    assert other.get("entry", []) == []
    entry = IdentifierSystemEntry.objects.get(code=FOREIGN)
    assert (entry.uri, entry.status, entry.rule, entry.first_seen_via) == (
        FOREIGN,
        SystemStatus.UNVERIFIED,
        "as-given",
        "fhir",
    )


def test_unique_per_system_for_unknown_systems_too(users, geo):
    client = FhirClient(users["clinician"])
    first = new_patient(identifier=[{"system": FOREIGN, "value": "A-1"}])
    assert client.post("Patient", first).status_code == 201
    before = _state()

    again = client.post("Patient", new_patient(identifier=[{"system": FOREIGN, "value": "A-1"}]))

    assert again.status_code == 409, again.json()
    assert _state() == before
    elsewhere = new_patient(identifier=[{"system": SYNTHEA, "value": "A-1"}])
    assert client.post("Patient", elsewhere).status_code == 201


def test_a_bad_curp_check_digit_is_refused_naming_the_element(users, geo):
    client = FhirClient(users["clinician"])
    before, audit = _state(), AuditEvent.objects.count()
    bad = NEW_CURP[:17] + str((int(NEW_CURP[17]) + 1) % 10)

    response = client.post(
        "Patient",
        new_patient(
            identifier=[{"system": FOREIGN, "value": "Z-9"}, {"system": systems.CURP, "value": bad}]
        ),
    )

    assert response.status_code == 422
    issue = response.json()["issue"][0]
    assert issue["expression"] == ["Patient.identifier[1].value"]
    assert "verificador" in issue["diagnostics"]
    assert _state() == before  # not even the unknown system was registered
    assert AuditEvent.objects.count() == audit


def test_refused_registration_does_not_register_the_unknown_system(users, geo):
    before = _state()
    resource = new_patient(identifier=[{"system": FOREIGN, "value": "Q"}], birthDate="2999-01-01")

    assert FhirClient(users["clinician"]).post("Patient", resource).status_code == 422
    assert _state() == before


def test_json_api_accepts_a_system_uri_and_finds_by_it(users, geo):
    api = ApiClient(users["clinician"])
    payload = {
        "given_names": "Rosa",
        "first_surname": "Díaz",
        "sex": "F",
        "birth_date": "1970-03-04",
        "territory": "MX.20.067",
        "identifiers": [
            {"system": SYNTHEA, "value": "abc-1"},
            {"system": systems.CURP, "value": NEW_CURP.lower()},
        ],
    }
    created = api.post("/api/people/", payload)
    assert created.status_code == 201, created.json()
    got = api.get("/api/people/by-identifier", {"system": SYNTHEA, "value": "abc-1"})
    assert got.status_code == 200
    assert got.json()["public_id"] == created.json()["public_id"]
    idents = api.get(f"/api/people/{created.json()['public_id']}/identifiers")
    by_system = {i["system"]: i for i in idents.json()}
    # A known system given by its URI is stored under its code, normalised; the unknown as given.
    assert by_system["curp"]["value"] == NEW_CURP
    assert by_system["curp"]["system_uri"] == systems.CURP
    assert by_system[SYNTHEA]["system_uri"] == SYNTHEA
    refused = api.post(
        "/api/people/", {**payload, "identifiers": [{"system": "foo", "value": "1"}]}
    )
    assert refused.status_code == 422
