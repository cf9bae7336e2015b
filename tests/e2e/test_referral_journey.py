"""Issue 15's acceptance journey in a real Chromium, through the pages only: a health centre refers
a patient to a hospital; the hospital receives, accepts, books and attends (arrival and consultation
on its day list, which counts the wait); its counter-referral appears in the originating chart."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from bienestar.access.roles import Role
from bienestar.access.tests.factories import UserFactory
from bienestar.clinical.tests.factories import icd10_codes
from bienestar.facilities.models import FacilityType
from bienestar.facilities.tests.factories import FacilityFactory
from bienestar.people.tests.factories import PersonFactory
from bienestar.referrals.models import Referral
from bienestar.scheduling.models import Appointment, AvailabilityRule, Schedule, Service
from bienestar.workforce.tests.factories import PractitionerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def network(geo: dict[str, Any]) -> dict[str, Any]:
    icd10_codes()
    centre = FacilityFactory(territory=geo["oaxaca_centro"], name="Centro de Salud Oaxaca")
    hospital = FacilityFactory(
        territory=geo["oaxaca_centro"],
        name="Hospital General Oaxaca",
        facility_type=FacilityType.GENERAL_HOSPITAL,
        level_of_care=2,
    )
    UserFactory(username="medico", role=Role.CLINICIAN, territory=geo["oaxaca"], facility=centre)
    UserFactory(
        username="internista",
        role=Role.CLINICIAN,
        territory=geo["oaxaca"],
        facility=hospital,
        practitioner=PractitionerFactory(),
    )
    service = Service.objects.create(facility=hospital, name="Medicina interna", slot_minutes=30)
    schedule = Schedule.objects.create(
        service=service, facility=hospital, valid_from=dt.date(2020, 1, 1)
    )
    for d in range(7):  # all day, every day: the test may run at any hour
        AvailabilityRule.objects.create(
            schedule=schedule, weekday=d, start_time=dt.time(0, 0), end_time=dt.time(23, 30)
        )
    person = PersonFactory(
        territory=geo["oaxaca_centro"], given_names="Rosa", first_surname="Pérez"
    )
    return {"centre": centre, "hospital": hospital, "person": person}


def _as(page: Any, sign_in: Any, username: str) -> None:
    page.context.clear_cookies()
    sign_in(page, username)
    page.wait_for_url(re.compile(r"/$"))


def test_refer_accept_book_attend_and_answer(page: Any, network: dict[str, Any], sign_in: Any):
    person = network["person"]
    _as(page, sign_in, "medico")
    page.goto(f"/referencias/nueva/{person.public_id}/")
    page.select_option("select[name=destination]", str(network["hospital"].public_id))
    page.select_option("select[name=priority]", "urgent")
    page.fill("input[name=diagnosis_code]", "I10")
    page.fill("textarea[name=reason]", "Hipertensión descontrolada")
    page.click("button[type=submit]:has-text('Enviar referencia')")
    page.wait_for_url(re.compile(r"/expediente/$"))
    page.locator("[data-testid=referral-list]").wait_for()
    assert "Enviada" in page.inner_text("[data-testid=referrals]")

    _as(page, sign_in, "internista")
    page.goto("/referencias/recibidas/")
    page.click(f"text={person.full_name}")
    page.click("[data-testid=action-received]")
    page.click("[data-testid=action-accepted]")
    assert page.inner_text("[data-testid=referral-status]") == "Aceptada"
    # book today's next free slot (the agenda is open all day)
    page.goto(page.url.split("?")[0] + f"?dia={dt.date.today().isoformat()}")
    if page.locator("[data-testid=referral-slots] input").count() == 0:
        page.goto(page.url.split("?")[0])  # late at night: tomorrow's slots
    page.locator("[data-testid=referral-slots] input").first.check()
    page.click("[data-testid=referral-book]")
    assert page.inner_text("[data-testid=referral-status]") == "Con cita"
    appointment = Appointment.objects.get(person=person)
    # the hospital's day list: arrival, consultation, done
    page.goto(f"/agenda/?dia={appointment.local_start.date().isoformat()}")
    for label in ["Llegó", "Pasar a consulta", "Terminar"]:
        page.click(f"[data-testid=agenda-row] button:has-text('{label}')")
    appointment.refresh_from_db()
    assert appointment.status == "fulfilled" and appointment.seen_at >= appointment.arrived_at
    page.locator("[data-testid=wait-figures]").wait_for()
    assert "Atendidas: 1" in page.inner_text("[data-testid=wait-figures]")
    referral = Referral.objects.get(person=person)
    page.goto(f"/referencias/{referral.public_id}/")
    page.click("[data-testid=action-attended]")
    page.fill("input[name=diagnosis_code]", "I10")
    page.fill("textarea[name=plan]", "Se ajusta tratamiento antihipertensivo")
    page.fill("textarea[name=return_instructions]", "Control en su centro de salud en 4 semanas")
    page.click("[data-testid=send-counter-referral]")
    assert page.inner_text("[data-testid=referral-status]") == "Cerrada con contrarreferencia"

    _as(page, sign_in, "medico")
    page.goto(f"/personas/{person.public_id}/expediente/")
    counter = page.locator("[data-testid=counter-referral]")
    counter.wait_for()
    assert "Control en su centro de salud en 4 semanas" in counter.inner_text()
