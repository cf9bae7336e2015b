"""Reads of persons: the authorization matrix and the audit trail.

Audit policy: a refused read (anonymous, wrong role, other territory) writes no audit row — see the
module docstring of test_services.py for why. An allowed read writes exactly one row. A search by a
caller of another territory is not refused: it is an allowed search that finds nobody, and it is
audited as such (one row, no results).
"""

from __future__ import annotations

import pytest

from bienestar.access.errors import Forbidden, NotAuthenticated, OutOfScope
from bienestar.access.models import AuditEvent
from bienestar.access.tests.factories import actor_for
from bienestar.core.errors import ValidationFailed
from bienestar.people import selectors
from bienestar.people.models import PersonIdentifier
from bienestar.people.tests.factories import PersonFactory
from bienestar.people.tests.helpers import CURP_JOSE, snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def jose(geo):
    person = PersonFactory(territory=geo["oaxaca_centro"])
    PersonIdentifier.objects.create(person=person, system="curp", value=CURP_JOSE)
    PersonIdentifier.objects.create(person=person, system="co-pa", value="AB12345")
    return person


READS = {
    "get": lambda actor, p: selectors.person_get(actor, public_id=p.public_id),
    "by_national_id": lambda actor, p: selectors.person_by_national_id(
        actor, value=p.national_health_id
    ),
    "by_curp": lambda actor, p: selectors.person_by_identifier(
        actor, system="curp", value=CURP_JOSE.lower()
    ),
}

ALLOWED_READERS = [
    "clinician",
    "pharmacist",
    "state_coordinator",
    "facility_director",
    "outreach_manager",
    "integrator",
    "national_coordinator",
]


@pytest.mark.parametrize("read", READS)
@pytest.mark.parametrize("who", ALLOWED_READERS)
def test_allowed_read_returns_the_person_and_writes_exactly_one_audit_row(users, jose, read, who):
    before = AuditEvent.objects.count()
    person = READS[read](actor_for(users[who]), jose)
    assert person.pk == jose.pk
    assert AuditEvent.objects.count() == before + 1
    event = AuditEvent.objects.latest("id")
    assert (event.action, event.resource_type, event.resource_id) == (
        "read",
        "Person",
        str(jose.public_id),
    )
    assert (event.person_id, event.actor_username, event.role) == (
        jose.id,
        users[who].username,
        users[who].role,
    )


@pytest.mark.parametrize("read", READS)
@pytest.mark.parametrize(
    ("who", "error"),
    [
        (None, NotAuthenticated),
        ("warehouse_manager", Forbidden),
        ("auditor", Forbidden),
        ("other_state_clinician", OutOfScope),
    ],
)
def test_refused_read_raises_and_writes_nothing(users, jose, read, who, error):
    before = snapshot(jose)
    with pytest.raises(error):
        READS[read](actor_for(users[who] if who else None), jose)
    assert snapshot(jose) == before


def test_other_territory_gets_the_same_error_as_a_missing_person(users, jose):
    import uuid

    with pytest.raises(OutOfScope) as elsewhere:
        selectors.person_get(actor_for(users["other_state_clinician"]), public_id=jose.public_id)
    with pytest.raises(OutOfScope) as missing:
        selectors.person_get(actor_for(users["other_state_clinician"]), public_id=uuid.uuid4())
    assert (elsewhere.value.status, str(elsewhere.value.message)) == (
        missing.value.status,
        str(missing.value.message),
    )


def test_user_without_territory_sees_nobody(users, jose):
    user = users["clinician"]
    user.territory = None
    user.save()
    with pytest.raises(OutOfScope):
        selectors.person_get(actor_for(user), public_id=jose.public_id)


def test_by_identifier_ignores_case_of_other_documents(users, jose):
    person = selectors.person_by_identifier(
        actor_for(users["clinician"]), system="co-pa", value=" ab12345 "
    )
    assert person.pk == jose.pk


def test_by_national_id_refuses_an_invalid_id_without_auditing(users, jose):
    wrong = jose.national_health_id[:-1] + ("2" if jose.national_health_id[-1] != "2" else "3")
    before = AuditEvent.objects.count()
    with pytest.raises(ValidationFailed):
        selectors.person_by_national_id(actor_for(users["clinician"]), value=wrong)
    assert AuditEvent.objects.count() == before


# --- search --------------------------------------------------------------------------------------


def test_allowed_search_writes_one_audit_row_listing_the_results(users, jose):
    before = AuditEvent.objects.count()
    results = selectors.person_search(actor_for(users["clinician"]), text="jose lopez")
    assert [p.pk for p in results] == [jose.pk]
    assert AuditEvent.objects.count() == before + 1
    event = AuditEvent.objects.latest("id")
    assert (event.action, event.result_count, event.result_ids) == (
        "search",
        1,
        [str(jose.public_id)],
    )


def test_search_from_another_territory_finds_nobody_and_is_audited(users, jose):
    before = AuditEvent.objects.count()
    assert (
        selectors.person_search(actor_for(users["other_state_clinician"]), text="jose lopez") == []
    )
    assert selectors.person_search(actor_for(users["other_state_clinician"]), text=CURP_JOSE) == []
    assert AuditEvent.objects.count() == before + 2
    assert AuditEvent.objects.latest("id").result_ids == []


@pytest.mark.parametrize(
    ("who", "error"),
    [(None, NotAuthenticated), ("warehouse_manager", Forbidden), ("auditor", Forbidden)],
)
def test_refused_search_writes_nothing(users, jose, who, error):
    before = snapshot(jose)
    with pytest.raises(error):
        selectors.person_search(actor_for(users[who] if who else None), text="jose lopez")
    assert snapshot(jose) == before


def test_search_needs_two_characters(users, jose):
    with pytest.raises(ValidationFailed):
        selectors.person_search(actor_for(users["clinician"]), text=" j ")


def test_search_pages_with_limit_and_offset(users, geo):
    for i in range(5):
        PersonFactory(
            territory=geo["oaxaca_centro"],
            given_names="Rosa",
            first_surname="Ramírez",
            second_surname=f"Díaz{i}",
        )
    actor = actor_for(users["clinician"])
    first = selectors.person_search(actor, text="rosa ramirez", limit=3)
    second = selectors.person_search(actor, text="rosa ramirez", limit=3, offset=3)
    assert len(first) == 3 and len(second) == 2
    assert not {p.pk for p in first} & {p.pk for p in second}


def test_search_excludes_merged_persons_unless_asked(users, geo, jose):
    from bienestar.people.services import person_merge

    dup = PersonFactory(territory=geo["oaxaca_centro"])
    person_merge(actor_for(users["clinician"]), survivor=jose, merged=dup, reason="x")
    actor = actor_for(users["clinician"])
    assert [p.pk for p in selectors.person_search(actor, text="jose lopez")] == [jose.pk]
    assert {
        p.pk for p in selectors.person_search(actor, text="jose lopez", include_merged=True)
    } == {jose.pk, dup.pk}
