"""Indicator pages and exports: the authorization matrix (anonymous, wrong role, other territory,
allowed) and what each coordinator sees, on the hand-made network."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from bienestar.access.roles import Role
from bienestar.indicators.models import Aggregate
from bienestar.indicators.refresh import refresh
from bienestar.indicators.tests.dataset import build

pytestmark = pytest.mark.django_db
NO_INDICATORS = [
    Role.CLINICIAN,
    Role.WAREHOUSE_MANAGER,
    Role.OUTREACH_MANAGER,
    Role.AUDITOR,
    Role.INTEGRATOR,
]


@pytest.fixture
def ds(net, geo):  # type: ignore[no-untyped-def]
    data = build(net, geo)
    refresh(full=True)
    return data


def client_for(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def urls(ds, net):  # type: ignore[no-untyped-def]
    return [
        "/indicadores/",
        f"/indicadores/fill_rate_line/?territorio=MX.20&periodo={ds.m}",
        f"/indicadores/fill_rate_line/exportar.csv?territorio=MX.20&periodo={ds.m}",
        f"/indicadores/fill_rate_line/exportar.xlsx?territorio=MX.20&periodo={ds.m}",
        f"/indicadores/fill_rate_line/?unidad={net.centre.public_id}&periodo={ds.m}",
    ]


def test_anonymous_is_sent_to_log_in(ds, net):
    before = Aggregate.objects.count()
    for url in urls(ds, net):
        response = client_for(None).get(url)
        assert response.status_code == 302 and "/entrar/" in response["Location"], url
    assert Aggregate.objects.count() == before


@pytest.mark.parametrize("role", NO_INDICATORS)
def test_roles_without_indicators_are_refused(ds, net, users, role):
    for url in urls(ds, net):
        assert client_for(users[role.value]).get(url).status_code == 403, (role, url)


def test_a_state_coordinator_cannot_see_another_states_figures_or_units(ds, net, users):
    client = client_for(users["state_coordinator"])  # Oaxaca
    for url in (
        f"/indicadores/fill_rate_line/?territorio=MX.13&periodo={ds.m}",
        f"/indicadores/fill_rate_line/?territorio=MX&periodo={ds.m}",
        f"/indicadores/fill_rate_line/?unidad={net.hidalgo_centre.public_id}",
        f"/indicadores/fill_rate_line/exportar.csv?territorio=MX.13&periodo={ds.m}",
        f"/indicadores/fill_rate_line/exportar.csv?unidad={net.hidalgo_centre.public_id}",
        "/indicadores/no_such_indicator/",
    ):
        assert client.get(url).status_code == 404, url
    # Its own pages, map and export name nothing of Hidalgo.
    for url in (f"/indicadores/fill_rate_line/?periodo={ds.m}", "/", "/indicadores/"):
        response = client.get(url)
        assert response.status_code == 200
        assert b"Pachuca" not in response.content and b"MX.13" not in response.content
    export = client.get(f"/indicadores/fill_rate_line/exportar.csv?periodo={ds.m}").content.decode()
    assert "Oaxaca" in export and "Hidalgo" not in export and "Pachuca" not in export


def test_the_state_coordinator_drills_down_to_a_unit(ds, net, users):
    client = client_for(users["state_coordinator"])
    state = client.get(f"/indicadores/fill_rate_line/?periodo={ds.m}").content.decode()
    assert "Oaxaca de Juárez" in state and "?territorio=MX.20.067" in state
    municipality = client.get(f"/indicadores/fill_rate_line/?territorio=MX.20.067&periodo={ds.m}")
    assert municipality.status_code == 200
    assert f"unidad={net.centre.public_id}" in municipality.content.decode()
    unit = client.get(f"/indicadores/fill_rate_line/?unidad={net.centre.public_id}&periodo={ds.m}")
    body = unit.content.decode()
    assert unit.status_code == 200 and "Centro de Salud Oaxaca" in body
    assert re.search(r'data-testid="value">50[.,]0 %<', body)
    csv = client.get(
        f"/indicadores/fill_rate_line/exportar.csv?unidad={net.centre.public_id}&periodo={ds.m}"
    )
    assert csv["Content-Type"].startswith("text/csv")
    assert f"{ds.m},Unidad" in csv.content.decode() and ",2,4,0.5000" in csv.content.decode()


def test_the_national_coordinator_sees_every_state_and_the_dashboard(ds, users):
    client = client_for(users["national_coordinator"])
    body = client.get(f"/indicadores/fill_rate_line/?periodo={ds.m}").content.decode()
    assert "Oaxaca" in body and "Hidalgo" in body
    export = client.get(f"/indicadores/fill_rate_line/exportar.csv?periodo={ds.m}").content.decode()
    lines = export.strip().splitlines()
    assert lines[1].startswith(f"{ds.m},Nación,MX,") and lines[1].endswith(",2,5,0.4000")
    assert any(line.startswith(f"{ds.m},Estado,MX.13,Hidalgo,0,1,") for line in lines)
    home = client.get("/").content.decode()
    assert 'data-testid="dashboard"' in home and "tile-fill_rate_line" in home
    xlsx = client.get(f"/indicadores/fill_rate_line/exportar.xlsx?periodo={ds.m}")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
