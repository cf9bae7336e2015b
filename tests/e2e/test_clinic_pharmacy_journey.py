"""Issue 3's acceptance journey in a real Chromium, through the pages only.

A health centre whose own pharmacy holds 20 tablets of metformin (the centre is the clinician's
"usual pharmacy" because it holds stock, and the pharmacist dispenses at her own facility — the same
arrangement as the demo's `medico` and `farmacia`). `medico` finds the patient, records an encounter
with E11 and a blood pressure, and prescribes 60 tablets; `farmacia` opens the prescription by its
code, hands over the 20 on the shelf and gives "out of stock" for the other 40. The ledger shows the
dispense and the centre's fill rate moves from nothing to lines 0/1, units 20/60 (the definition in
docs/indicators/fill-rate.md: a line counts only when fully dispensed; units count as handed over).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from bienestar.access.roles import Role
from bienestar.access.tests.factories import UserFactory, actor_for
from bienestar.clinical.models import Condition, Encounter
from bienestar.facilities.tests.factories import FacilityFactory
from bienestar.inventory.models import Lot, MovementKind, StockMovement
from bienestar.inventory.tests.factories import METFORMIN, medicine, receive
from bienestar.people.tests.factories import PersonFactory
from bienestar.prescribing.models import (
    DispenseLine,
    Prescription,
    PrescriptionStatus,
    UnfilledReason,
)
from bienestar.terminology.models import Icd10Code
from bienestar.workforce.tests.factories import PractitionerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def centre(geo: dict[str, Any]) -> Any:
    """Centro de Salud with its pharmacy, metformin in the catalogue, CIE-10 E11, two users."""
    facility = FacilityFactory(
        territory=geo["oaxaca_centro"], name="Centro de Salud Oaxaca", consulting_rooms=4
    )
    medicine(METFORMIN, "Metformina", strength="850 mg")
    Icd10Code.objects.create(
        code="E11",
        code_nodot="E11",
        level=3,
        description_es="Diabetes mellitus tipo 2",
        source="test",
    )
    UserFactory(
        username="medico",
        first_name="Ana",
        role=Role.CLINICIAN,
        territory=geo["oaxaca"],
        facility=facility,
        practitioner=PractitionerFactory(given_names="Ana", first_surname="Ruiz"),
    )
    pharmacist = UserFactory(
        username="farmacia",
        first_name="Rosa",
        role=Role.PHARMACIST,
        territory=geo["oaxaca"],
        facility=facility,
    )
    receive(actor_for(pharmacist), facility, METFORMIN, 20, lot_number="MET-2611")
    return facility


def _sign_in_as(page: Any, sign_in: Any, username: str) -> None:
    sign_in(page, username)
    page.wait_for_url(re.compile(r"/$"))


def test_clinic_to_pharmacy_journey(page: Any, geo: dict[str, Any], centre: Any, sign_in: Any):
    patient = PersonFactory(territory=geo["oaxaca_centro"])

    # --- medico: find the patient, record an encounter, prescribe -------------------------------
    _sign_in_as(page, sign_in, "medico")
    page.goto("/personas/")
    page.locator("#q").press_sequentially("jose lopez", delay=30)
    results = page.get_by_test_id("search-results")
    results.wait_for()
    results.get_by_role("link", name=re.compile("José López Hernández")).click()
    page.get_by_test_id("person-name").wait_for()
    page.get_by_test_id("chart-link").click()
    page.get_by_test_id("new-encounter").click()

    page.get_by_test_id("encounter-form").wait_for()
    page.fill("#id_reason_text", "Control de diabetes")
    page.locator("#diagnosis-search").press_sequentially("E11", delay=30)
    page.locator("#diagnosis-results button[data-code='E11']").click()
    page.get_by_test_id("diagnoses-selected").wait_for()
    page.fill("#id_systolic", "138")
    page.fill("#id_diastolic", "86")
    page.get_by_role("button", name="Guardar consulta").click()

    page.get_by_test_id("just-recorded").wait_for()
    encounter = Encounter.objects.get(person=patient)
    assert Condition.objects.filter(person=patient, code_id="E11").exists()
    page.get_by_test_id("just-recorded").get_by_role("link").click()

    page.get_by_test_id("prescribe-form").wait_for()
    page.locator("#medicine-search").press_sequentially("metformina", delay=30)
    page.locator(f"#medicine-results button[data-key='{METFORMIN}']").click()
    page.get_by_test_id("medicine-chosen").wait_for()
    page.fill("#id_dose", "1 tableta")
    page.fill("#id_frequency", "cada 12 horas")
    page.fill("#id_duration_days", "30")
    page.fill("#id_quantity", "60")
    page.get_by_role("button", name="Emitir receta").click()

    code_element = page.locator("#verification-code")
    code_element.wait_for()
    typed_code = code_element.inner_text().strip()
    prescription = Prescription.objects.get(person=patient)
    assert prescription.encounter_id == encounter.id
    assert prescription.facility_id == centre.id
    assert re.sub("[^A-Z0-9]", "", typed_code) == prescription.code

    # Before the pharmacy: one line, 60 units, nothing dispensed.
    page.goto(f"/unidades/{centre.clues}/")
    assert page.get_by_test_id("fill-rate").count() == 0  # a clinician reads no indicators
    page.get_by_role("button", name="Salir").click()
    page.wait_for_url(re.compile(r"/entrar/"))

    # --- farmacia: open by code, dispense what is on the shelf -----------------------------------
    _sign_in_as(page, sign_in, "farmacia")
    page.goto(f"/unidades/{centre.public_id}/")
    assert page.get_by_test_id("fill-rate-lines").first.inner_text() == "0/1"
    assert page.get_by_test_id("fill-rate-units").first.inner_text() == "0/60"

    page.get_by_role("navigation", name="Secciones").get_by_role("link", name="Farmacia").click()
    page.fill("#codigo", typed_code.lower())  # as typed at the counter: lower case, dashes
    page.get_by_role("button", name="Abrir").click()

    page.get_by_test_id("dispense-form").wait_for()
    assert page.get_by_test_id("pending-1").inner_text() == "60"
    assert page.get_by_test_id("available-1").inner_text() == "20"
    page.fill("#cantidad-1", "20")
    page.select_option("#motivo-1", UnfilledReason.OUT_OF_STOCK.value)
    page.get_by_role("button", name="Registrar surtimiento").click()

    receipt = page.get_by_test_id("receipt")
    receipt.wait_for()
    assert page.get_by_test_id("dispensed-1").inner_text() == "20"
    assert page.get_by_test_id("unfilled-1").inner_text() == "40"
    assert "Sin existencia" in receipt.inner_text()
    voucher = page.get_by_test_id("voucher")
    assert "Quedan 40 unidades por surtir" in voucher.inner_text()
    assert page.get_by_test_id("valid-until").inner_text() == prescription.valid_until.strftime(
        "%d/%m/%Y"
    )

    # The database agrees with the receipt.
    prescription.refresh_from_db()
    assert prescription.status == PrescriptionStatus.PARTIALLY_DISPENSED
    line = DispenseLine.objects.get()
    assert (line.quantity, line.unfilled_quantity, line.unfilled_reason) == (
        20,
        40,
        UnfilledReason.OUT_OF_STOCK,
    )
    assert Lot.objects.get(facility=centre, medicine_id=METFORMIN).quantity == 0

    # --- the ledger shows the movement --------------------------------------------------------
    page.goto(f"/unidades/{centre.public_id}/existencias/")
    page.get_by_test_id(f"stock-{METFORMIN}").get_by_role("link", name="Movimientos").click()
    page.get_by_test_id("ledger").wait_for()
    movements = page.get_by_test_id("movement")
    assert movements.count() == 2
    newest = movements.first
    assert newest.get_attribute("data-kind") == MovementKind.DISPENSE
    assert "Salida por surtimiento" in newest.inner_text()
    assert newest.get_by_test_id("movement-quantity").inner_text() == "\N{MINUS SIGN}20"
    assert newest.get_by_test_id("movement-balance").inner_text() == "0"
    assert "Rosa · Farmacia" in newest.inner_text()  # the person and role, not the username
    movement = StockMovement.objects.get(kind=MovementKind.DISPENSE)
    assert (movement.quantity, movement.balance_after, movement.actor_username) == (
        -20,
        0,
        "farmacia",
    )

    # --- the facility's fill rate changed accordingly -------------------------------------------
    page.goto(f"/unidades/{centre.clues}/")
    assert page.get_by_test_id("fill-rate-lines").first.inner_text() == "0/1"
    assert page.get_by_test_id("fill-rate-units").first.inner_text() == "20/60"
    assert page.get_by_test_id("fill-rate-units-rate").first.inner_text() == "33,3 %"
    assert page.get_by_test_id("fill-rate-lines-rate").first.inner_text() == "0,0 %"
    # The pharmacy's own page shows the same figure.
    page.goto("/farmacia/")
    assert page.get_by_test_id("fill-rate-units").first.inner_text() == "20/60"
