"""Diagnosis search: by code or words, accent-insensitive, prefix-friendly, ranked, paginated."""

from __future__ import annotations

import pytest

from bienestar.access.errors import Forbidden, NotAuthenticated
from bienestar.access.models import AuditEvent
from bienestar.clinical.selectors import icd10_search
from bienestar.core.errors import ValidationFailed

pytestmark = pytest.mark.django_db


def codes_for(actor, text, **kwargs):
    return [c.code for c in icd10_search(actor, text=text, **kwargs).items]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("E11", ["E11", "E11.2", "E11.9"]),
        ("e11.9", ["E11.9"]),
        ("E119", ["E11.9"]),
        ("I1", ["I10", "I15"]),
        ("hipertension", ["I10", "I15"]),
        ("HIPERTENSIÓN esencial", ["I10"]),
        ("hipert", ["I10", "I15"]),
        ("diabetes", ["E10", "E11", "O24", "E11.9", "E11.2"]),
        ("diabetes tipo 2", ["E11", "E11.9", "E11.2"]),
        ("DM2", ["E11.9", "E11", "E11.2"]),
        ("dm2 renales", ["E11.2"]),
        ("HAS", ["I10"]),
        ("hta", ["I10"]),
        ("diab  tipo 1", ["E10"]),
        ("resfriado", ["J00"]),
        ("obesidad", ["E66"]),
    ],
)
def test_search_by_code_or_words(actors, codes, text, expected):
    assert codes_for(actors["clinician"], text) == expected


def test_a_typo_still_finds_the_diagnosis(actors, codes):
    assert "I10" in codes_for(actors["clinician"], "hipertencion esencial")


def test_nothing_found_is_an_empty_page(actors, codes):
    page = icd10_search(actors["clinician"], text="xyzzy")
    assert (page.items, page.count) == ([], 0)


def test_pagination_and_count(actors, codes):
    first = icd10_search(actors["clinician"], text="diabetes", limit=2)
    second = icd10_search(actors["clinician"], text="diabetes", limit=2, offset=2)
    assert first.count == second.count == 5
    assert [c.code for c in first.items + second.items] == ["E10", "E11", "O24", "E11.9"]


def test_who_may_search(actors, codes):
    for who in ["clinician", "facility_director", "integrator"]:
        assert codes_for(actors[who], "E11")
    with pytest.raises(NotAuthenticated):
        icd10_search(actors["anonymous"], text="E11")
    for who in ["warehouse_manager", "auditor", "pharmacist", "national_coordinator"]:
        with pytest.raises(Forbidden):
            icd10_search(actors[who], text="E11")
    assert AuditEvent.objects.count() == 0  # codes are not personal data


@pytest.mark.parametrize("text", ["", " ", "a"])
def test_too_short_is_refused(actors, codes, text):
    with pytest.raises(ValidationFailed):
        icd10_search(actors["clinician"], text=text)


def test_bad_page_is_refused(actors, codes):
    with pytest.raises(ValidationFailed):
        icd10_search(actors["clinician"], text="E11", limit=0)
    with pytest.raises(ValidationFailed):
        icd10_search(actors["clinician"], text="E11", offset=-1)


def test_the_units_most_frequent_diagnoses_come_first(actors, codes, clinic, patient, users):
    from django.utils import timezone

    from bienestar.clinical.models import Condition

    def diagnose(code: str, facility) -> None:  # type: ignore[no-untyped-def]
        Condition.objects.create(
            person=patient,
            facility=facility,
            code_id=code,
            recorded_at=timezone.now(),
            recorded_by=users["clinician"],
        )

    diagnose("I15", clinic["oaxaca"])
    diagnose("I15", clinic["oaxaca"])
    for _ in range(5):
        diagnose("I10", clinic["oaxaca2"])  # another unit's habits do not count

    assert codes_for(actors["clinician"], "hipertension") == ["I15", "I10"]
    assert codes_for(actors["other_state_clinician"], "hipertension") == ["I10", "I15"]


def test_the_synonym_table_is_data():
    from bienestar.terminology.synonyms import icd10_synonyms

    table = icd10_synonyms()
    assert table["dm2"][0] == "E11.9" and table["has"] == ("I10",)
    assert {"epoc", "ivu", "ira", "eda", "hta"} <= set(table)
