"""The chart flags abnormal values (clinical/thresholds.py), with the control target of a known
hypertensive or diabetic patient."""

from __future__ import annotations

import pytest
from django.urls import reverse

from bienestar.web.tests.test_clinician_pages import clinic, codes, record  # noqa: F401

pytestmark = pytest.mark.django_db


def test_the_chart_flags_high_pressure_and_glucose(client_for, users, clinic, codes, jose):  # noqa: F811
    record(
        users, jose, diagnoses=["E11"], vitals={"systolic": 150, "diastolic": 95, "glucose": 182}
    )

    body = client_for(users["clinician"]).get(reverse("patient_chart", args=[jose.public_id]))
    html = body.content.decode()

    assert html.count('data-testid="vital-flag"') >= 2
    assert "Presión elevada" in html
    assert "Glucosa alta si fue en ayuno" in html
    assert "Meta de control en ayuno" in html  # diabetic: E11


def test_normal_values_are_not_flagged(client_for, users, clinic, codes, jose):  # noqa: F811
    record(users, jose, diagnoses=["J00"], vitals={"systolic": 120, "diastolic": 80, "glucose": 95})

    html = client_for(users["clinician"]).get(reverse("patient_chart", args=[jose.public_id]))
    assert 'data-testid="vital-flag"' not in html.content.decode()


def test_the_printed_prescription_carries_the_diagnosis(client_for, users, clinic, codes, jose):  # noqa: F811
    from bienestar.access.tests.factories import actor_for
    from bienestar.inventory.tests.factories import METFORMIN, catalogue
    from bienestar.prescribing.services import LineInput, prescription_create

    catalogue()
    encounter = record(users, jose, diagnoses=["E11.9", "I10"])
    rx = prescription_create(
        actor_for(users["clinician"]),
        person=jose,
        encounter=encounter,
        lines=[LineInput(METFORMIN, 60, "1 tableta", "cada 12 horas", 30)],
    )

    body = client_for(users["clinician"]).get(reverse("prescription_print", args=[rx.public_id]))
    html = body.content.decode()

    assert 'data-testid="print-diagnosis"' in html
    assert "E11.9" in html and "Diabetes mellitus tipo 2, sin mención de complicación" in html
    assert html.index("E11.9") < html.index("I10")  # principal diagnosis first
    assert "Metformina" in html
