"""The clinical API through HTTP: the authorization matrix, 4xx JSON errors, and no N+1."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from bienestar.access.models import AuditEvent
from bienestar.access.tests.api_client import ApiClient, count_queries
from bienestar.clinical.models import Encounter
from bienestar.clinical.tests.factories import clinical_counts, vitals

pytestmark = pytest.mark.django_db

URL = "/api/clinical/"


def client(users, who):
    return ApiClient(users[who] if who != "anonymous" else None)


def payload(patient, **overrides):
    data = {
        "person": str(patient.public_id),
        "encounter_class": "ambulatory",
        "reason_text": "Control de diabetes",
        "diagnoses": [{"code": "E11"}],
        "vitals": vitals(),
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("anonymous", 401),
        ("pharmacist", 403),
        ("warehouse_manager", 403),
        ("national_coordinator", 403),
        ("other_state_clinician", 404),
        ("clinician", 201),
    ],
)
def test_record_encounter_matrix(users, clinic, codes, patient, who, status):
    api = client(users, who)
    before = clinical_counts()
    response = api.post(f"{URL}encounters", payload(patient))
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    after = clinical_counts()
    if status == 201:
        body = response.json()
        assert body["person"] == str(patient.public_id)
        assert body["status"] == "in-progress"
        assert body["facility"]["name"] == "Centro de Salud Oaxaca"
        assert [d["code"]["code"] for d in body["diagnoses"]] == ["E11"]
        assert body["diagnoses"][0]["code"]["description"] == "Diabetes mellitus tipo 2"
        assert body["vitals"] == {
            "systolic": "130.00",
            "diastolic": "85.00",
            "weight": "80.00",
            "height": "170.00",
            "bmi": "27.70",
        }
        assert "id" not in body
        assert after["audit"] == before["audit"] + 1
        assert after["encounters"] == before["encounters"] + 1
    else:
        assert "error" in response.json()
        assert after == before


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"vitals": vitals(systolic=400)}, 422, "systolic"),
        ({"vitals": vitals(diastolic=150)}, 422, "diastolic"),
        ({"vitals": {"bmi": 25}}, 422, None),  # not a field of the schema
        ({"vitals": {"systolic": "alto", "diastolic": 80}}, 422, None),
        ({"diagnoses": [{"code": "K35"}]}, 422, "diagnoses"),
        ({"encounter_class": "telepathy"}, 422, None),
        ({"person": "not-a-uuid"}, 422, None),
        ({"person": "00000000-0000-0000-0000-000000000000"}, 404, None),
        ({"reason_text": "a\x00b"}, 422, None),
        (
            {"start": "2025-01-01T10:00:00-06:00", "end": "2025-01-01T09:00:00-06:00"},
            422,
            "end",
        ),
    ],
)
def test_bad_input_gets_4xx_json_and_writes_nothing(
    users, clinic, codes, patient, change, status, field
):
    api = client(users, "clinician")
    before = clinical_counts()
    response = api.post(f"{URL}encounters", payload(patient, **change))
    assert response.status_code == status, response.content
    body = response.json()
    assert body["error"] in ("validation_failed", "not_found")
    if field:
        assert body["field"] == field
    assert clinical_counts() == before


def test_impossible_vital_message(users, clinic, codes, patient):
    response = client(users, "clinician").post(
        f"{URL}encounters", payload(patient, vitals=vitals(temperature=50))
    )
    assert response.json()["detail"] == (
        "Temperatura: 50 °C es fisiológicamente imposible; se aceptan valores de 30 a 45 °C."
    )


def test_english_messages(users, clinic, codes, patient):
    api = client(users, "clinician")
    api.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = api.post(f"{URL}encounters", payload(patient, vitals=vitals(systolic=400)))
    assert response.status_code == 422
    assert response.json()["field"] == "systolic"
    assert response.json()["detail"] == (
        "Systolic blood pressure: 400 mmHg is physiologically impossible; "
        "accepted values are 50 to 300 mmHg."
    )


def test_encounter_lifecycle_and_chart_pieces(users, clinic, codes, patient, vaccine_schedule):
    api = client(users, "clinician")
    created = api.post(f"{URL}encounters", payload(patient)).json()
    eid = created["public_id"]
    assert api.get(f"{URL}encounters/{eid}").json()["public_id"] == eid
    obs = api.post(
        f"{URL}encounters/{eid}/observations", {"vitals": {"glucose": 140, "weight": 85}}
    )
    assert obs.status_code == 201, obs.content
    assert [o["key"] for o in obs.json()] == ["weight", "glucose", "bmi"]
    cond = api.post(f"{URL}encounters/{eid}/conditions", {"code": "I10"})
    assert cond.status_code == 201 and cond.json()["rank"] == 2
    closed = api.post(f"{URL}encounters/{eid}/close", {})
    assert closed.json()["status"] == "finished"
    assert api.post(f"{URL}encounters/{eid}/close", {}).status_code == 409

    pid = patient.public_id
    problems = api.get(f"{URL}persons/{pid}/problems").json()
    assert [p["code"]["code"] for p in problems] == ["I10", "E11"]  # newest first
    resolved = api.post(f"{URL}conditions/{problems[0]['public_id']}/resolve", {})
    assert resolved.json()["clinical_status"] == "resolved"
    assert api.get(f"{URL}persons/{pid}/vitals/bp").json()[0]["value2"] == "85.00"
    assert api.get(f"{URL}persons/{pid}/vitals/mood").status_code == 422
    assert api.get(f"{URL}persons/{pid}/vitals").json()["bmi"]["value"] == "29.40"  # 85 / 1.70²

    allergy = api.post(f"{URL}persons/{pid}/allergies", {"category": "food", "substance": "Nuez"})
    assert allergy.status_code == 201
    assert (
        api.post(
            f"{URL}persons/{pid}/allergies", {"category": "food", "substance": "nuez"}
        ).status_code
        == 409
    )
    assert [a["substance"] for a in api.get(f"{URL}persons/{pid}/allergies").json()] == ["Nuez"]
    status = api.post(
        f"{URL}allergies/{allergy.json()['public_id']}/status", {"status": "resolved"}
    )
    assert status.json()["status"] == "resolved"

    vaccine = {"vaccine": "BCG", "dose": "unica", "occurrence_date": "1970-03-02"}
    imm = api.post(f"{URL}persons/{pid}/immunizations", vaccine)
    assert imm.status_code == 201 and imm.json()["schedule_fit"] == "on_schedule"
    assert api.post(f"{URL}persons/{pid}/immunizations", vaccine).status_code == 409
    future = {
        **vaccine,
        "dose": "1",
        "occurrence_date": str(timezone.localdate() + dt.timedelta(days=2)),
    }
    refused = api.post(f"{URL}persons/{pid}/immunizations", future)
    assert refused.status_code == 422 and refused.json()["field"] == "occurrence_date"
    assert len(api.get(f"{URL}persons/{pid}/immunizations").json()) == 1
    schedule = api.get(f"{URL}persons/{pid}/immunizations/schedule").json()
    assert {"vaccine": "BCG", "status": "applied"}.items() <= schedule[0].items()

    cancelled = api.post(f"{URL}encounters/{eid}/cancel", {"entered_in_error": True})
    assert cancelled.json()["status"] == "entered-in-error"


def test_timeline_pages_without_n_plus_one(users, clinic, codes, patient):
    api = client(users, "clinician")
    for days in (3, 2, 1):
        start = (timezone.now() - dt.timedelta(days=days)).isoformat()
        assert api.post(f"{URL}encounters", payload(patient, start=start)).status_code == 201
    url = f"{URL}persons/{patient.public_id}/encounters"
    one = count_queries(lambda: api.get(url, {"limit": 1}))
    three = count_queries(lambda: api.get(url, {"limit": 3}))
    assert one == three
    body = api.get(url, {"limit": 2}).json()
    assert len(body["items"]) == 2 and body["next"] is not None
    last = api.get(url, {"limit": 2, "offset": 2}).json()
    assert len(last["items"]) == 1 and last["next"] is None
    assert count_queries(lambda: api.get(f"{URL}persons/{patient.public_id}/problems")) == one - 2


@pytest.mark.parametrize(
    ("who", "status"), [("anonymous", 401), ("other_state_clinician", 404), ("pharmacist", 403)]
)
def test_read_matrix_over_http(users, clinic, codes, patient, who, status):
    client(users, "clinician").post(f"{URL}encounters", payload(patient))
    encounter = Encounter.objects.get()
    api = client(users, who)
    before = AuditEvent.objects.count()
    for path in [
        f"persons/{patient.public_id}/encounters",
        f"persons/{patient.public_id}/problems",
        f"persons/{patient.public_id}/vitals/bp",
        f"persons/{patient.public_id}/allergies",
        f"persons/{patient.public_id}/immunizations/schedule",
        f"encounters/{encounter.public_id}",
    ]:
        response = api.get(URL + path)
        assert response.status_code == status, (path, response.content)
    assert AuditEvent.objects.count() == before


def test_icd10_endpoint(users, codes):
    api = client(users, "clinician")
    body = api.get(f"{URL}icd10", {"q": "hipertension", "limit": 1}).json()
    assert body["count"] == 2 and body["items"][0]["code"] == "I10"
    assert body["next"] is not None
    assert api.get(f"{URL}icd10", {"q": "x"}).status_code == 422
    assert client(users, "warehouse_manager").get(f"{URL}icd10", {"q": "E11"}).status_code == 403
    assert client(users, "anonymous").get(f"{URL}icd10", {"q": "E11"}).status_code == 401


def test_openapi_documents_the_clinical_endpoints(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    clinical = [p for p in paths if p.startswith("/api/clinical/")]
    assert len(clinical) >= 15
    assert "/api/clinical/encounters" in clinical
