"""Writes to persons: registration, update, merge and unmerge.

Audit policy (decided here, for every refusal in these tests): a refused call writes NOTHING —
no person row, no PersonChange, and no AuditEvent, not even a 'denied' row. Refusals happen before
any personal data is disclosed, and a row saying "someone asked for a person of another state" would
itself reveal that the person exists. Each allowed call writes exactly one audit row per person touched.
"""

from __future__ import annotations

import datetime as dt

import pytest

from bienestar.access.errors import Forbidden, NotAuthenticated, OutOfScope
from bienestar.access.models import AuditEvent
from bienestar.access.tests.factories import actor_for
from bienestar.core.errors import Conflict, ValidationFailed
from bienestar.people import national_id
from bienestar.people.models import (
    IssuedHealthId,
    Person,
    PersonAddress,
    PersonChange,
    PersonIdentifier,
    PersonMerge,
    PersonSourceRecord,
    PersonStatus,
)
from bienestar.people.services import (
    IdentifierInput,
    person_merge,
    person_register,
    person_unmerge,
    person_update,
)
from bienestar.people.tests.factories import PersonFactory
from bienestar.people.tests.helpers import (
    CURP_ANA,
    CURP_JOSE,
    counts,
    make_curp,
    person_input,
    snapshot,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def jose(geo):
    person = PersonFactory(territory=geo["oaxaca_centro"])
    PersonIdentifier.objects.create(person=person, system="curp", value=CURP_JOSE)
    return person


# --- person_register -------------------------------------------------------------------------------


def test_register_issues_a_valid_national_health_id_and_records_provenance(users, geo):
    actor = actor_for(users["clinician"])
    person = person_register(actor, data=person_input())
    assert national_id.is_valid(person.national_health_id)
    assert set(person.national_health_id) <= set(national_id.ALPHABET)
    assert IssuedHealthId.objects.filter(value=person.national_health_id).exists()
    assert list(person.identifiers.values_list("system", "value")) == [("curp", CURP_ANA)]
    change = PersonChange.objects.get(person=person)
    assert change.action == "create" and change.actor == users["clinician"]
    event = AuditEvent.objects.get(person_id=person.id)
    assert (event.action, event.resource_id, event.actor_username) == (
        "create",
        str(person.public_id),
        "clinician",
    )


def test_register_normalises_the_curp(users, geo):
    person = person_register(
        actor_for(users["clinician"]), data=person_input(curp=f"  {CURP_ANA.lower()} ")
    )
    assert person.identifiers.get().value == CURP_ANA


def test_register_refuses_a_duplicate_curp_and_writes_nothing(users, geo, jose):
    before = counts()
    issued = IssuedHealthId.objects.count()
    with pytest.raises(Conflict):
        person_register(actor_for(users["clinician"]), data=person_input(curp=CURP_JOSE))
    assert counts() == before
    assert IssuedHealthId.objects.count() == issued


def test_register_refuses_the_same_curp_twice_in_one_request_and_writes_nothing(users, geo):
    data = person_input(curp=CURP_ANA)
    data.identifiers.append(IdentifierInput(system="curp", value=CURP_ANA))
    before = counts()
    with pytest.raises(Conflict):
        person_register(actor_for(users["clinician"]), data=data)
    assert counts() == before


def test_register_refuses_a_curp_with_a_wrong_check_digit(users, geo):
    wrong = CURP_ANA[:17] + str((int(CURP_ANA[17]) + 1) % 10)
    before = counts()
    with pytest.raises(ValidationFailed) as err:
        person_register(actor_for(users["clinician"]), data=person_input(curp=wrong))
    assert "verificador" in str(err.value.message)
    assert counts() == before


@pytest.mark.parametrize(
    "bad", ["LOHJ800517HOC", "1OHJ800517HOCPRS05", "LOHJ801317HOCPRS05", "LOHJ800517HZZPRS05"]
)
def test_register_refuses_a_malformed_curp(users, geo, bad):
    with pytest.raises(ValidationFailed):
        person_register(actor_for(users["clinician"]), data=person_input(curp=bad))
    assert Person.objects.count() == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"given_names": "  "}, "given_names"),
        ({"sex": "Q"}, "sex"),
        ({"birth_date": dt.date.today() + dt.timedelta(days=2)}, "birth_date"),
        ({"birth_date": dt.date(1850, 1, 1)}, "birth_date"),
        ({"territory_path": "MX.99"}, "territory"),
    ],
)
def test_register_refuses_invalid_demographics(users, geo, overrides, field):
    with pytest.raises(ValidationFailed) as err:
        person_register(actor_for(users["clinician"]), data=person_input(**overrides))
    assert err.value.field == field
    assert counts() == {"persons": 0, "identifiers": 0, "changes": 0, "audit": 0}


