from __future__ import annotations

import json

import pytest
from django.test import Client

from bienestar.access.roles import Role
from bienestar.access.tests.factories import UserFactory
from bienestar.outreach.models import PlanSector, PriorityScheme, RolloutPlan, Sector
from bienestar.territories.models import Territory

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(few_sectors):
    bogota = Territory.objects.get(path="CO.11001")
    return {
        "coordinator": UserFactory(username="coord", role=Role.STATE_COORDINATOR, territory=bogota),
        "other": UserFactory(
            username="coord_l01",
            role=Role.STATE_COORDINATOR,
            territory=Territory.objects.get(path="CO.11001.L01"),
        ),
        "gestor": UserFactory(username="gestor", role=Role.OUTREACH_MANAGER, territory=bogota),
    }


def _client(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


FORM = {
    "name": "Plan de prueba",
    "preset": "rural_high_first",
    "w_poverty_share": "0.25",
    "w_uninsured_share": "0.15",
    "w_under5_share": "0.1",
    "w_over60_share": "0.1",
    "w_anc_gap_share": "0.15",
    "w_chronic_share": "0.15",
    "w_distance_km": "0.1",
    "high_cutoff": "50",
    "medium_cutoff": "39",
    "teams": "4",
    "capacity": "250",
    "start_date": "2026-01-05",
    "adopt": "on",
}


def test_planner_page_matrix_and_the_plan_page_explains_each_sector(people):
    assert _client().post("/territorial/planeacion/", FORM).status_code == 302  # to log-in
    assert _client(people["gestor"]).post("/territorial/planeacion/", FORM).status_code == 403
    assert RolloutPlan.objects.count() == 0 and PriorityScheme.objects.count() == 2
    bad = _client(people["coordinator"]).post(
        "/territorial/planeacion/", {**FORM, "w_poverty_share": "-3"}
    )
    assert bad.status_code == 422
    assert RolloutPlan.objects.count() == 0
    response = _client(people["coordinator"]).post("/territorial/planeacion/", FORM)
    assert response.status_code == 302
    plan = RolloutPlan.objects.get()
    page = _client(people["coordinator"]).get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="phase-1"' in html
    assert "Sector rural" in html or "Riesgo alto" in html
    # Another territory's coordinator does not see it.
    assert _client(people["other"]).get(response["Location"]).status_code == 404
    # The sector page shows each indicator with its weight and points.
    row = PlanSector.objects.filter(plan=plan).select_related("sector").first()
    sector_page = _client(people["gestor"]).get(f"/territorial/sectores/{row.sector.public_id}/")
    assert sector_page.status_code == 200
    text = sector_page.content.decode()
    assert 'data-testid="score-terms"' in text and "Pobreza multidimensional" in text
    assert f"Fase {row.phase}" in text or f"Phase {row.phase}" in text


def test_map_is_svg_drawn_on_the_server(people):
    response = _client(people["gestor"]).get("/territorial/sectores/mapa/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<path ") == Sector.objects.count()
    assert "http://" not in html.split("<svg")[1].split("</svg>")[0]
    assert _client().get("/territorial/sectores/mapa/").status_code == 302


def test_api_schemes_and_plans_matrix(people):
    scheme = PriorityScheme.objects.first()
    body = {
        "territory": "CO.11001",
        "scheme": str(scheme.public_id),
        "teams": 5,
        "households_per_team_week": 200,
        "start_date": "2026-01-05",
    }

    def post(c):
        return c.post("/api/outreach/plans/", json.dumps(body), content_type="application/json")

    assert post(_client()).status_code == 401
    assert post(_client(people["gestor"])).status_code == 403
    assert post(_client(people["other"])).status_code == 404
    assert RolloutPlan.objects.count() == 0
    created = post(_client(people["coordinator"]))
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["phases"][0]["phase"] == 1
    assert sum(p["sectors"] for p in data["phases"]) == Sector.objects.count()
    detail = _client(people["gestor"]).get(
        f"/api/outreach/sectors/{Sector.objects.first().public_id}"
    )
    assert detail.status_code == 200
    assert len(detail.json()["terms"]) == 7
    bad = _client(people["coordinator"]).post(
        "/api/outreach/schemes/",
        json.dumps({"name": "x", "preset": "composite", "weights": {"nope": 1}}),
        content_type="application/json",
    )
    assert bad.status_code == 422
    schema = _client().get("/api/openapi.json").json()
    assert "/api/outreach/plans/" in schema["paths"]
