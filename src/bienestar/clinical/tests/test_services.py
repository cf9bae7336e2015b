"""Writes: what a consultation records, what is refused (with nothing written), and who may write.

Audit policy (as for persons): a refusal writes no audit row; each allowed write writes exactly one.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from bienestar.access.errors import Forbidden, NotAuthenticated, OutOfScope
from bienestar.access.models import AuditEvent
from bienestar.clinical import selectors, services
from bienestar.clinical.models import (
    Condition,
    Immunization,
    Observation,
    ScheduleFit,
)
from bienestar.clinical.tests.factories import (
    an_hour_ago,
    clinical_counts,
    metformin,
    months_ago,
    vitals,
)
from bienestar.core.errors import Conflict, ValidationFailed
from bienestar.people.models import Person
from bienestar.people.tests.factories import PersonFactory

pytestmark = pytest.mark.django_db


def record(actor, person, **kwargs):
    args = {
        "person": person,
        "encounter_class": "ambulatory",
        "reason_text": "Control de diabetes",
        "diagnoses": ["E11", "I10"],
        "vitals": vitals(),
    }
    args.update(kwargs)
    return services.encounter_record(actor, **args)


# --- the consultation ------------------------------------------------------------------------------


def test_encounter_record_writes_encounter_diagnoses_and_vitals_in_one_go(
    actors, clinic, codes, patient
):
    encounter = record(actors["clinician"], patient, vitals=vitals(heart_rate=72, glucose="142"))

    assert encounter.person == patient
    assert encounter.facility == clinic["oaxaca"]
    assert encounter.practitioner == clinic["doctor"]
    assert encounter.status == "in-progress" and encounter.end is None
    diagnoses = list(encounter.conditions.order_by("rank"))
    assert [(c.code_id, c.rank, c.facility_id) for c in diagnoses] == [
        ("E11", 1, clinic["oaxaca"].id),
        ("I10", 2, clinic["oaxaca"].id),
    ]
    values = {o.code: o.value for o in Observation.objects.filter(encounter=encounter)}
    assert values == {
        "85354-9": None,
        "8480-6": Decimal("130"),
        "8462-4": Decimal("85"),
        "29463-7": Decimal("80"),
        "8302-2": Decimal("170"),
        "8867-4": Decimal("72"),
        "2339-0": Decimal("142"),
        "39156-5": Decimal("27.7"),  # 80 / 1.70²
    }
    panel = Observation.objects.get(encounter=encounter, code="85354-9")
    assert set(panel.components.values_list("code", flat=True)) == {"8480-6", "8462-4"}
    assert Observation.objects.get(code="39156-5").derived
    # One audit row for the whole consultation, naming every record written.
    event = AuditEvent.objects.get()
    assert (event.action, event.resource_type, event.person_id) == (
        "create",
        "Encounter",
        patient.id,
    )
    assert event.resource_id == str(encounter.public_id)
    assert event.result_count == 2 + 8


def test_encounter_record_accepts_public_ids_and_finishes_with_an_end(actors, codes, patient):
    start = an_hour_ago()
    encounter = record(
        actors["clinician"],
        str(patient.public_id),
        start=start,
        end=start + dt.timedelta(minutes=20),
        diagnoses=[services.DiagnosisInput(code="e11.9", verification="provisional")],
        vitals=None,
    )
    assert encounter.status == "finished"
    condition = encounter.conditions.get()
    assert (condition.code_id, condition.verification_status) == ("E11.9", "provisional")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"vitals": vitals(systolic=400)}, "systolic"),
        ({"vitals": vitals(diastolic=140)}, "diastolic"),
        ({"vitals": vitals(temperature=50)}, "temperature"),
        ({"vitals": vitals(weight=0)}, "weight"),
        ({"vitals": vitals(weight=400, height=40)}, "bmi"),
        ({"diagnoses": ["E11", "K35"]}, "diagnoses"),
        ({"diagnoses": ["E11", "E11"]}, "diagnoses"),
        ({"reason_code": "ZZZ", "reason_text": ""}, "reason_code"),
        ({"reason_text": "   "}, "reason"),
        ({"encounter_class": "telepathy"}, "encounter_class"),
        ({"start": timezone.now(), "end": timezone.now() - dt.timedelta(hours=1)}, "end"),
        ({"start": timezone.now() + dt.timedelta(days=1)}, "start"),
        ({"start": timezone.make_aware(dt.datetime(1960, 1, 1))}, "start"),
        ({"start": dt.datetime(2025, 1, 1, 10)}, "start"),  # no time zone
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(actors, codes, patient, kwargs, field):
    before = clinical_counts()
    with pytest.raises(ValidationFailed) as info:
        record(actors["clinician"], patient, **kwargs)
    assert info.value.field == field
    assert str(info.value.message)
    assert clinical_counts() == before


def test_impossible_systolic_message_names_field_and_range(actors, codes, patient):
    with pytest.raises(ValidationFailed) as info:
        record(actors["clinician"], patient, vitals=vitals(systolic=400))
    assert str(info.value.message) == (
        "Presión sistólica: 400 mmHg es fisiológicamente imposible; "
        "se aceptan valores de 50 a 300 mmHg."
    )


# --- who may write ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "error"),
    [
        ("anonymous", NotAuthenticated),
        ("pharmacist", Forbidden),
        ("warehouse_manager", Forbidden),
        ("national_coordinator", Forbidden),
        ("facility_director", Forbidden),
        ("auditor", Forbidden),
        ("outreach_manager", Forbidden),
        ("other_state_clinician", OutOfScope),
    ],
)
def test_write_matrix_refusals_change_nothing(actors, codes, patient, who, error):
    before = clinical_counts()
    with pytest.raises(error):
        record(actors[who], patient)
    with pytest.raises(error):
        services.immunization_record(
            actors[who],
            person=patient,
            vaccine="BCG",
            dose="unica",
            occurrence_date=dt.date(1970, 3, 2),
        )
    assert clinical_counts() == before


def test_integrator_records_at_the_facility_it_names(actors, clinic, codes, patient):
    with pytest.raises(ValidationFailed) as info:
        record(actors["integrator"], patient)
    assert info.value.field == "facility"
    encounter = record(actors["integrator"], patient, facility=clinic["oaxaca2"].public_id)
    assert encounter.facility == clinic["oaxaca2"]
    assert encounter.practitioner is None


def test_clinician_records_only_at_their_own_facility(actors, users, clinic, codes, patient):
    with pytest.raises(Forbidden):
        record(actors["clinician"], patient, facility=clinic["oaxaca2"])
    assert (
        record(actors["clinician"], patient, facility=clinic["oaxaca"]).facility == clinic["oaxaca"]
    )
    users["clinician"].facility = None
    users["clinician"].save()
    before = clinical_counts()
    with pytest.raises(Forbidden):
        record(actors["clinician"], patient)
    assert clinical_counts() == before


def test_merged_person_is_refused_pointing_to_the_survivor(actors, codes, patient, geo):
    survivor = PersonFactory(territory=geo["oaxaca_centro"])
    Person.objects.filter(pk=patient.pk).update(status="merged", merged_into=survivor)
    with pytest.raises(Conflict):
        record(actors["clinician"], patient)


# --- encounter lifecycle ---------------------------------------------------------------------------


def test_close_checks_end_and_status(actors, codes, patient):
    encounter = services.encounter_open(
        actors["clinician"],
        person=patient,
        encounter_class="emergency",
        reason_code="I10",
        start=an_hour_ago(),
    )
    assert encounter.reason_code_id == "I10"
    with pytest.raises(ValidationFailed) as info:
        services.encounter_close(
            actors["clinician"], encounter=encounter, end=an_hour_ago() - dt.timedelta(hours=1)
        )
    assert info.value.field == "end"
    closed = services.encounter_close(actors["clinician"], encounter=encounter.public_id)
    assert closed.status == "finished" and closed.end is not None
    with pytest.raises(Conflict):
        services.encounter_close(actors["clinician"], encounter=encounter)
    assert AuditEvent.objects.filter(resource_type="Encounter").count() == 2


def test_planned_encounter_may_start_in_the_future(actors, codes, patient):
    tomorrow = timezone.now() + dt.timedelta(days=1)
    encounter = services.encounter_open(
        actors["clinician"],
        person=patient,
        encounter_class="virtual",
        reason_text="Teleconsulta",
        start=tomorrow,
        status="planned",
    )
    assert encounter.status == "planned"
    assert services.encounter_cancel(actors["clinician"], encounter=encounter).status == "cancelled"
    with pytest.raises(Conflict):
        services.observation_record(
            actors["clinician"], encounter=encounter, vitals={"heart_rate": 70}
        )


def test_another_facility_cannot_write_into_an_encounter(actors, users, clinic, codes, patient):
    encounter = record(actors["clinician"], patient)
    users["clinician"].facility = clinic["oaxaca2"]
    users["clinician"].save()
    with pytest.raises(Forbidden):
        services.encounter_close(actors["clinician"], encounter=encounter)
    with pytest.raises(OutOfScope):
        services.encounter_close(actors["other_state_clinician"], encounter=encounter)
    with pytest.raises(OutOfScope):
        services.encounter_close(actors["clinician"], encounter="not-a-uuid")


def test_entered_in_error_takes_diagnoses_and_vitals_out_of_the_chart(actors, codes, patient):
    encounter = record(actors["clinician"], patient)
    services.encounter_cancel(actors["clinician"], encounter=encounter, entered_in_error=True)
    assert selectors.problem_list(actors["clinician"], person=patient) == []
    assert selectors.latest_vitals(actors["clinician"], person=patient) == {}
    assert selectors.encounter_timeline(actors["clinician"], person=patient).items == []


# --- vitals and BMI --------------------------------------------------------------------------------


def test_bmi_follows_the_latest_weight_of_the_encounter(actors, codes, patient):
    encounter = record(actors["clinician"], patient)
    rows = services.observation_record(
        actors["clinician"], encounter=encounter, vitals={"weight": "90"}
    )
    assert [o.code for o in rows] == ["29463-7", "39156-5"]
    bmis = Observation.objects.filter(encounter=encounter, code="39156-5")
    assert [b.value for b in bmis] == [Decimal("31.1")]  # one BMI, updated: 90 / 1.70²


def test_observation_outside_an_encounter_computes_bmi_only_from_its_own_pair(
    actors, codes, patient
):
    rows = services.observation_record(actors["clinician"], person=patient, vitals={"weight": "60"})
    assert [o.code for o in rows] == ["29463-7"]
    rows = services.observation_record(
        actors["clinician"], person=patient, vitals={"weight": "60", "height": "150"}
    )
    assert rows[-1].code == "39156-5" and rows[-1].value == Decimal("26.7")
    assert all(o.facility == actors["clinician"].user.facility for o in rows)


def test_observation_refusals(actors, codes, patient):
    before = clinical_counts()
    for values, field in [({}, "vitals"), ({"systolic": 90, "diastolic": 95}, "diastolic")]:
        with pytest.raises(ValidationFailed) as info:
            services.observation_record(actors["clinician"], person=patient, vitals=values)
        assert info.value.field == field
    with pytest.raises(ValidationFailed):
        services.observation_record(
            actors["clinician"],
            person=patient,
            vitals={"heart_rate": 60},
            effective_at=timezone.now() + dt.timedelta(hours=2),
        )
    assert clinical_counts() == before


# --- conditions ------------------------------------------------------------------------------------


def test_condition_add_and_resolve_the_whole_problem(actors, codes, patient):
    record(actors["clinician"], patient, diagnoses=["E11"])
    later = services.condition_add(
        actors["clinician"], person=patient, code="E11", onset_date=dt.date(2020, 1, 1)
    )
    assert later.encounter is None and later.rank is None
    assert [c.code_id for c in selectors.problem_list(actors["clinician"], person=patient)] == [
        "E11"
    ]
    with pytest.raises(ValidationFailed):
        services.condition_resolve(
            actors["clinician"], condition=later, abatement_date=dt.date(2019, 1, 1)
        )
    resolved = services.condition_resolve(actors["clinician"], condition=later.public_id)
    assert resolved.clinical_status == "resolved"
    assert Condition.objects.filter(code_id="E11", clinical_status="active").count() == 0
    assert selectors.problem_list(actors["clinician"], person=patient) == []
    with pytest.raises(Conflict):
        services.condition_resolve(actors["clinician"], condition=later)


def test_condition_refusals(actors, codes, patient, geo):
    encounter = record(actors["clinician"], patient, diagnoses=[])
    other = PersonFactory(territory=geo["oaxaca_centro"])
    before = clinical_counts()
    for kwargs, error in [
        ({"person": patient, "code": "K35"}, ValidationFailed),
        ({"person": patient, "code": "E11", "verification": "entered-in-error"}, ValidationFailed),
        ({"person": patient, "code": "E11", "onset_date": dt.date(1960, 1, 1)}, ValidationFailed),
        ({"person": other, "code": "E11", "encounter": encounter}, ValidationFailed),
    ]:
        with pytest.raises(error):
            services.condition_add(actors["clinician"], **kwargs)
    with pytest.raises(OutOfScope):
        services.condition_resolve(actors["clinician"], condition="0" * 32)
    assert clinical_counts() == before


def test_encounter_conditions_are_ranked_in_order(actors, codes, patient):
    encounter = record(actors["clinician"], patient, diagnoses=["E11"])
    added = services.condition_add(actors["clinician"], encounter=encounter, code="E66")
    assert (added.rank, added.person_id, added.facility_id) == (
        2,
        patient.id,
        encounter.facility_id,
    )


# --- allergies -------------------------------------------------------------------------------------


def test_allergies(actors, codes, patient):
    metformin()
    allergy = services.allergy_add(
        actors["clinician"],
        person=patient,
        category="medication",
        medicine_key="010.000.5165.00",
        criticality="high",
        reaction="Urticaria",
    )
    assert allergy.substance == "Metformina"
    services.allergy_add(
        actors["clinician"], person=patient, category="food", substance="Cacahuate"
    )
    with pytest.raises(Conflict):
        services.allergy_add(
            actors["clinician"], person=patient, category="food", substance="cacahuate "
        )
    with pytest.raises(Conflict):
        services.allergy_add(
            actors["clinician"],
            person=patient,
            category="medication",
            medicine_key="010.000.5165.00",
        )
    for kwargs in [
        {"category": "food"},
        {"category": "medication", "medicine_key": "999.999.9999.99"},
        {"category": "cosmic", "substance": "x"},
    ]:
        with pytest.raises(ValidationFailed):
            services.allergy_add(actors["clinician"], person=patient, **kwargs)
    services.allergy_set_status(
        actors["clinician"], allergy=allergy.public_id, status="entered-in-error"
    )
    assert [a.substance for a in selectors.allergy_list(actors["clinician"], person=patient)] == [
        "Cacahuate"
    ]


# --- immunizations ---------------------------------------------------------------------------------


@pytest.fixture
def baby(geo):
    return PersonFactory(territory=geo["oaxaca_centro"], birth_date=months_ago(7))


def immunize(actor, person, vaccine, dose, on, **kwargs):
    return services.immunization_record(
        actor, person=person, vaccine=vaccine, dose=dose, occurrence_date=on, **kwargs
    )


def test_immunization_is_flagged_against_the_schedule(actors, vaccine_schedule, baby):
    birth = baby.birth_date
    bcg = immunize(actors["clinician"], baby, "bcg", "Única", birth, lot="L123")
    assert (bcg.vaccine, bcg.dose, bcg.schedule_fit) == ("BCG", "unica", ScheduleFit.ON_SCHEDULE)
    assert bcg.schedule_entry is not None and bcg.lot == "L123"
    early = immunize(
        actors["clinician"], baby, "Hexavalente acelular", "1", birth + dt.timedelta(days=20)
    )
    assert early.schedule_fit == ScheduleFit.EARLY
    late = immunize(actors["clinician"], baby, "Anti hepatitis B", "nacimiento", months_ago(1))
    assert late.schedule_fit == ScheduleFit.LATE
    odd = immunize(actors["clinician"], baby, "Fiebre amarilla", "1", months_ago(1))
    assert (odd.schedule_fit, odd.schedule_entry) == (ScheduleFit.NOT_IN_SCHEDULE, None)
    assert AuditEvent.objects.filter(resource_type="Immunization", action="create").count() == 4


def test_immunization_refusals_write_nothing(actors, vaccine_schedule, baby):
    immunize(actors["clinician"], baby, "BCG", "unica", baby.birth_date)
    before = clinical_counts()
    cases = [
        (("BCG", "unica", baby.birth_date + dt.timedelta(days=3)), Conflict, "dose"),
        (
            ("Hexavalente acelular", "1", timezone.localdate() + dt.timedelta(days=1)),
            ValidationFailed,
            "occurrence_date",
        ),
        (
            ("Hexavalente acelular", "1", baby.birth_date - dt.timedelta(days=1)),
            ValidationFailed,
            "occurrence_date",
        ),
        (("", "1", baby.birth_date), ValidationFailed, "vaccine"),
        (("BCG", " ", baby.birth_date), ValidationFailed, "dose"),
    ]
    for (vaccine, dose, on), error, field in cases:
        with pytest.raises(error) as info:
            immunize(actors["clinician"], baby, vaccine, dose, on)
        assert info.value.field == field
    assert clinical_counts() == before


def test_annual_doses_repeat_by_season_only(actors, vaccine_schedule, geo):
    child = PersonFactory(territory=geo["oaxaca_centro"], birth_date=dt.date(2018, 1, 1))
    today = timezone.localdate()
    immunize(
        actors["clinician"],
        child,
        "Anti influenza estacional",
        "anual",
        today - dt.timedelta(days=400),
    )
    immunize(actors["clinician"], child, "Anti influenza estacional", "anual", today)
    with pytest.raises(Conflict):
        immunize(
            actors["clinician"],
            child,
            "Anti influenza estacional",
            "anual",
            today - dt.timedelta(days=30),
        )
    assert Immunization.objects.filter(person=child).count() == 2
