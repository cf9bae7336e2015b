"""The prescribing and dispensing rules of issue 18, through every door: the pages, the JSON API
and FHIR. Each rule lives in the domain service or selector; each test would fail if it lived in
one door only. Refusals leave nothing written."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bienestar.access.models import AuditEvent
from bienestar.access.tests.api_client import ApiClient
from bienestar.clinical.models import Encounter
from bienestar.fhir import systems
from bienestar.fhir.tests.client import FhirClient
from bienestar.inventory.tests.factories import METFORMIN, Network, build_network, receive
from bienestar.people.tests.factories import PersonFactory
from bienestar.prescribing.models import Prescription, PrescriptionStatus, UnfilledReason
from bienestar.prescribing.services import dispense_record
from bienestar.prescribing.tests.factories import fill, line, prescribe
from bienestar.prescribing.tests.factories import state as full_state

pytestmark = pytest.mark.django_db

OUT_OF_STOCK = str(UnfilledReason.OUT_OF_STOCK)


@pytest.fixture
def net(geo: dict[str, Any], users: dict[str, Any]) -> Network:
    return build_network(geo, users)


@pytest.fixture
def jose(geo: dict[str, Any]) -> Any:
    return PersonFactory(territory=geo["oaxaca_centro"])


def state() -> dict[str, Any]:
    """What a refusal must leave unchanged. Reads are audited (a refused page still showed the
    prescription), so the audit log is left out: no write is what counts."""
    out = {k: v for k, v in full_state().items() if k != "audit"}
    out["audited_writes"] = AuditEvent.objects.exclude(action__in=["read", "search"]).count()
    return out


def page_client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- A prescription belongs to the prescriber's own facility -----------------------------------


@pytest.fixture
def elsewhere(net: Network, jose: Any) -> Encounter:
    """An encounter of José at the other Oaxaca facility, not the clinician's."""
    return Encounter.objects.create(
        person=jose,
        facility=net.pharmacy2,
        recorded_by=net.users["clinician"],
        encounter_class="ambulatory",
        start=timezone.now(),
    )


def test_page_refuses_an_encounter_of_another_facility(net, jose, elsewhere):
    before = state()
    response = page_client(net.users["clinician"]).post(
        reverse("prescribe", args=[jose.public_id]),
        {
            "medicine": METFORMIN,
            "dose": "1 tableta",
            "frequency": "cada 12 horas",
            "duration_days": "30",
            "quantity": "60",
            "action": "emit",
            "encounter": str(elsewhere.public_id),
        },
    )
    assert response.status_code == 422
    assert "consulta de su establecimiento" in response.content.decode()
    assert state() == before


def test_api_refuses_an_encounter_of_another_facility(net, jose, elsewhere):
    before = state()
    response = ApiClient(net.users["clinician"]).post(
        "/api/prescriptions/",
        {
            "person": str(jose.public_id),
            "encounter": str(elsewhere.public_id),
            "lines": [
                {
                    "medicine": METFORMIN,
                    "quantity": 60,
                    "dose": "1 tableta",
                    "frequency": "cada 12 horas",
                    "duration_days": 30,
                }
            ],
        },
    )
    assert response.status_code == 422, response.content
    assert response.json()["field"] == "encounter"
    assert state() == before


def _medication_request(person: Any, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        "medicationReference": {"reference": f"Medication/{METFORMIN}"},
        "subject": {"reference": f"Patient/{person.public_id}"},
        "dosageInstruction": [
            {
                "text": "1 tableta",
                "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "tableta"}}],
                "timing": {
                    "repeat": {
                        "frequency": 1,
                        "period": 12,
                        "periodUnit": "h",
                        "boundsDuration": {
                            "value": 30,
                            "unit": "d",
                            "system": systems.UCUM,
                            "code": "d",
                        },
                    }
                },
            }
        ],
        "dispenseRequest": {"quantity": {"value": 60}},
        **extra,
    }


def test_fhir_refuses_an_encounter_of_another_facility(net, jose, elsewhere):
    before = state()
    response = FhirClient(net.users["clinician"]).post(
        "MedicationRequest",
        _medication_request(jose, encounter={"reference": f"Encounter/{elsewhere.public_id}"}),
    )
    assert response.status_code == 422, response.json()
    assert "establecimiento" in response.json()["issue"][0]["diagnostics"]
    assert state() == before


