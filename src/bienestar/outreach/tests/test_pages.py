from __future__ import annotations

import pytest
from django.test import Client

from bienestar.access.models import AuditEvent
from bienestar.outreach.models import HouseholdProfile, Screening, Task, Visit

pytestmark = pytest.mark.django_db


def _client(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def test_gestor_records_visit_consent_findrisc_and_bp_through_the_pages(field):
    household, head, _p = field["households"][0]
    gestor = _client(field["gestor"])
    base = f"/territorial/hogares/{household.public_id}/"
    home = gestor.get("/")
    assert home.status_code == 200 and 'data-testid="worklist-link"' in home.content.decode()
    assert gestor.get(base).status_code == 200
    assert (
        gestor.post(
            base + "visita/",
            {"setting": "home", "outcome": "contacted", "device_time": "2026-01-10T15:00:00-05:00"},
        ).status_code
        == 302
    )
    assert Visit.objects.get().device_time.isoformat().startswith("2026-01-10T20:00")
    assert (
        gestor.post(
            base + "caracterizacion/", {"consent": "given", "water_source": "piped"}
        ).status_code
        == 302
    )
    assert HouseholdProfile.objects.get().consent == "given"
    page = gestor.get(base).content.decode()
    assert 'data-testid="partial"' in page
    findrisc = gestor.post(
        base + "tamizaje/findrisc/",
        {
            "person": str(head.public_id),
            "bmi": "28",
            "waist_cm": "99",
            "bp_medication": "1",
            "family_history": "second_degree",
            "device_time": "2026-01-10T15:05:00-05:00",
        },
    )
    assert findrisc.status_code == 302, findrisc.content.decode()[:2000]
    bp = gestor.post(
        base + "tamizaje/blood_pressure/",
        {"person": str(head.public_id), "systolic": "150", "diastolic": "95"},
    )
    assert bp.status_code == 302
    scores = {s.kind: s for s in Screening.objects.all()}
    assert scores["findrisc"].result["score"] == 15 and scores["findrisc"].flag == "priority"
    assert scores["blood_pressure"].flag == "priority"
    assert (
        Task.objects.filter(kind__in=["diabetes_referral", "bp_confirm"], status="ready").count()
        == 2
    )
    work = gestor.get("/territorial/").content.decode()
    assert "Confirmar la presión otro día" in work and "Remitir por riesgo de diabetes" in work
    bad = gestor.post(
        base + "tamizaje/blood_pressure/",
        {"person": str(head.public_id), "systolic": "90", "diastolic": "120"},
    )
    assert bad.status_code == 422 and 'data-testid="screening-error"' in bad.content.decode()


def test_page_matrix_nothing_changes_on_refusal(field):
    household, _head, _p = field["households"][0]
    base = f"/territorial/hogares/{household.public_id}/"
    audit = AuditEvent.objects.count()
    visit = {"setting": "home", "outcome": "contacted"}
    assert _client().post(base + "visita/", visit).status_code == 302  # to the log-in page
    assert _client(field["clinician"]).post(base + "visita/", visit).status_code == 403
    assert _client(field["other_gestor"]).post(base + "visita/", visit).status_code == 404
    assert _client(field["other_gestor"]).get(base).status_code == 404
    assert _client(field["coordinator"]).get("/territorial/").status_code == 403
    assert _client(field["gestor"]).post(base + "tamizaje/nope/", {}).status_code == 422
    assert Visit.objects.count() == 0 and Screening.objects.count() == 0
    assert AuditEvent.objects.count() == audit
    # The page on a phone: the viewport meta is there and nothing is loaded from outside.
    body = _client(field["gestor"]).get(base).content.decode()
    assert 'name="viewport"' in body and "https://" not in body


def test_api_field_flow_and_matrix(field):
    import json
    import uuid

    household, head, _p = field["households"][0]
    url = f"/api/outreach/households/{household.public_id}"
    visit = {
        "id": str(uuid.uuid4()),
        "setting": "home",
        "outcome": "contacted",
        "device_time": "2026-01-10T15:00:00-05:00",
    }

    def post(user, path, body):
        return _client(user).post(url + path, json.dumps(body), content_type="application/json")

    assert post(None, "/visits", visit).status_code == 401
    assert post(field["clinician"], "/visits", visit).status_code == 403
    assert post(field["other_gestor"], "/visits", visit).status_code == 404
    assert Visit.objects.count() == 0
    assert post(field["gestor"], "/visits", visit).status_code == 201
    assert post(field["gestor"], "/visits", visit).status_code == 201  # retried: same visit
    assert Visit.objects.count() == 1
    patch = _client(field["gestor"]).patch(
        url + "/profile", json.dumps({"consent": "given"}), content_type="application/json"
    )
    assert patch.status_code == 200 and patch.json()["partial"] is True
    screening = {
        "person": str(head.public_id),
        "kind": "blood_pressure",
        "inputs": {"systolic": 150, "diastolic": 95},
        "device_time": "2026-01-10T15:10:00-05:00",
    }
    created = post(field["gestor"], "/screenings", screening)
    assert created.status_code == 201 and created.json()["flag"] == "priority"
    bad = post(
        field["gestor"], "/screenings", {**screening, "inputs": {"systolic": 500, "diastolic": 95}}
    )
    assert bad.status_code == 422 and bad.json()["field"] == "systolic"
    work = _client(field["gestor"]).get("/api/outreach/worklist").json()
    assert work["households"][0]["household"] == str(household.public_id)
    assert {t["kind"] for t in work["households"][0]["tasks"]} >= {"bp_confirm"}
    assert _client(field["other_gestor"]).get(url).status_code == 404
    assert (
        _client(field["gestor"]).get(url).json()["screenings"][0]["scoring_version"] == "bp-2024.1"
    )