@pytest.mark.parametrize(
    ("who", "error"),
    [
        (None, NotAuthenticated),
        ("warehouse_manager", Forbidden),
        ("auditor", Forbidden),
        ("pharmacist", Forbidden),
        ("other_state_clinician", OutOfScope),
    ],
)
def test_register_refusals_write_nothing(users, geo, who, error):
    actor = actor_for(users[who] if who else None)
    with pytest.raises(error):
        person_register(actor, data=person_input())
    assert counts() == {"persons": 0, "identifiers": 0, "changes": 0, "audit": 0}


# --- person_update -----------------------------------------------------------------------------------


def test_update_changes_fields_records_before_and_after_and_one_audit_row(users, jose):
    before_audit = AuditEvent.objects.count()
    updated = person_update(
        actor_for(users["clinician"]), person=jose, changes={"given_names": "José Luis"}
    )
    assert updated.given_names == "José Luis"
    assert Person.objects.get(pk=jose.pk).given_names == "José Luis"
    change = PersonChange.objects.get(person=jose, action="update")
    assert change.changes == {"given_names": ["José", "José Luis"]}
    assert AuditEvent.objects.count() == before_audit + 1
    event = AuditEvent.objects.latest("id")
    assert (event.action, event.person_id, event.query) == (
        "update",
        jose.id,
        {"fields": ["given_names"]},
    )


def test_update_without_a_real_change_writes_no_provenance(users, jose):
    person_update(actor_for(users["clinician"]), person=jose, changes={"given_names": "José"})
    assert not PersonChange.objects.filter(person=jose).exists()


@pytest.mark.parametrize(
    ("who", "error"),
    [
        (None, NotAuthenticated),
        ("warehouse_manager", Forbidden),
        ("auditor", Forbidden),
        ("pharmacist", Forbidden),
        ("national_coordinator", Forbidden),
        ("other_state_clinician", OutOfScope),
    ],
)
def test_update_refusals_change_nothing(users, jose, who, error):
    before = snapshot(jose)
    with pytest.raises(error):
        person_update(
            actor_for(users[who] if who else None), person=jose, changes={"given_names": "Pedro"}
        )
    assert snapshot(jose) == before


@pytest.mark.parametrize(
    "changes",
    [
        {"national_health_id": "X"},
        {"territory": None},
        {"given_names": ""},
        {"birth_date": dt.date.today() + dt.timedelta(days=1)},
        {"sex": "Q"},
    ],
)
def test_update_refuses_invalid_changes_and_changes_nothing(users, jose, changes):
    before = snapshot(jose)
    with pytest.raises(ValidationFailed):
        person_update(actor_for(users["clinician"]), person=jose, changes=changes)
    assert snapshot(jose) == before


# --- merge / unmerge ------------------------------------------------------------------------------


def _with_records(person: Person, geo, n: int) -> None:
    PersonIdentifier.objects.create(person=person, system="imss-nss", value=f"1234567890{n}")
    PersonAddress.objects.create(person=person, territory=geo["oaxaca_centro"], line=f"Calle {n}")
    PersonSourceRecord.objects.create(
        person=person, source_system="imss", source_record_id=f"r{n}", data={"n": n}
    )


def _row_counts() -> dict[str, int]:
    return {
        "persons": Person.objects.count(),
        "identifiers": PersonIdentifier.objects.count(),
        "addresses": PersonAddress.objects.count(),
        "sources": PersonSourceRecord.objects.count(),
    }


