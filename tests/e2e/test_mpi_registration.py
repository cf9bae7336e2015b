"""Issue 14 in the browser: a clerk registers a person by CURP, is warned of a probable duplicate
typed with a nickname and swapped surnames, and opens the existing record instead."""

from __future__ import annotations

import datetime as dt

import pytest

from bienestar.people.models import Person, PersonIdentifier
from bienestar.people.tests.factories import PersonFactory
from bienestar.people.tests.helpers import make_curp

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CURP_NEW = make_curp("GARA850101HOCRCN0")  # García Ramírez, Andrés, 1985-01-01


def test_clerk_fills_from_curp_then_opens_the_existing_record(page, users, geo, sign_in):
    lupe = PersonFactory(
        territory=geo["oaxaca_centro"],
        given_names="María Guadalupe",
        first_surname="López",
        second_surname="Hernández",
        sex="F",
        birth_date=dt.date(1985, 3, 14),
    )
    sign_in(page, "clinician")
    page.goto("/personas/registrar/")

    # The CURP fills sex and birth date (and tells the birth state).
    page.fill("[data-testid=curp]", CURP_NEW)
    page.wait_for_selector("[data-testid=curp-decoded]")
    assert page.input_value("#id_birth_date") == "1985-01-01"
    assert page.input_value("#id_sex") == "M"
    assert "Oaxaca" in page.inner_text("[data-testid=curp-decoded]")

    # By hand, the way she gave her name at the desk: nickname, surnames swapped.
    page.fill("[data-testid=curp]", "")
    page.wait_for_selector("[data-testid=curp-decoded]", state="detached")
    page.fill("#id_given_names", "Lupita")
    page.fill("#id_first_surname", "Hernández")
    page.fill("#id_second_surname", "López")
    page.select_option("#id_sex", "F")
    page.fill("#id_birth_date", "1985-03-14")
    candidate = page.wait_for_selector("[data-testid=candidate][data-band=strong]")
    reasons = candidate.inner_text()
    assert "Apellidos invertidos" in reasons and "Apodo" in reasons

    # Registering anyway is refused without a reason; she opens the existing record instead.
    page.select_option("#id_territory", "MX.20.067")
    page.click("[data-testid=register-submit]")
    page.wait_for_selector("[data-testid=override-error]")
    page.click("[data-testid=candidate-open]")
    page.wait_for_url(f"**/personas/{lupe.public_id}/")
    assert "María Guadalupe López Hernández" in page.inner_text("[data-testid=person-name]")
    assert Person.objects.count() == 1
    assert not PersonIdentifier.objects.exists()
