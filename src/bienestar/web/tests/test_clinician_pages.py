"""The clinician's pages: patient chart, new-encounter form, diagnosis and medicine search, prescribe
form, the prescription as issued and its printable version. Authorization matrix on each; refusals
write nothing."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from bienestar.access.models import AuditAction, AuditEvent
from bienestar.access.tests.factories import actor_for
from bienestar.clinical.models import (
    AllergyIntolerance,
    Condition,
    Encounter,
    EncounterStatus,
    Observation,
)
from bienestar.clinical.services import encounter_record
from bienestar.clinical.tests.factories import icd10_codes, schedule_entries
from bienestar.facilities.models import FacilityType
from bienestar.facilities.tests.factories import FacilityFactory
from bienestar.inventory.tests.factories import receive
from bienestar.people import national_id
from bienestar.prescribing import codes as rx_codes
from bienestar.prescribing.models import Prescription, PrescriptionLine
from bienestar.prescribing.services import LineInput, prescription_create
from bienestar.terminology.models import Medicine
from bienestar.web.charts import line_chart, nice_step
from bienestar.workforce.tests.factories import PractitionerFactory

METFORMIN = "010.000.5165.00"
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def clinic(geo, users):  # type: ignore[no-untyped-def]
    """The Oaxaca health centre where the clinician, the director and the pharmacist work; the
    Hidalgo clinician works at a centre of Hidalgo."""
    oax = FacilityFactory(territory=geo["oaxaca_centro"], name="Centro de Salud Oaxaca")
    hgo = FacilityFactory(territory=geo["pachuca"], name="Centro de Salud Pachuca")
    doctor = PractitionerFactory(
        given_names="Ana María", first_surname="Ruiz", second_surname="Santiago"
    )
    for key, facility in [
        ("clinician", oax),
        ("facility_director", oax),
        ("pharmacist", oax),
        ("warehouse_manager", oax),
        ("other_state_clinician", hgo),
    ]:
        users[key].facility = facility
        if key == "clinician":
            users[key].practitioner = doctor
        users[key].save()
    return {"oaxaca": oax, "hidalgo": hgo, "doctor": doctor}


@pytest.fixture
def codes(db):  # type: ignore[no-untyped-def]
    return icd10_codes()


@pytest.fixture
def metformin(db) -> Medicine:  # type: ignore[no-untyped-def]
    return Medicine.objects.create(
        key=METFORMIN,
        generic_name="Metformina",
        form="Tableta",
        strength="850 mg",
        source="test",
    )


def chart_url(person: Any) -> str:
    return reverse("patient_chart", args=[person.public_id])


def encounter_url(person: Any) -> str:
    return reverse("encounter_new", args=[person.public_id])


def prescribe_url(person: Any) -> str:
    return reverse("prescribe", args=[person.public_id])


def clinical_rows() -> dict[str, int]:
    return {
        "encounters": Encounter.objects.count(),
        "conditions": Condition.objects.count(),
        "observations": Observation.objects.count(),
        "prescriptions": Prescription.objects.count(),
        "lines": PrescriptionLine.objects.count(),
        "writes": AuditEvent.objects.filter(action=AuditAction.CREATE).count(),
    }


def encounter_post(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "encounter_class": "ambulatory",
        "reason_text": "Control de diabetes",
        "diagnosis_text": "",
        "diagnoses": ["E11"],
        "systolic": "130",
        "diastolic": "85",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def line_post(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "medicine": METFORMIN,
        "dose": "1 tableta",
        "frequency": "cada 12 horas",
        "duration_days": "30",
        "quantity": "60",
        "instructions": "con los alimentos",
        "action": "emit",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def record(users: Any, person: Any, **kwargs: Any) -> Encounter:
    values: dict[str, Any] = {
        "encounter_class": "ambulatory",
        "reason_text": "Control",
        "diagnoses": ["E11"],
        "vitals": {"systolic": 140, "diastolic": 90, "glucose": 180},
    }
    values.update(kwargs)
    return encounter_record(actor_for(users["clinician"]), person=person, **values)


# --- The chart ------------------------------------------------------------------------------------


def test_chart_for_the_clinician_with_empty_states(client_for, users, clinic, jose):
    response = client_for(users["clinician"]).get(chart_url(jose))

    assert response.status_code == 200
    body = response.content.decode()
    assert "José López Hernández" in body
    assert national_id.display(jose.national_health_id) in body
    for empty in [
        "Sin diagnósticos activos.",
        "Sin alergias registradas.",
        "Sin signos vitales registrados.",
        "Sin registros de presión arterial.",
        "Sin registros de glucosa.",
        "Sin consultas registradas.",
        "Sin recetas registradas.",
        "Sin vacunas registradas.",
    ]:
        assert empty in body
    assert encounter_url(jose) in body
    assert prescribe_url(jose) in body


def test_chart_is_read_only_for_the_facility_director(client_for, users, clinic, codes, jose):
    record(users, jose)

    response = client_for(users["facility_director"]).get(chart_url(jose))

    assert response.status_code == 200
    body = response.content.decode()
    assert "Consulta de solo lectura" in body
    assert "Diabetes mellitus tipo 2" in body
    assert encounter_url(jose) not in body
    assert prescribe_url(jose) not in body


def test_anonymous_is_sent_to_log_in(client, clinic, jose):
    for url in [chart_url(jose), encounter_url(jose), prescribe_url(jose)]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("role", ["pharmacist", "warehouse_manager", "auditor", "outreach_manager"])
def test_roles_without_clinical_read_get_403_and_nothing_is_read(
    client_for, users, clinic, jose, role
):
    response = client_for(users[role]).get(chart_url(jose))

    assert response.status_code == 403
    assert "José" not in response.content.decode()
    assert not AuditEvent.objects.filter(person_id=jose.pk).exists()


def test_patient_of_another_state_is_not_found(client_for, users, clinic, jose, hidalgo_person):
    hidalgo = client_for(users["other_state_clinician"])
    for url in [chart_url(jose), encounter_url(jose), prescribe_url(jose)]:
        assert hidalgo.get(url).status_code == 404
    oaxaca = client_for(users["clinician"])
    assert oaxaca.get(chart_url(hidalgo_person)).status_code == 404
    assert not AuditEvent.objects.filter(person_id__in=[jose.pk, hidalgo_person.pk]).exists()


def test_opening_the_chart_is_audited(client_for, users, clinic, jose):
    client_for(users["clinician"]).get(chart_url(jose))

    chart = AuditEvent.objects.get(resource_type="ClinicalChart")
    assert chart.person_id == jose.pk
    assert chart.actor_username == "clinician"
    assert AuditEvent.objects.filter(resource_type="Prescription", person_id=jose.pk).exists()


def test_chart_shows_problems_vitals_chart_prescriptions_allergies_and_schedule(
    client_for, users, clinic, codes, jose, metformin
):
    schedule_entries()
    clinician = actor_for(users["clinician"])
    earlier = timezone.now() - dt.timedelta(days=30)
    record(users, jose, start=earlier, end=earlier + dt.timedelta(minutes=20))
    encounter = record(
        users,
        jose,
        vitals={"systolic": 128, "diastolic": 82, "glucose": 140, "weight": 80, "height": 170},
    )
    AllergyIntolerance.objects.create(
        person=jose,
        facility=clinic["oaxaca"],
        substance="Penicilina",
        category="medication",
        criticality="high",
        recorded_at=timezone.now(),
        recorded_by=users["clinician"],
    )
    prescription = prescription_create(
        clinician,
        person=jose,
        encounter=encounter,
        lines=[LineInput(METFORMIN, 60, "1 tableta", "cada 12 horas", 30)],
    )

    body = client_for(users["clinician"]).get(chart_url(jose)).content.decode()

    assert "E11" in body and "Diabetes mellitus tipo 2" in body
    assert "128/82" in body and "140/90" in body
    assert re.search(r'<svg class="chart"[^>]*data-testid="bp-chart"', body)
    assert body.count("<polyline") >= 3  # systolic, diastolic, glucose: two points each
    assert "Penicilina" in body and "riesgo alto" in body
    assert rx_codes.display(prescription.code) in body
    assert "Pendiente" in body  # the line's dispensing status
    assert "Metformina" in body
    assert "Hexavalente acelular" in body  # the national schedule
    assert "27.7" in body  # BMI computed from 80 kg and 170 cm


def test_timeline_pages_through_older_encounters(client_for, users, clinic, codes, jose):
    start = timezone.now() - dt.timedelta(days=40)
    for day in range(12):
        at = start + dt.timedelta(days=day)
        record(users, jose, reason_text=f"Visita {day:02d}", start=at, end=at, vitals={})
    client = client_for(users["clinician"])

    body = client.get(chart_url(jose)).content.decode()
    assert body.count('data-testid="encounter"') == 10
    assert "Visita 11" in body and "Visita 01" not in body
    more = reverse("patient_encounters", args=[jose.public_id]) + "?pagina=2"
    assert more in body

    fragment = client.get(more, **HTMX)
    assert fragment.status_code == 200
    text = fragment.content.decode()
    assert "<html" not in text
    assert text.count('data-testid="encounter"') == 2
    assert "Visita 00" in text and "Visita 01" in text

    page = client.get(more)
    assert "<html" in page.content.decode()


def test_chart_queries_do_not_grow_with_the_record(
    client_for, users, clinic, codes, jose, metformin, django_assert_max_num_queries
):
    clinician = actor_for(users["clinician"])
    client = client_for(users["clinician"])
    record(users, jose)
    client.get(chart_url(jose))
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(chart_url(jose))
    for i in range(6):
        encounter = record(users, jose, reason_text=f"Consulta {i}")
        prescription_create(
            clinician,
            person=jose,
            encounter=encounter,
            lines=[LineInput(METFORMIN, 10, "1", "diario", 10)],
        )
    with django_assert_max_num_queries(len(few.captured_queries) + 2):
        client.get(chart_url(jose))


def test_person_page_links_to_the_chart_only_for_clinical_roles(client_for, users, clinic, jose):
    person_url = reverse("person_detail", args=[jose.public_id])
    assert chart_url(jose) in client_for(users["clinician"]).get(person_url).content.decode()
    assert chart_url(jose) not in client_for(users["pharmacist"]).get(person_url).content.decode()


def test_chart_in_english(client_for, users, clinic, jose):
    client = client_for(users["clinician"])
    client.post(reverse("set_language"), {"language": "en", "next": "/"})

    body = client.get(chart_url(jose)).content.decode()

    assert "Active problems" in body
    assert "New encounter" in body


# --- New encounter --------------------------------------------------------------------------------


def test_encounter_form_has_the_fields_the_browser_test_uses(client_for, users, clinic, jose):
    response = client_for(users["clinician"]).get(encounter_url(jose))

    assert response.status_code == 200
    body = response.content.decode()
    for marker in [
        'id="diagnosis-search"',
        'id="id_systolic"',
        'id="id_diastolic"',
        "Guardar consulta",
    ]:
        assert marker in body
    assert "de 50 a 300 mmHg" in body  # the accepted range next to the field


@pytest.mark.parametrize("role", ["facility_director", "pharmacist", "auditor"])
def test_encounter_form_refused_to_roles_that_cannot_write(
    client_for, users, clinic, codes, jose, role
):
    client = client_for(users[role])
    assert client.get(encounter_url(jose)).status_code == 403
    assert client.post(encounter_url(jose), encounter_post()).status_code == 403
    assert Encounter.objects.count() == 0


def test_other_state_clinician_cannot_post_an_encounter(client_for, users, clinic, codes, jose):
    response = client_for(users["other_state_clinician"]).post(
        encounter_url(jose), encounter_post()
    )

    assert response.status_code == 404
    assert Encounter.objects.count() == 0


def test_impossible_systolic_is_shown_next_to_the_field_and_nothing_is_written(
    client_for, users, clinic, codes, jose
):
    before = clinical_rows()

    response = client_for(users["clinician"]).post(
        encounter_url(jose), encounter_post(systolic="400", diastolic="85")
    )

    assert response.status_code == 422
    body = response.content.decode()
    assert "fisiológicamente imposible" in body
    assert "se aceptan valores de 50 a 300 mmHg" in body
    assert 'data-testid="error-systolic"' in body
    assert 'value="400"' in body  # what was typed stays in the form
    assert 'value="E11" checked' in body  # and so does the diagnosis picked
    assert clinical_rows() == before


def test_diastolic_above_systolic_is_refused(client_for, users, clinic, codes, jose):
    response = client_for(users["clinician"]).post(
        encounter_url(jose), encounter_post(systolic="90", diastolic="120")
    )

    assert response.status_code == 422
    assert 'data-testid="error-diastolic"' in response.content.decode()
    assert Encounter.objects.count() == 0


def test_every_wrong_field_is_reported_at_once(client_for, users, clinic, codes, jose):
    response = client_for(users["clinician"]).post(
        encounter_url(jose),
        encounter_post(reason_text="", temperature="52", glucose="abc", diagnoses=["X99.9"]),
    )

    assert response.status_code == 422
    body = response.content.decode()
    assert "Indique el motivo de la atención." in body
    assert 'data-testid="error-temperature"' in body
    assert 'data-testid="error-glucose"' in body
    assert "Código CIE-10 desconocido" in body
    assert Encounter.objects.count() == 0


def test_unknown_icd10_code_is_refused(client_for, users, clinic, codes, jose):
    before = clinical_rows()

    response = client_for(users["clinician"]).post(
        encounter_url(jose), encounter_post(diagnoses=[], diagnosis_text="Z99.9")
    )

    assert response.status_code == 422
    assert "Código CIE-10 desconocido: Z99.9." in response.content.decode()
    assert clinical_rows() == before


def test_words_typed_without_picking_are_searched_for_the_user(
    client_for, users, clinic, codes, jose
):
    response = client_for(users["clinician"]).post(
        encounter_url(jose), encounter_post(diagnoses=[], diagnosis_text="hipertension")
    )

    assert response.status_code == 422
    body = response.content.decode()
    assert "no es un código CIE-10" in body
    assert 'data-code="I10"' in body
    assert Encounter.objects.count() == 0


def test_successful_encounter_appears_on_the_chart(client_for, users, clinic, codes, jose):
    client = client_for(users["clinician"])

    response = client.post(encounter_url(jose), encounter_post(heart_rate="72", weight="80,5"))

    assert response.status_code == 302
    encounter = Encounter.objects.get()
    assert response["Location"] == f"{chart_url(jose)}?consulta={encounter.public_id}"
    assert encounter.status == EncounterStatus.FINISHED
    assert encounter.facility == clinic["oaxaca"]
    assert [c.code_id for c in encounter.conditions.all()] == ["E11"]
    chart = client.get(response["Location"])
    body = chart.content.decode()
    assert "Consulta guardada en el expediente." in body
    assert "130/85" in body
    assert "Diabetes mellitus tipo 2" in body
    assert "80.5" in body
    assert f"?atencion={encounter.public_id}" in body  # prescribe for this encounter
    assert 'data-testid="just-recorded"' in body


def test_codes_typed_without_javascript_are_recorded(client_for, users, clinic, codes, jose):
    response = client_for(users["clinician"]).post(
        encounter_url(jose),
        encounter_post(diagnoses=[], diagnosis_text="e11.9, I10", systolic="", diastolic=""),
    )

    assert response.status_code == 302
    encounter = Encounter.objects.get()
    assert [c.code_id for c in encounter.conditions.order_by("rank")] == ["E11.9", "I10"]
    assert not encounter.observations.exists()


def test_diagnosis_search_fragment_is_accent_insensitive(client_for, users, clinic, codes):
    client = client_for(users["clinician"])

    response = client.get(reverse("diagnosis_search"), {"diagnosis_text": "diab"}, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-code="E11"' in body and "Diabetes mellitus tipo 2" in body
    assert "<html" not in body

    accents = client.get(reverse("diagnosis_search"), {"diagnosis_text": "hipertension"}, **HTMX)
    assert 'data-code="I10"' in accents.content.decode()

    picked = client.get(
        reverse("diagnosis_search"), {"diagnosis_text": "diab", "diagnoses": ["E11"]}, **HTMX
    )
    assert re.search(r'data-code="E11"[^>]*disabled', picked.content.decode())


def test_diagnosis_pick_returns_the_box_with_both_codes(client_for, users, clinic, codes):
    response = client_for(users["clinician"]).get(
        reverse("diagnosis_pick"), {"diagnoses": ["E11"], "add": "i10"}, **HTMX
    )

    body = response.content.decode()
    assert 'id="diagnosis-widget"' in body
    assert 'value="E11" checked' in body and 'value="I10" checked' in body
    assert 'value=""' in body  # the search box is emptied for the next one


def test_diagnosis_search_needs_clinical_write(client_for, users, clinic, codes, client):
    assert (
        client_for(users["pharmacist"])
        .get(reverse("diagnosis_search"), {"diagnosis_text": "diab"})
        .status_code
        == 403
    )
    client.logout()
    anonymous = client.get(reverse("diagnosis_search"), {"diagnosis_text": "diab"}, **HTMX)
    assert anonymous.status_code == 401
    assert anonymous["HX-Redirect"] == reverse("login")


# --- Prescribing ----------------------------------------------------------------------------------


def test_prescribe_form_has_the_fields_the_browser_test_uses(
    client_for, users, clinic, jose, metformin
):
    response = client_for(users["clinician"]).get(prescribe_url(jose))

    assert response.status_code == 200
    body = response.content.decode()
    for marker in ['id="medicine-search"', 'id="id_quantity"', "Emitir receta"]:
        assert marker in body


@pytest.mark.parametrize("role", ["facility_director", "pharmacist", "warehouse_manager"])
def test_prescribe_form_refused_to_roles_that_cannot_prescribe(
    client_for, users, clinic, jose, metformin, role
):
    client = client_for(users[role])
    assert client.get(prescribe_url(jose)).status_code == 403
    assert client.post(prescribe_url(jose), line_post()).status_code == 403
    assert client.get(reverse("medicine_search"), {"medicine": "metf"}).status_code == 403
    assert Prescription.objects.count() == 0


def test_other_state_clinician_cannot_prescribe(client_for, users, clinic, jose, metformin):
    response = client_for(users["other_state_clinician"]).post(prescribe_url(jose), line_post())

    assert response.status_code == 404
    assert Prescription.objects.count() == 0


def test_medicine_search_shows_stock_at_the_clinicians_facility(
    client_for, users, clinic, metformin
):
    Medicine.objects.create(
        key="010.000.2501.00", generic_name="Enalapril", strength="10 mg", source="test"
    )
    receive(actor_for(users["warehouse_manager"]), clinic["oaxaca"], METFORMIN, 120)
    client = client_for(users["clinician"])

    metf = client.get(reverse("medicine_search"), {"medicine": "METF"}, **HTMX).content.decode()
    assert f'data-key="{METFORMIN}"' in metf
    assert "En existencia (120 piezas)" in metf
    assert "Centro de Salud Oaxaca" in metf

    enalapril = client.get(
        reverse("medicine_search"), {"medicine": "enala"}, **HTMX
    ).content.decode()
    assert "Enalapril" in enalapril and "Sin existencia" in enalapril

    by_key = client.get(reverse("medicine_search"), {"medicine": "5165"}, **HTMX).content.decode()
    assert f'data-key="{METFORMIN}"' in by_key and "Enalapril" not in by_key


def test_medicine_search_is_accent_insensitive(client_for, users, clinic):
    Medicine.objects.create(
        key="010.000.0101.00", generic_name="Ácido acetilsalicílico", form="Tableta", source="test"
    )

    body = (
        client_for(users["clinician"])
        .get(reverse("medicine_search"), {"medicine": "acido acetil"}, **HTMX)
        .content.decode()
    )

    assert "Ácido acetilsalicílico" in body


def test_stock_of_a_pharmacy_attached_to_the_clinicians_facility(
    client_for, users, clinic, metformin
):
    pharmacy = FacilityFactory(
        territory=clinic["oaxaca"].territory,
        name="Farmacia del Bienestar anexa",
        facility_type=FacilityType.PHARMACY,
        parent=clinic["oaxaca"],
    )
    keeper = users["warehouse_manager"]
    keeper.facility = pharmacy
    keeper.save(update_fields=["facility"])
    receive(actor_for(keeper), pharmacy, METFORMIN, 30)

    body = (
        client_for(users["clinician"])
        .get(reverse("medicine_pick"), {"medicine": "010000516500"}, **HTMX)
        .content.decode()
    )

    assert 'value="010.000.5165.00"' in body
    assert "En existencia (30 piezas)" in body
    assert "Farmacia del Bienestar anexa" in body


def test_prescribing_metformin_shows_the_verification_code(
    client_for, users, clinic, codes, jose, metformin
):
    encounter = record(users, jose)
    client = client_for(users["clinician"])

    form = client.get(prescribe_url(jose), {"atencion": str(encounter.public_id)})
    assert 'data-testid="linked-encounter"' in form.content.decode()
    response = client.post(
        prescribe_url(jose), {**line_post(), "encounter": str(encounter.public_id)}
    )

    assert response.status_code == 302
    prescription = Prescription.objects.get()
    assert response["Location"] == reverse("prescription_detail", args=[prescription.public_id])
    assert prescription.encounter == encounter
    assert prescription.prescriber == clinic["doctor"]
    line = prescription.lines.get()
    assert (line.medicine_id, line.quantity, line.dose, line.duration_days) == (
        METFORMIN,
        60,
        "1 tableta",
        30,
    )
    page = client.get(response["Location"]).content.decode()
    match = re.search(r'id="verification-code"[^>]*>([^<]+)<', page)
    assert match is not None
    assert rx_codes.normalize(match.group(1)) == prescription.code
    assert rx_codes.is_valid(match.group(1))
    assert reverse("prescription_print", args=[prescription.public_id]) in page


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"medicine": "999.999.9999.99"}, "Elija un medicamento de la lista"),
        ({"quantity": "0"}, "mayor o igual a 1"),
        ({"quantity": "-5"}, "mayor o igual a 1"),
        ({"quantity": "2.5"}, "número entero"),
        ({"duration_days": "400"}, "menor o igual a 365"),
        ({"dose": ""}, "Este campo es obligatorio."),
    ],
)
def test_bad_prescription_lines_are_refused_and_nothing_is_written(
    client_for, users, clinic, jose, metformin, overrides, message
):
    before = clinical_rows()

    response = client_for(users["clinician"]).post(prescribe_url(jose), line_post(**overrides))

    assert response.status_code == 422
    assert message in response.content.decode()
    assert clinical_rows() == before


def test_an_empty_prescription_is_refused(client_for, users, clinic, jose, metformin):
    response = client_for(users["clinician"]).post(prescribe_url(jose), {"action": "emit"})

    assert response.status_code == 422
    assert "Agregue al menos un medicamento" in response.content.decode()
    assert Prescription.objects.count() == 0


def test_words_typed_in_the_medicine_box_are_searched_for_the_user(
    client_for, users, clinic, jose, metformin
):
    response = client_for(users["clinician"]).post(
        prescribe_url(jose), line_post(medicine="metformina")
    )

    assert response.status_code == 422
    assert f'data-key="{METFORMIN}"' in response.content.decode()
    assert Prescription.objects.count() == 0


def test_two_lines_one_removed_then_emitted(client_for, users, clinic, jose, metformin):
    Medicine.objects.create(key="010.000.2501.00", generic_name="Enalapril", source="test")
    Medicine.objects.create(key="010.000.0104.00", generic_name="Paracetamol", source="test")
    client = client_for(users["clinician"])

    first = client.post(prescribe_url(jose), line_post(action="add_line"))
    assert first.status_code == 200
    assert 'name="line-0-medicine" value="010.000.5165.00"' in first.content.decode()
    assert Prescription.objects.count() == 0

    kept = {f"line-0-{k}": v for k, v in line_post().items() if k != "action"}
    dropped = {
        f"line-1-{k}": v for k, v in line_post(medicine="010.000.0104.00").items() if k != "action"
    }
    response = client.post(
        prescribe_url(jose),
        {
            **kept,
            **dropped,
            "line": ["0", "1"],
            "line_remove": ["1"],
            **line_post(medicine="010.000.2501.00", quantity="30"),
        },
    )

    assert response.status_code == 302
    lines = list(Prescription.objects.get().lines.order_by("position"))
    assert [(li.medicine_id, li.quantity) for li in lines] == [
        (METFORMIN, 60),
        ("010.000.2501.00", 30),
    ]


def test_encounter_of_another_person_is_refused(
    client_for, users, clinic, codes, jose, geo, metformin
):
    from bienestar.people.tests.factories import PersonFactory

    other = PersonFactory(territory=geo["oaxaca_centro"], given_names="Rosa")
    encounter = record(users, other)

    response = client_for(users["clinician"]).post(
        prescribe_url(jose), {**line_post(), "encounter": str(encounter.public_id)}
    )

    assert response.status_code == 422
    assert Prescription.objects.count() == 0


# --- The prescription and its printable version ------------------------------------------------------


@pytest.fixture
def prescription(users, clinic, jose, metformin):  # type: ignore[no-untyped-def]
    return prescription_create(
        actor_for(users["clinician"]),
        person=jose,
        lines=[LineInput(METFORMIN, 60, "1 tableta", "cada 12 horas", 30, "con alimentos")],
    )


def test_printable_prescription_has_the_qr_and_what_the_pharmacy_needs(
    client_for, users, clinic, jose, prescription
):
    response = client_for(users["clinician"]).get(
        reverse("prescription_print", args=[prescription.public_id])
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert "<svg" in body and "<?xml" not in body
    assert "José López Hernández" in body
    assert national_id.display(jose.national_health_id) in body
    assert "Metformina" in body and "cada 12 horas" in body and METFORMIN in body
    assert "Ana María Ruiz Santiago" in body
    assert rx_codes.display(prescription.code) in body
    assert f"{prescription.valid_until.day} de" in body  # "Surtible … hasta el 7 de julio de 2026"
    assert "@media print" not in body  # print rules live in the stylesheet
    assert "print.js" in body


def test_prescription_pages_authorization(client_for, users, clinic, prescription, client):
    detail = reverse("prescription_detail", args=[prescription.public_id])
    printable = reverse("prescription_print", args=[prescription.public_id])
    for role in ["clinician", "facility_director", "pharmacist"]:
        c = client_for(users[role])
        assert c.get(detail).status_code == 200
        assert c.get(printable).status_code == 200
    assert client_for(users["warehouse_manager"]).get(detail).status_code == 403
    assert client_for(users["other_state_clinician"]).get(printable).status_code == 404
    client.logout()
    assert client.get(printable).status_code == 302


# --- The chart geometry ----------------------------------------------------------------------------


def test_nice_steps():
    assert nice_step(100) == 20
    assert nice_step(7) == 2
    assert nice_step(0.9) == 0.2


def test_line_chart_puts_points_inside_the_plot():
    t0 = timezone.now()
    chart = line_chart(
        [(t0, [Decimal(120), Decimal(80)]), (t0 + dt.timedelta(days=10), [Decimal(150), None])],
        series=[("systolic", "S"), ("diastolic", "D")],
        unit="mmHg",
    )
    xs = [p.x for s in chart.series for p in s.points]
    ys = [p.y for s in chart.series for p in s.points]
    assert min(xs) == chart.left and max(xs) == chart.right
    assert all(chart.top <= y <= chart.bottom for y in ys)
    assert [len(s.points) for s in chart.series] == [2, 1]
    assert chart.y_ticks[0].label == "80" and float(chart.y_ticks[-1].label) >= 150

    single = line_chart([(t0, [Decimal(100)])], series=[("glucose", "G")], unit="mg/dL")
    assert single.series[0].points[0].x == (single.left + single.right) / 2
    assert line_chart([], series=[("glucose", "G")], unit="mg/dL").empty