def test_merge_then_unmerge_round_trip_keeps_every_row(users, geo, jose):
    dup = PersonFactory(territory=geo["oaxaca_centro"], given_names="Jose")
    _with_records(jose, geo, 1)
    _with_records(dup, geo, 2)
    dup_identifiers = set(dup.identifiers.values_list("system", "value"))
    rows_before = _row_counts()
    audit_before = AuditEvent.objects.count()
    actor = actor_for(users["clinician"])

    merge = person_merge(
        actor, survivor=jose, merged=dup, reason="misma CURP en IMSS", match_score=0.97
    )

    dup.refresh_from_db()
    assert (dup.status, dup.merged_into_id) == (PersonStatus.MERGED, jose.pk)
    assert _row_counts() == rows_before
    assert set(dup.identifiers.values_list("system", "value")) == dup_identifiers
    assert PersonChange.objects.filter(action="merge").count() == 2
    assert AuditEvent.objects.count() == audit_before + 2

    restored = person_unmerge(actor, merge=merge)

    assert (restored.status, restored.merged_into_id) == (PersonStatus.ACTIVE, None)
    merge.refresh_from_db()
    assert merge.undone_at is not None and merge.undone_by == users["clinician"]
    assert _row_counts() == rows_before
    assert set(restored.identifiers.values_list("system", "value")) == dup_identifiers
    assert PersonChange.objects.filter(person=dup, action="unmerge").count() == 1
    assert AuditEvent.objects.count() == audit_before + 3
    assert PersonMerge.objects.count() == 1


def test_unmerge_twice_is_refused(users, geo, jose):
    dup = PersonFactory(territory=geo["oaxaca_centro"])
    actor = actor_for(users["clinician"])
    merge = person_merge(actor, survivor=jose, merged=dup, reason="duplicado")
    person_unmerge(actor, merge=merge)
    with pytest.raises(Conflict):
        person_unmerge(actor, merge=merge)


def test_merge_refuses_self_merged_and_out_of_scope(users, geo, jose):
    actor = actor_for(users["clinician"])
    with pytest.raises(ValidationFailed):
        person_merge(actor, survivor=jose, merged=jose, reason="x")
    elsewhere = PersonFactory(territory=geo["pachuca"])
    with pytest.raises(OutOfScope):
        person_merge(actor, survivor=jose, merged=elsewhere, reason="x")
    dup = PersonFactory(territory=geo["oaxaca_centro"])
    person_merge(actor, survivor=jose, merged=dup, reason="x")
    other = PersonFactory(territory=geo["oaxaca_centro"])
    with pytest.raises(Conflict):
        person_merge(actor, survivor=dup, merged=other, reason="x")
    elsewhere.refresh_from_db()
    assert elsewhere.status == PersonStatus.ACTIVE


def test_update_of_a_merged_person_is_refused(users, geo, jose):
    dup = PersonFactory(territory=geo["oaxaca_centro"])
    actor = actor_for(users["clinician"])
    person_merge(actor, survivor=jose, merged=dup, reason="x")
    with pytest.raises(Conflict):
        person_update(actor, person=dup, changes={"given_names": "Otro"})


def test_make_curp_helper_builds_valid_curps():
    from bienestar.people.curp import is_valid

    assert (
        is_valid(CURP_JOSE) and is_valid(CURP_ANA) and is_valid(make_curp("GOMM010203MDFRRR" + "A"))
    )


@pytest.mark.django_db
def test_national_health_ids_issued_in_bulk_are_valid_new_and_recorded():
    from bienestar.people import national_id
    from bienestar.people.models import IssuedHealthId
    from bienestar.people.services import issue_national_health_ids

    taken = issue_national_health_ids(3)
    issued = issue_national_health_ids(500)

    assert len(issued) == len(set(issued)) == 500
    assert not set(taken) & set(issued)
    assert all(national_id.is_valid(value) for value in issued)
    assert IssuedHealthId.objects.filter(value__in=issued).count() == 500
    assert issue_national_health_ids(0) == []
