"""Hostile input gets a 4xx at the boundary, never a 500 (issue 9): bodies nested thousands of levels
deep, bodies larger than the server accepts, NUL characters in parameters and bodies. After each,
the server keeps answering and nothing was written. Also: every FHIR URL answers with and without a
trailing slash, without redirecting (a POST to /fhir reaches the Bundle endpoint)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from bienestar.access.tests.api_client import ApiClient
from bienestar.core import safejson
from bienestar.fhir.tests.client import FHIR_JSON, FhirClient
from bienestar.fhir.tests.test_write import new_patient, state

pytestmark = pytest.mark.django_db

DEEP = 50_000


def deep_object(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def deep_names(depth: int) -> str:
    return '{"resourceType":"Patient","name":' + "[" * depth + "]" * depth + "}"


def outcome(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith(FHIR_JSON)
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["severity"] == "error"
    assert body["issue"][0]["diagnostics"]
    return body


def still_serving(fhir: FhirClient, jose: Any) -> None:
    assert fhir.get("metadata").status_code == 200
    assert fhir.get(f"Patient/{jose.public_id}").status_code == 200


def raw_post(fhir: FhirClient, path: str, body: str | bytes) -> Any:
    return fhir.client.post(path, body, content_type=FHIR_JSON, headers=fhir.headers())


@pytest.mark.parametrize("path", ["/fhir/Patient", "/fhir/", "/fhir"])
@pytest.mark.parametrize(
    "body",
    [
        deep_object(DEEP),
        deep_names(DEEP),
        deep_names(safejson.MAX_DEPTH + 5),  # parses, but deeper than any resource
        '{"resourceType":"Bundle","type":"batch","entry":' + "[" * DEEP + "]" * DEEP + "}",
    ],
    ids=["object-50000", "name-array-50000", "name-array-69", "bundle-entry-50000"],
)
def test_deeply_nested_bodies_are_a_400(users, jose, path, body):
    fhir = FhirClient(users["clinician"])
    before = state()

    body_out = outcome(raw_post(fhir, path, body), 400)

    assert "niveles" in body_out["issue"][0]["diagnostics"]
    assert state() == before
    still_serving(fhir, jose)


def test_a_nul_character_in_a_body_is_a_400(users, jose):
    fhir = FhirClient(users["clinician"])
    before = state()
    patient = new_patient()
    patient["name"][0]["given"] = ["And\x00rés"]

    for path in ("/fhir/Patient", f"/fhir/Patient/{jose.public_id}"):
        method = fhir.client.post if path.endswith("Patient") else fhir.client.put
        response = method(path, json.dumps(patient), content_type=FHIR_JSON, headers=fhir.headers())
        assert "U+0000" in outcome(response, 400)["issue"][0]["diagnostics"]
    assert state() == before
    still_serving(fhir, jose)


def test_a_body_over_the_limit_is_a_413_on_fhir_and_on_the_json_api(users, jose):
    fhir = FhirClient(users["clinician"])
    api = ApiClient(users["clinician"])
    big = json.dumps({"resourceType": "Patient", "text": {"div": "x" * (12 * 1024 * 1024)}})
    assert len(big) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    before = state()

    for response in (
        raw_post(fhir, "/fhir/Patient", big),
        fhir.client.put(
            f"/fhir/Patient/{jose.public_id}", big, content_type=FHIR_JSON, headers=fhir.headers()
        ),
    ):
        assert "MB" in outcome(response, 413)["issue"][0]["diagnostics"]

    response = api.client.post(
        "/api/people/", big, content_type="application/json", headers=api._headers()
    )
    assert response.status_code == 413
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"] == "too_large"
    assert "MB" in response.json()["detail"]
    assert state() == before
    still_serving(fhir, jose)
    assert api.get(f"/api/people/{jose.public_id}").status_code == 200


def test_the_json_api_answers_deep_bodies_with_json(users, jose):
    api = ApiClient(users["clinician"])
    before = state()

    response = api.client.post(
        "/api/people/", deep_object(DEEP), content_type="application/json", headers=api._headers()
    )

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert state() == before


NUL_SEARCHES = [
    "Patient?name=%00",
    "Patient?identifier=%00",
    "Patient?family:exact=%00",
    "Patient?name=a&given=b%00c",
    "Patient?na%00me=x",
    "Medication?code=%00",
    "Organization?name:contains=%00",
    "Encounter?patient.identifier=%00",
]


@pytest.mark.parametrize("url", NUL_SEARCHES)
def test_a_nul_character_in_a_search_parameter_is_a_400(users, jose, url):
    fhir = FhirClient(users["clinician"])
    before = state()

    body = outcome(fhir.client.get(f"/fhir/{url}", headers=fhir.headers()), 400)

    assert "U+0000" in body["issue"][0]["diagnostics"]
    assert state() == before
    still_serving(fhir, jose)


def test_a_nul_character_in_a_posted_search_or_a_bundle_entry_is_a_400(users, jose):
    fhir = FhirClient(users["clinician"])
    before = state()

    outcome(fhir.post_form("Patient/_search", {"name": "a\x00"}), 400)
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"request": {"method": "GET", "url": "Patient?name=%00"}},
            {"request": {"method": "GET", "url": f"Patient/{jose.public_id}"}},
        ],
    }
    response = fhir.post("", bundle)
    assert response.status_code == 200, response.json()
    first, second = response.json()["entry"]
    assert first["response"]["status"].startswith("400")
    assert second["response"]["status"].startswith("200")
    # Only the second entry's read was audited; the refused search wrote nothing.
    assert state() == {**before, "audit": before["audit"] + 1}


# --- trailing slashes (issue 17, first point) -------------------------------------------------------


def test_every_fhir_url_answers_with_and_without_a_trailing_slash(users, jose, record):
    fhir = FhirClient(users["clinician"])
    for path in (
        "metadata",
        "Patient",
        f"Patient/{jose.public_id}",
        f"Patient/{jose.public_id}/_history",
        f"Patient/{jose.public_id}/_history/1",
        f"Patient/{jose.public_id}/$everything",
        "Encounter",
    ):
        for url in (f"/fhir/{path}", f"/fhir/{path}/"):
            response = fhir.client.get(url, headers=fhir.headers())
            assert response.status_code == 200, (url, response.status_code)
            assert response["Content-Type"].startswith(FHIR_JSON)
    search = fhir.client.post(
        "/fhir/Patient/_search/", {"_id": str(jose.public_id)}, headers=fhir.headers()
    )
    assert search.status_code == 200
    assert search.json()["total"] == 1


def test_a_bundle_posted_to_the_base_without_a_slash_is_processed_not_redirected(users, jose):
    fhir = FhirClient(users["clinician"])
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [{"request": {"method": "GET", "url": f"Patient/{jose.public_id}"}}],
    }
    for base in ("/fhir", "/fhir/"):
        response = fhir.client.post(
            base, json.dumps(bundle), content_type=FHIR_JSON, headers=fhir.headers()
        )
        assert response.status_code == 200, (base, response.status_code)
        assert response.json()["type"] == "batch-response"
    # Anonymous: a 401 OperationOutcome, not a redirect or an HTML page.
    anonymous = Client().post("/fhir", json.dumps(bundle), content_type=FHIR_JSON)
    assert anonymous.status_code == 401
    assert anonymous.json()["resourceType"] == "OperationOutcome"
