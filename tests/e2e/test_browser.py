"""The main journeys in a real Chromium: log in, switch language, find a person despite typos."""

from __future__ import annotations

import re

import pytest

from bienestar.people import national_id
from bienestar.people.tests.factories import PersonFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_failed_then_successful_log_in(page, users, sign_in):
    page.goto("/")
    assert "/entrar/" in page.url

    sign_in(page, "clinician", "not-the-password")
    error = page.get_by_test_id("login-error")
    error.wait_for()
    assert "usuario" in error.inner_text().lower()

    sign_in(page, "clinician")
    page.wait_for_url(re.compile(r"/$"))
    who = page.get_by_test_id("who")
    assert "Personal clínico" in who.inner_text()
    assert "Oaxaca" in who.inner_text()


def test_language_switch_changes_the_visible_text(page, users, sign_in):
    sign_in(page, "clinician")
    page.wait_for_url(re.compile(r"/$"))
    assert page.locator("label[for=q]").inner_text() == "Buscar persona"

    page.get_by_role("button", name="English").click()

    page.locator("html[lang=en]").wait_for()
    assert page.locator("label[for=q]").inner_text() == "Search for a person"
    assert page.get_by_role("button", name="Sign out").is_visible()

    page.get_by_role("button", name="Español").click()
    page.locator("html[lang=es]").wait_for()
    assert page.get_by_role("button", name="Salir").is_visible()


@pytest.mark.parametrize("typed", ["jose lopes", "jsoe lopez"])
def test_search_as_you_type_finds_a_typoed_name(page, users, geo, typed, sign_in):
    jose = PersonFactory(territory=geo["oaxaca_centro"])
    PersonFactory(
        given_names="María",
        first_surname="Pérez",
        second_surname="Soto",
        sex="F",
        territory=geo["pachuca"],
    )
    sign_in(page, "clinician")
    page.wait_for_url(re.compile(r"/$"))
    page.goto("/personas/")

    page.locator("#q").press_sequentially(typed, delay=40)

    results = page.get_by_test_id("search-results")
    results.wait_for()
    assert "José López Hernández" in results.inner_text()
    assert "Pérez" not in page.content()
    # htmx kept the page and put the query in the address bar, so reload and back work.
    assert "q=" in page.url

    results.get_by_role("link", name=re.compile("José López Hernández")).click()
    page.get_by_test_id("person-name").wait_for()
    assert page.get_by_test_id("national-health-id").inner_text() == national_id.display(
        jose.national_health_id
    )


def test_search_without_javascript_still_works(browser, live_server, users, geo, sign_in):
    PersonFactory(territory=geo["oaxaca_centro"])
    context = browser.new_context(
        base_url=live_server.url, java_script_enabled=False, locale="es-MX"
    )
    page = context.new_page()
    try:
        sign_in(page, "pharmacist")
        page.goto("/personas/")
        page.fill("#q", "jose lopez")
        page.click("form.search button[type=submit]")
        page.get_by_test_id("search-results").wait_for()
        assert "José López Hernández" in page.get_by_test_id("search-results").inner_text()
    finally:
        context.close()
