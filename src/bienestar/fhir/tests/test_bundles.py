"""Batch and transaction Bundles at POST /fhir/: atomic transactions (one bad entry → nothing
written, the entry named), urn:uuid and conditional references, per-entry outcomes in a batch, and
the real Synthea sample (unsupported types refused per entry, nothing crashes)."""

from __future__ import annotations

import json
import tarfile
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from bienestar.clinical.models import Condition, Encounter, Observation
from bienestar.fhir import systems
from bienestar.fhir.tests.client import FhirClient
from bienestar.fhir.tests.conftest import CURP
from bienestar.people.models import Person

pytestmark = pytest.mark.django_db

SAMPLE = Path("/work/shared/data/fhir_samples/nimbus_covid_juvenile_10pts.tar.gz")


def table_counts() -> dict[str, int]:
    """Rows in every table of the schema (the proof that a refused transaction wrote nothing)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1"
        )
        tables = [r[0] for r in cursor.fetchall()]
        counts = {}
        for table in tables:
            cursor.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608 - names from pg_tables
            counts[table] = cursor.fetchone()[0]
    return counts


def urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def patient(given: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "name": [{"family": "Hernández López", "given": [given]}],
        "gender": "female",
        "birthDate": "1970-06-15",
        "address": [
            {"extension": [{"url": systems.TERRITORY_EXTENSION, "valueCode": "MX.20.067"}]}
        ],
    }


def encounter(subject: str, day: int) -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"system": systems.ACT_CODE, "code": "AMB"},
        "subject": {"reference": subject},
        "period": {
            "start": f"2025-03-{day:02d}T10:00:00-06:00",
            "end": f"2025-03-{day:02d}T10:20:00-06:00",
        },
        "reasonCode": [{"text": "Control"}],
    }


def weight(subject: str, encounter_ref: str, kg: float) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": systems.LOINC, "code": "29463-7"}]},
        "subject": {"reference": subject},
        "encounter": {"reference": encounter_ref},
        "effectiveDateTime": "2025-03-01T10:05:00-06:00",
        "valueQuantity": {"value": kg, "unit": "kg", "system": systems.UCUM, "code": "kg"},
    }


def blood_pressure(subject: str, systolic: int, diastolic: int) -> dict[str, Any]:
    def part(code: str, value: int) -> dict[str, Any]:
        return {
            "code": {"coding": [{"system": systems.LOINC, "code": code}]},
            "valueQuantity": {"value": value, "system": systems.UCUM, "code": "mm[Hg]"},
        }

    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": systems.LOINC, "code": "85354-9"}]},
        "subject": {"reference": subject},
        "effectiveDateTime": "2025-03-01T10:05:00-06:00",
        "component": [part("8480-6", systolic), part("8462-4", diastolic)],
    }


def diagnosis(subject: str, encounter_ref: str, code: str) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "code": {"coding": [{"system": systems.ICD10, "code": code}]},
        "subject": {"reference": subject},
        "encounter": {"reference": encounter_ref},
    }


def entry(full_url: str, resource: dict[str, Any], method: str = "POST") -> dict[str, Any]:
    url = resource["resourceType"]
    return {"fullUrl": full_url, "resource": resource, "request": {"method": method, "url": url}}


def hundred_entries() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """10 patients, each with 3 encounters, 3 weights and 3 diagnoses (100 entries in all). The
    patients come LAST in the document: the server must create them first anyway."""
    patients, others = [], []
    plan: dict[str, Any] = {}
    for p in range(10):
        p_url = urn()
        patients.append(entry(p_url, patient(f"Paciente{p}")))
        plan[p_url] = []
        for e in range(3):
            e_url = urn()
            others.append(entry(e_url, encounter(p_url, e + 1)))
            others.append(entry(urn(), weight(p_url, e_url, 60 + p + e / 10)))
            others.append(entry(urn(), diagnosis(p_url, e_url, ["E11", "I10", "E66"][e])))
            plan[p_url].append(e_url)
    return [*others, *patients], plan


def post_bundle(client: FhirClient, kind: str, entries: list[dict[str, Any]]) -> Any:
    return client.post("", {"resourceType": "Bundle", "type": kind, "entry": entries})


# --- transaction -------------------------------------------------------------------------------------


def test_a_100_entry_transaction_creates_everything_and_links_the_references(
    users, net, codes
) -> None:
    entries, plan = hundred_entries()
    assert len(entries) == 100

    response = post_bundle(FhirClient(users["clinician"]), "transaction", entries)

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["type"] == "transaction-response"
    assert len(body["entry"]) == 100
    assert {e["response"]["status"] for e in body["entry"]} == {"201 Created"}
    assert Person.objects.filter(given_names__startswith="Paciente").count() == 10
    assert Encounter.objects.count() == 30
    assert Condition.objects.count() == 30
    assert Observation.objects.filter(panel__isnull=True).count() == 30
    # Each answer entry is the resource created for the request entry at the same position, and
    # every urn:uuid reference now points at the created resource.
    created = {
        req["fullUrl"]: ans["resource"] for req, ans in zip(entries, body["entry"], strict=True)
    }
    for p_url, encounter_urls in plan.items():
        person = Person.objects.get(public_id=created[p_url]["id"])
        for e_url in encounter_urls:
            found = Encounter.objects.get(public_id=created[e_url]["id"])
            assert found.person_id == person.pk
            assert found.facility == net.centre
            assert found.conditions.get().person_id == person.pk
            assert found.observations.get().person_id == person.pk
    for answer in body["entry"]:
        assert answer["response"]["location"].startswith("http://testserver/fhir/")
        for ref in _refs(answer["resource"]):
            assert not ref.startswith("urn:uuid:"), ref


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        out = [node["reference"]] if isinstance(node.get("reference"), str) else []
        return out + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for item in node for r in _refs(item)]
    return []


def test_a_100_entry_transaction_with_one_invalid_entry_writes_nothing(users, net, codes) -> None:
    entries, _plan = hundred_entries()
    bad = 77
    assert entries[bad]["resource"]["resourceType"] in ("Observation", "Condition", "Encounter")
    entries[bad] = entry(entries[bad]["fullUrl"], blood_pressure(entries[-1]["fullUrl"], 400, 80))
    client = FhirClient(users["clinician"])
    before = table_counts()

    response = post_bundle(client, "transaction", entries)

    assert response.status_code == 422, response.json()
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    issue = outcome["issue"][0]
    assert issue["diagnostics"].startswith(f"Entrada {bad} ({entries[bad]['fullUrl']}): ")
    assert "400" in issue["diagnostics"]
    assert f"Bundle.entry[{bad}]" in issue["expression"]
    assert table_counts() == before


def test_a_transaction_refusal_is_in_english_when_asked(users, net, codes) -> None:
    entries, _plan = hundred_entries()
    entries[5] = entry(entries[5]["fullUrl"], diagnosis(entries[-1]["fullUrl"], urn(), "E11"))

    response = post_bundle(FhirClient(users["clinician"], language="en"), "transaction", entries)

    assert response.status_code == 400
    issue = response.json()["issue"][0]
    assert issue["diagnostics"].startswith("Entry 5 (")
    assert "fullUrl" in issue["diagnostics"]
    assert Person.objects.count() == 0


def test_a_transaction_with_an_unsupported_type_writes_nothing(users, net, codes) -> None:
    entries, _plan = hundred_entries()
    entries.append(entry(urn(), {"resourceType": "Claim", "status": "active"}))
    client = FhirClient(users["clinician"])
    before = table_counts()

    response = post_bundle(client, "transaction", entries)

    assert response.status_code == 404
    issue = response.json()["issue"][0]
    assert issue["code"] == "not-supported"
    assert "Bundle.entry[100]" in issue["expression"]
    assert table_counts() == before


def test_conditional_references_resolve_to_the_one_match(users, net, codes, jose) -> None:
    e_url = urn()
    entries = [
        entry(e_url, encounter(f"Patient?identifier={systems.CURP}|{CURP}", 3)),
        entry(urn(), diagnosis(f"Patient?identifier={systems.CURP}|{CURP}", e_url, "I10")),
    ]

    response = post_bundle(FhirClient(users["clinician"]), "transaction", entries)

    assert response.status_code == 200, response.json()
    assert Encounter.objects.get().person == jose
    assert Condition.objects.get().person == jose


def test_a_conditional_reference_without_a_match_refuses_the_transaction(
    users, net, codes, jose
) -> None:
    entries = [
        entry(urn(), encounter(f"Patient?identifier={systems.CURP}|{CURP}", 3)),
        entry(urn(), encounter(f"Patient?identifier={systems.CURP}|GARA850101HOCRCN07", 4)),
    ]

    response = post_bundle(FhirClient(users["clinician"]), "transaction", entries)

    assert response.status_code == 404
    assert "Bundle.entry[1]" in response.json()["issue"][0]["expression"]
    assert Encounter.objects.count() == 0


def test_a_patient_outside_the_territory_is_not_found_in_a_transaction(
    users, net, codes, maria
) -> None:
    entries = [entry(urn(), encounter(f"Patient/{maria.public_id}", 3))]

    response = post_bundle(FhirClient(users["clinician"]), "transaction", entries)

    assert response.status_code == 404
    assert Encounter.objects.count() == 0


# --- batch -------------------------------------------------------------------------------------------


def test_a_batch_answers_every_entry_on_its_own(users, net, codes, jose) -> None:
    p_url = urn()
    entries = [
        entry(urn(), {"resourceType": "Claim", "status": "active"}),
        entry(p_url, patient("Lucía")),
        entry(urn(), blood_pressure(p_url, 400, 80)),
        entry(urn(), weight(p_url, urn(), 70)),
        {"request": {"method": "GET", "url": f"Patient/{jose.public_id}"}},
        {"request": {"method": "DELETE", "url": f"Patient/{jose.public_id}"}},
        {"request": {"method": "GET", "url": "Patient?name=Lucía"}},
        {"fullUrl": urn()},
        entry(urn(), {**weight(p_url, urn(), 70), "encounter": None}),
    ]
    entries[-1]["resource"].pop("encounter")

    response = post_bundle(FhirClient(users["clinician"]), "batch", entries)

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["type"] == "batch-response"
    statuses = [e["response"]["status"].split()[0] for e in body["entry"]]
    assert statuses == ["404", "201", "422", "400", "200", "405", "200", "400", "201"]
    claim = body["entry"][0]["response"]["outcome"]["issue"][0]
    assert claim["code"] == "not-supported"
    assert "Claim" in claim["diagnostics"]
    bp = body["entry"][2]["response"]["outcome"]["issue"][0]
    assert "Observation.component[0].valueQuantity.value" in bp.get("expression", [])
    assert body["entry"][4]["resource"]["id"] == str(jose.public_id)
    # The search ran after the writes (GET comes last): it finds the patient the batch created.
    assert body["entry"][6]["resource"]["total"] == 1
    lucia = Person.objects.get(given_names="Lucía")
    assert Observation.objects.get(panel__isnull=True).person == lucia


def test_a_batch_entry_that_refers_to_a_failed_entry_is_refused_naming_it(
    users, net, codes
) -> None:
    p_url = urn()
    bad_patient = {**patient("Sin"), "birthDate": "2999-01-01"}
    entries = [entry(p_url, bad_patient), entry(urn(), blood_pressure(p_url, 120, 80))]

    body = post_bundle(FhirClient(users["clinician"]), "batch", entries).json()

    assert body["entry"][0]["response"]["status"].startswith("422")
    second = body["entry"][1]["response"]
    assert second["status"].startswith("400")
    assert p_url in second["outcome"]["issue"][0]["diagnostics"]
    assert Person.objects.count() == 0


def test_the_base_endpoint_refuses_what_is_not_a_batch_or_transaction(users) -> None:
    client = FhirClient(users["clinician"])

    assert client.post("", {"resourceType": "Patient"}).status_code == 400
    collection = client.post("", {"resourceType": "Bundle", "type": "collection"})
    assert collection.status_code == 400
    assert collection.json()["issue"][0]["expression"] == ["Bundle.type"]
    assert client.get("").status_code == 405
    assert FhirClient(None).post("", {"resourceType": "Bundle", "type": "batch"}).status_code == 401


def test_a_cycle_of_references_between_posts_is_refused(users, net, codes) -> None:
    a, b = urn(), urn()
    enc_a = {**encounter(b, 1), "partOf": {"reference": b}}
    enc_a["subject"] = {"reference": "Patient?name=Nadie"}
    enc_b = {**encounter(a, 2), "partOf": {"reference": a}}

    response = post_bundle(
        FhirClient(users["clinician"]), "transaction", [entry(a, enc_a), entry(b, enc_b)]
    )

    assert response.status_code == 400
    assert response.json()["issue"][0]["code"] == "processing"


# --- the real Synthea sample -------------------------------------------------------------------------


def _sample_bundles(tmp_path: Path) -> list[dict[str, Any]]:
    if not SAMPLE.exists():
        pytest.skip(f"sample not available: {SAMPLE}")
    with tarfile.open(SAMPLE) as archive:
        archive.extractall(tmp_path, filter="data")
    return [
        json.loads(p.read_text())
        for p in sorted(tmp_path.rglob("*.json"))
        if "Information" not in p.name
    ]


def test_the_synthea_sample_is_answered_entry_by_entry_without_crashing(
    users, net, codes, tmp_path
) -> None:
    """Ten Synthea children as batch Bundles. What Bienestar does not serve (Claim, EOB, CarePlan,
    Procedure…) or does not accept from outside (Organization, Practitioner: read only) is refused
    on its own entry; foreign identifiers (US SSN) enter as given under their own system, and
    entries that depend on a refused one are refused naming it. No 5xx anywhere."""
    client = FhirClient(users["integrator"])
    supported_types = {
        "Patient",
        "Encounter",
        "Condition",
        "Observation",
        "AllergyIntolerance",
        "Immunization",
        "MedicationRequest",
        "MedicationDispense",
    }
    for bundle in _sample_bundles(tmp_path):
        response = client.post("", bundle)
        assert response.status_code == 200, response.json()
        answers = response.json()["entry"]
        assert len(answers) == len(bundle["entry"])
        for request_entry, answer in zip(bundle["entry"], answers, strict=True):
            status = int(answer["response"]["status"].split()[0])
            kind = request_entry["resource"]["resourceType"]
            assert status < 500, answer
            if status >= 400:
                issue = answer["response"]["outcome"]["issue"][0]
                assert issue["diagnostics"]
            if kind not in supported_types and status >= 400:
                assert status in (404, 405), (kind, answer)
                assert answer["response"]["outcome"]["issue"][0]["code"] == "not-supported"
            if kind == "Patient":
                # Their identifiers (Synthea's own system, a US SSN…) enter as given (issue 14).
                assert status == 201, answer
    assert Person.objects.count() == len(_sample_bundles(tmp_path))


def test_the_synthea_sample_patients_enter_once_their_identifiers_are_mapped(
    users, net, codes, tmp_path
) -> None:
    """An integrator that maps its identifiers (drops the US ones, says where the child lives)
    gets its patients registered and their vital signs recorded; what depends on refused entries
    (encounters at Synthea's organizations, SNOMED-coded conditions) stays refused, per entry."""
    users["integrator"].facility = net.centre
    users["integrator"].save(update_fields=["facility"])
    client = FhirClient(users["integrator"])
    bundles = _sample_bundles(tmp_path)
    created: dict[str, int] = {}
    for bundle in bundles:
        for item in bundle["entry"]:
            resource = item["resource"]
            if resource["resourceType"] == "Patient":
                resource.pop("identifier", None)
                resource["address"] = [
                    {"extension": [{"url": systems.TERRITORY_EXTENSION, "valueCode": "MX.20.067"}]}
                ]
            if resource["resourceType"] == "Observation":
                resource.pop("encounter", None)
        body = client.post("", bundle).json()
        for request_entry, answer in zip(bundle["entry"], body["entry"], strict=True):
            if answer["response"]["status"].startswith("201"):
                kind = request_entry["resource"]["resourceType"]
                created[kind] = created.get(kind, 0) + 1
    assert created["Patient"] == len(bundles) == Person.objects.count()
    assert created.get("Observation", 0) > 0
    assert set(created) <= {"Patient", "Observation", "Encounter", "Condition"}
