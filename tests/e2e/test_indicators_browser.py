"""Coordinators' indicators in a real Chromium: the state coordinator opens the dashboard, drills
down to a unit, sees a chart and a map, exports CSV; the national coordinator sees every state; a
state coordinator cannot open another state's figures."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse

from bienestar.indicators.refresh import refresh
from bienestar.indicators.tests.dataset import build
from bienestar.inventory.tests.factories import build_network

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_state_coordinator_drills_down_and_exports_national_sees_all(
    page, browser, live_server, users, geo, sign_in
):
    # Import the whole URLconf before the first request (the live server shares this process): on a
    # loaded machine that import alone can outlast the page's timeout.
    reverse("indicator_list")
    page.set_default_timeout(60_000)
    net = build_network(geo, users)
    build(net, geo)
    refresh(full=True)

    sign_in(page, "state_coordinator")
    page.wait_for_url(re.compile(r"/$"))
    page.get_by_test_id("dashboard").wait_for()
    page.get_by_test_id("tile-fill_rate_line").get_by_role("link").first.click()
    page.get_by_test_id("indicator-title").wait_for()
    assert "Oaxaca" in page.get_by_test_id("area-name").inner_text()
    assert page.get_by_test_id("series-chart").is_visible()
    assert page.get_by_test_id("map").is_visible()
    assert page.locator("[data-testid=map] path").count() >= 1
    assert page.locator("[data-testid=map] a[data-path^='MX.13']").count() == 0

    page.get_by_test_id("by-territory").get_by_role("link", name="Oaxaca de Juárez").click()
    page.get_by_test_id("by-territory").get_by_role(
        "link", name=re.compile("Centro de Salud Oaxaca")
    ).click()
    page.wait_for_url(re.compile(r"unidad="))
    assert "Centro de Salud Oaxaca" in page.get_by_test_id("area-name").inner_text()
    assert page.get_by_test_id("series-chart").is_visible()
    with page.expect_download() as download:
        page.get_by_test_id("export-csv").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert "Centro de Salud Oaxaca" in text and ",2,4,0.5000" in text and "Hidalgo" not in text

    response = page.goto("/indicadores/fill_rate_line/?territorio=MX.13")
    assert response is not None and response.status == 404

    context = browser.new_context(base_url=live_server.url)
    national = context.new_page()
    national.set_default_timeout(60_000)
    sign_in(national, "national_coordinator")
    national.wait_for_url(re.compile(r"/$"))
    national.goto("/indicadores/fill_rate_line/")
    table = national.get_by_test_id("by-territory").inner_text()
    assert "Oaxaca" in table and "Hidalgo" in table
    assert national.locator("[data-testid=map] a[data-path='MX.13']").count() == 1
    context.close()
