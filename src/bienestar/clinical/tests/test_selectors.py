"""Reads of the chart: scoped, audited once per call, and a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from bienestar.access.errors import Forbidden, NotAuthenticated, OutOfScope
from bienestar.access.models import AuditEvent
from bienestar.clinical import selectors, services
from bienestar.clinical.tests.factories import clinical_counts, months_ago, vitals
from bienestar.people.models import Person
from bienestar.people.tests.factories import PersonFactory

pytestmark = pytest.mark.django_db


def visit(actor, person, days_ago, diagnoses=("E11",), **vital_overrides):
    start = timezone.now() - dt.timedelta(days=days_ago)
    return services.encounter_record(
        actor,
        person=person,
        encounter_class="ambulatory",
        reason_text="Control",
        diagnoses=list(diagnoses),
        vitals=vitals(**vital_overrides),
        start=start,
        end=start + dt.timedelta(minutes=15),
    )


@pytest.fixture
def history(actors, codes, patient):
    c = actors["clinician"]
    return [
        visit(c, patient, 90, ("E11", "I10"), systolic=150, diastolic=95, glucose=180),
        visit(c, patient, 60, ("E11",), systolic=140, diastolic=90, glucose=160),
        visit(c, patient, 30, ("E11", "E66"), systolic=130, diastolic=85, glucose=130, weight="78"),
    ]


READERS = ["clinician", "facility_director", "integrator"]
REFUSALS = [
    ("anonymous", NotAuthenticated),
    ("pharmacist", Forbidden),
    ("warehouse_manager", Forbidden),
    ("national_coordinator", Forbidden),
    ("auditor", Forbidden),
    ("outreach_manager", Forbidden),
    ("other_state_clinician", OutOfScope),
]
READS = {
    "timeline": lambda a, p: selectors.encounter_timeline(a, person=p),
    "problems": lambda a, p: selectors.problem_list(a, person=p),
    "series": lambda a, p: selectors.vitals_series(a, person=p, key="bp"),
    "latest": lambda a, p: selectors.latest_vitals(a, person=p),
    "allergies": lambda a, p: selectors.allergy_list(a, person=p),
    "immunizations": lambda a, p: selectors.immunization_list(a, person=p),
    "schedule": lambda a, p: selectors.immunization_schedule(a, person=p),
    "chart": lambda a, p: selectors.patient_chart(a, person=p),
}


@pytest.mark.parametrize("read", list(READS))
@pytest.mark.parametrize(("who", "error"), REFUSALS)
def test_read_refusals_disclose_nothing_and_write_nothing(
    actors, history, patient, read, who, error
):
    before = clinical_counts()
    with pytest.raises(error):
        READS[read](actors[who], patient)
    assert clinical_counts() == before


@pytest.mark.parametrize("read", list(READS))
@pytest.mark.parametrize("who", READERS)
def test_each_allowed_read_writes_one_audit_row(actors, history, patient, read, who):
    before = AuditEvent.objects.count()
    READS[read](actors[who], patient)
    assert AuditEvent.objects.count() == before + 1
    event = AuditEvent.objects.latest("id")
    assert (event.person_id, event.actor_username) == (patient.id, actors[who].username)


def test_unknown_or_malformed_person_is_not_found(actors, history):
    for ref in ["not-a-uuid", "00000000-0000-0000-0000-000000000000"]:
        with pytest.raises(OutOfScope):
            selectors.problem_list(actors["clinician"], person=ref)


def test_timeline_newest_first_with_diagnoses_and_vitals(
    actors, history, patient, django_assert_num_queries
):
    # person, encounters, their diagnoses, their vitals, audit row: the same for any page size.
    with django_assert_num_queries(5):
        page = selectors.encounter_timeline(actors["clinician"], person=patient.public_id, limit=2)
        summary = [
            (
                [c.code.code for c in e.conditions.all()],
                selectors.vitals_of(e)["systolic"],
                e.facility.name,
            )
            for e in page.items
        ]
    assert summary == [
        (["E11", "E66"], Decimal("130"), "Centro de Salud Oaxaca"),
        (["E11"], Decimal("140"), "Centro de Salud Oaxaca"),
    ]
    assert page.has_more
    rest = selectors.encounter_timeline(actors["clinician"], person=patient, limit=2, offset=2)
    assert [e.public_id for e in rest.items] == [history[0].public_id] and not rest.has_more
    event = AuditEvent.objects.latest("id")
    assert (event.action, event.resource_type, event.result_ids) == (
        "search",
        "Encounter",
        [str(history[0].public_id)],
    )


def test_problem_list_latest_active_per_code(actors, history, patient, django_assert_num_queries):
    with django_assert_num_queries(3):
        problems = selectors.problem_list(actors["clinician"], person=patient)
    # Newest first (E11 and E66 from the last visit, by rank), then I10 from the first one.
    assert [c.code_id for c in problems] == ["E11", "E66", "I10"]
    e11 = next(c for c in problems if c.code_id == "E11")
    assert e11.encounter == history[2]  # the latest of its three records


def test_vitals_series_oldest_first_for_the_chart(
    actors, history, patient, django_assert_num_queries
):
    with django_assert_num_queries(4):
        bp = selectors.vitals_series(actors["clinician"], person=patient, key="bp")
    assert [(p.value, p.value2) for p in bp] == [
        (Decimal("150"), Decimal("95")),
        (Decimal("140"), Decimal("90")),
        (Decimal("130"), Decimal("85")),
    ]
    glucose = selectors.vitals_series(actors["clinician"], person=patient, key="glucose", limit=2)
    assert [p.value for p in glucose] == [Decimal("160"), Decimal("130")]
    assert glucose[0].unit == "mg/dL"
    latest = selectors.latest_vitals(actors["clinician"], person=patient)
    assert latest["weight"].value == Decimal("78") and latest["bmi"].value == Decimal("27.0")
    with pytest.raises(Exception) as info:
        selectors.vitals_series(actors["clinician"], person=patient, key="mood")
    assert getattr(info.value, "field", None) == "key"


def test_patient_chart_in_a_fixed_number_of_queries_and_one_audit_row(
    actors, history, patient, vaccine_schedule, django_assert_num_queries
):
    services.immunization_record(
        actors["clinician"],
        person=patient,
        vaccine="BCG",
        dose="unica",
        occurrence_date=patient.birth_date,
    )
    services.allergy_add(actors["clinician"], person=patient, category="food", substance="Mariscos")
    before = AuditEvent.objects.count()
    with django_assert_num_queries(13):
        chart = selectors.patient_chart(actors["clinician"], person=patient)
        [list(e.conditions.all()) for e in chart.encounters.items]
    assert AuditEvent.objects.count() == before + 1
    assert len(chart.encounters.items) == 3
    assert {c.code_id for c in chart.problems} == {"E11", "E66", "I10"}
    assert len(chart.bp_series) == 3 and len(chart.glucose_series) == 3
    assert [a.substance for a in chart.allergies] == ["Mariscos"]
    assert [i.vaccine for i in chart.immunizations] == ["BCG"]
    statuses = {
        (d.entry.vaccine, d.entry.dose, d.entry.age_months): d.status for d in chart.schedule
    }
    assert statuses[("BCG", "unica", 0)] == "applied"
    assert statuses[("Hexavalente acelular", "1", 2)] == "not_recorded"  # an adult


def test_immunization_schedule_of_a_baby(actors, vaccine_schedule, geo):
    baby = PersonFactory(
        territory=geo["oaxaca_centro"], birth_date=months_ago(4) - dt.timedelta(days=10)
    )
    services.immunization_record(
        actors["clinician"],
        person=baby,
        vaccine="BCG",
        dose="unica",
        occurrence_date=baby.birth_date,
    )
    doses = selectors.immunization_schedule(actors["clinician"], person=baby)
    status = {(d.entry.vaccine, d.entry.dose): d.status for d in doses}
    assert status[("BCG", "unica")] == "applied"
    assert status[("Anti hepatitis B", "nacimiento")] == "overdue"
    assert status[("Hexavalente acelular", "2")] == "due"
    assert status[("Hexavalente acelular", "3")] == "upcoming"


def test_survivor_chart_includes_the_records_of_persons_merged_into_it(
    actors, history, patient, geo
):
    survivor = PersonFactory(territory=geo["oaxaca_centro"])
    Person.objects.filter(pk=patient.pk).update(status="merged", merged_into=survivor)
    timeline = selectors.encounter_timeline(actors["clinician"], person=survivor)
    assert len(timeline.items) == 3
    assert {c.code_id for c in selectors.problem_list(actors["clinician"], person=survivor)} == {
        "E11",
        "E66",
        "I10",
    }
    resolved = services.condition_resolve(
        actors["clinician"],
        condition=selectors.problem_list(actors["clinician"], person=survivor)[0],
    )
    assert resolved.clinical_status == "resolved"


def test_encounter_get(actors, history):
    found = selectors.encounter_get(actors["clinician"], encounter=history[0].public_id)
    assert [c.code_id for c in found.conditions.all()] == ["E11", "I10"]
    with pytest.raises(OutOfScope):
        selectors.encounter_get(actors["other_state_clinician"], encounter=history[0].public_id)
    with pytest.raises(Forbidden):
        selectors.encounter_get(actors["pharmacist"], encounter=history[0].public_id)