def test_every_door_accepts_an_encounter_of_the_own_facility(net, jose):
    here = Encounter.objects.create(
        person=jose,
        facility=net.centre,
        recorded_by=net.users["clinician"],
        encounter_class="ambulatory",
        start=timezone.now(),
    )
    reference = {"reference": f"Encounter/{here.public_id}"}
    fhir = FhirClient(net.users["clinician"]).post(
        "MedicationRequest", _medication_request(jose, encounter=reference)
    )
    assert fhir.status_code == 201, fhir.json()
    assert Prescription.objects.get().facility == net.centre


# --- "Out of stock" is refused when the shelf covers the line ---------------------------------


@pytest.fixture
def stocked(net: Network, jose: Any) -> Prescription:
    """10 tablets prescribed, 100 on the centre's shelf."""
    receive(net.actor("pharmacist"), net.centre, METFORMIN, 100, lot_number="MET-100")
    return prescribe(net, jose, line(METFORMIN, 10))


def test_page_refuses_out_of_stock_for_units_on_the_shelf_and_does_not_offer_it(net, stocked):
    client = page_client(net.users["pharmacist"])
    url = reverse("dispense", args=[stocked.public_id])
    form = client.get(url).content.decode()
    assert 'value="patient_declined"' in form and 'value="prescriber_changed"' in form
    assert f'value="{OUT_OF_STOCK}"' not in form
    pl = stocked.lines.get()
    before = state()
    response = client.post(
        url,
        {
            "version": Prescription.objects.get(pk=stocked.pk).version,
            f"cantidad-{pl.public_id}": "4",
            f"motivo-{pl.public_id}": OUT_OF_STOCK,
            f"nota-{pl.public_id}": "",
        },
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "no es el motivo" in body and "El paciente no lo aceptó" in body
    assert state() == before


def test_api_refuses_out_of_stock_for_units_on_the_shelf(net, stocked):
    pl = stocked.lines.get()
    before = state()
    response = ApiClient(net.users["pharmacist"]).post(
        f"/api/prescriptions/{stocked.public_id}/dispenses",
        {"lines": [{"line": str(pl.public_id), "quantity": 0, "reason_if_unfilled": OUT_OF_STOCK}]},
    )
    assert response.status_code == 422, response.content
    assert response.json()["field"] == "reason_if_unfilled"
    assert state() == before


def test_fhir_refuses_out_of_stock_for_units_on_the_shelf(net, stocked):
    pl = stocked.lines.get()
    before = state()
    response = FhirClient(net.users["pharmacist"]).post(
        "MedicationDispense",
        {
            "resourceType": "MedicationDispense",
            "status": "declined",
            "medicationReference": {"reference": f"Medication/{METFORMIN}"},
            "authorizingPrescription": [{"reference": f"MedicationRequest/{pl.public_id}"}],
            "quantity": {"value": 0},
            "statusReasonCodeableConcept": {
                "coding": [{"system": systems.UNFILLED_REASON, "code": OUT_OF_STOCK}]
            },
        },
    )
    assert response.status_code == 422, response.json()
    assert state() == before


def test_out_of_stock_stays_a_reason_when_the_shelf_falls_short(net, jose):
    receive(net.actor("pharmacist"), net.centre, METFORMIN, 20, lot_number="MET-20")
    rx = prescribe(net, jose, line(METFORMIN, 60))
    pl = rx.lines.get()
    response = ApiClient(net.users["pharmacist"]).post(
        f"/api/prescriptions/{rx.public_id}/dispenses",
        {
            "lines": [
                {"line": str(pl.public_id), "quantity": 20, "reason_if_unfilled": OUT_OF_STOCK}
            ]
        },
    )
    assert response.status_code == 201, response.content
    assert response.json()["lines"][0]["remaining"] == 40


# --- Dispensable on a given day: one definition, every door -----------------------------------


@pytest.fixture
def lapsed(net: Network, jose: Any) -> Prescription:
    """Written 20 days ago, valid until 5 days ago, still 'active' (the nightly job has not run)."""
    receive(net.actor("pharmacist"), net.centre, METFORMIN, 100, lot_number="MET-L")
    rx = prescribe(
        net, jose, line(METFORMIN, 10), authored_at=timezone.now() - dt.timedelta(days=20)
    )
    assert rx.status == PrescriptionStatus.ACTIVE
    assert rx.valid_until < timezone.localdate()
    return rx


def test_a_lapsed_prescription_is_out_of_every_queue(net, lapsed):
    current = prescribe(net, lapsed.person, line(METFORMIN, 5))
    queue = page_client(net.users["pharmacist"]).get(reverse("pharmacy_home")).content.decode()
    assert current.code[:3] in queue.replace("-", "")
    assert str(lapsed.public_id) not in queue and lapsed.code[3:6] not in queue.replace("-", "")
    api = ApiClient(net.users["pharmacist"]).get("/api/prescriptions/queue").json()
    rows = api["items"] if isinstance(api, dict) else api
    assert [row["public_id"] for row in rows] == [str(current.public_id)]
    fhir = FhirClient(net.users["pharmacist"])
    active = fhir.get("MedicationRequest", {"status": "active"}).json()
    stopped = fhir.get("MedicationRequest", {"status": "stopped"}).json()
    line_ids = {str(lapsed.lines.get().public_id)}
    assert not line_ids & {e["resource"]["id"] for e in active.get("entry", [])}
    assert line_ids == {e["resource"]["id"] for e in stopped.get("entry", [])}


def test_a_lapsed_prescription_cannot_be_dispensed_through_any_door(net, lapsed):
    pl = lapsed.lines.get()
    before = state()
    page = page_client(net.users["pharmacist"]).post(
        reverse("dispense", args=[lapsed.public_id]),
        {
            "version": lapsed.version,
            f"cantidad-{pl.public_id}": "10",
            f"motivo-{pl.public_id}": "",
        },
    )
    assert page.status_code == 409
    api = ApiClient(net.users["pharmacist"]).post(
        f"/api/prescriptions/{lapsed.public_id}/dispenses",
        {"lines": [{"line": str(pl.public_id), "quantity": 10}]},
    )
    assert api.status_code == 409, api.content
    fhir = FhirClient(net.users["pharmacist"]).post(
        "MedicationDispense",
        {
            "resourceType": "MedicationDispense",
            "status": "completed",
            "medicationReference": {"reference": f"Medication/{METFORMIN}"},
            "authorizingPrescription": [{"reference": f"MedicationRequest/{pl.public_id}"}],
            "quantity": {"value": 10},
        },
    )
    assert fhir.status_code == 409, fhir.json()
    assert state() == before


# --- A pharmacy reads back the dispenses it recorded, wherever the patient lives ----------------


@pytest.fixture
def hidalgo_dispense(net: Network, geo: dict[str, Any]) -> Any:
    """A patient of Hidalgo prescribed in Hidalgo, whose voucher the Oaxaca centre filled."""
    maria = PersonFactory(territory=geo["pachuca"], given_names="María", sex="F")
    receive(net.actor("pharmacist"), net.centre, METFORMIN, 100, lot_number="MET-H")
    rx = prescribe(net, maria, line(METFORMIN, 10), who="other_state_clinician")
    return dispense_record(
        net.actor("pharmacist"), prescription=rx, pharmacy=net.centre, lines=fill(rx, 10)
    )


def test_the_dispensing_pharmacy_reads_its_dispense_through_every_door(net, hidalgo_dispense):
    receipt = page_client(net.users["pharmacist"]).get(
        reverse("dispense_receipt", args=[hidalgo_dispense.public_id])
    )
    assert receipt.status_code == 200
    api = ApiClient(net.users["pharmacist"]).get(
        f"/api/prescriptions/dispenses/{hidalgo_dispense.public_id}"
    )
    assert api.status_code == 200, api.content
    assert api.json()["lines"][0]["quantity"] == 10
    line_id = hidalgo_dispense.lines.get().public_id
    fhir = FhirClient(net.users["pharmacist"]).get(f"MedicationDispense/{line_id}")
    assert fhir.status_code == 200, fhir.json()


@pytest.mark.parametrize("who", ["pharmacist2", "clinician"])
def test_others_of_the_territory_do_not_read_it_through_any_door(net, hidalgo_dispense, who):
    user = net.users[who]
    receipt = page_client(user).get(reverse("dispense_receipt", args=[hidalgo_dispense.public_id]))
    assert receipt.status_code == 404
    api = ApiClient(user).get(f"/api/prescriptions/dispenses/{hidalgo_dispense.public_id}")
    assert api.status_code == 404
    line_id = hidalgo_dispense.lines.get().public_id
    assert FhirClient(user).get(f"MedicationDispense/{line_id}").status_code == 404


def test_an_unknown_dispense_is_404_everywhere(net):
    missing = uuid.uuid4()
    assert (
        ApiClient(net.users["pharmacist"])
        .get(f"/api/prescriptions/dispenses/{missing}")
        .status_code
        == 404
    )
