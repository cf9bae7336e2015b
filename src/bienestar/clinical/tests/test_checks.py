"""`bienestar verify` invariants of the clinical record: they hold for what the services write and
name the problem when a row is tampered with directly."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bienestar.clinical import checks, services
from bienestar.clinical.models import Condition, Observation
from bienestar.clinical.tests.factories import vitals

pytestmark = pytest.mark.django_db


@pytest.fixture
def encounter(actors, codes, patient):
    encounter = services.encounter_record(
        actors["clinician"],
        person=patient,
        encounter_class="ambulatory",
        reason_text="Control",
        diagnoses=["E11"],
        vitals=vitals(),
    )
    services.observation_record(
        actors["clinician"], encounter=encounter, vitals={"height": "172.5"}
    )
    return encounter


def problems() -> list[str]:
    return [p for _name, check in checks.checks() for p in check()]


def test_checks_hold_for_records_written_by_the_services(encounter):
    assert problems() == []


def test_a_tampered_bmi_is_named(encounter):
    bmi = Observation.objects.get(encounter=encounter, code="39156-5")
    Observation.objects.filter(pk=bmi.pk).update(value=Decimal("30.0"))
    assert problems() == [
        f"observation {bmi.public_id}: BMI 30.00 does not match weight 80.00 kg and height 172.50 cm "
        "of its encounter"
    ]


def test_a_tampered_diastolic_is_named(encounter):
    Observation.objects.filter(encounter=encounter, code="8462-4").update(value=Decimal("200"))
    panel = Observation.objects.get(encounter=encounter, code="85354-9")
    assert problems() == [
        f"observation {panel.public_id}: diastolic 200.00 not below systolic 130.00"
    ]


def test_a_record_moved_to_another_facility_is_named(encounter, clinic):
    condition = Condition.objects.get(encounter=encounter)
    Condition.objects.filter(pk=condition.pk).update(facility=clinic["oaxaca2"])
    assert problems() == [
        f"condition {condition.public_id}: person or facility differs from its encounter"
    ]
