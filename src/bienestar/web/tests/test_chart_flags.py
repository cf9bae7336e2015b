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
