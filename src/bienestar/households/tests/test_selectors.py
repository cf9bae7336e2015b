"""Household reads: scoped by territory like persons, and audited (one row per read, listing the
persons disclosed). Refusals write no audit row (see people/tests/test_services.py)."""

from __future__ import annotations

import uuid

import pytest

from bienestar.access.errors import Forbidden, NotAuthenticated, OutOfScope
from bienestar.access.models import AuditEvent
from bienestar.access.tests.factories import actor_for
from bienestar.households import selectors
from bienestar.households.tests.factories import HouseholdFactory, HouseholdMemberFactory
from bienestar.people.tests.factories import PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def home(geo):
    household = HouseholdFactory(territory=geo["oaxaca_centro"])
    head = PersonFactory(territory=geo["oaxaca_centro"])
    child = PersonFactory(territory=geo["oaxaca_centro"], given_names="Lupita")
    HouseholdMemberFactory(household=household, person=head, relationship="head")
    HouseholdMemberFactory(household=household, person=child, relationship="child")
    return household, head, child


def test_get_returns_members_and_writes_one_audit_row(users, home):
    household, head, child = home
    before = AuditEvent.objects.count()
    view = selectors.household_get(
        actor_for(users["outreach_manager"]), public_id=household.public_id
    )
    assert {m.person_id for m in view.members} == {head.pk, child.pk}
    assert AuditEvent.objects.count() == before + 1
    event = AuditEvent.objects.latest("id")
    assert (event.action, event.resource_type, event.resource_id) == (
        "read",
        "Household",
        str(household.public_id),
    )
    assert sorted(event.result_ids) == sorted([str(head.public_id), str(child.public_id)])


@pytest.mark.parametrize(
    ("who", "error"),
    [
        (None, NotAuthenticated),
        ("pharmacist", Forbidden),
        ("warehouse_manager", Forbidden),
        ("auditor", Forbidden),
        ("other_state_clinician", OutOfScope),
    ],
)
def test_refused_reads_write_nothing(users, home, who, error):
    household = home[0]
    before = AuditEvent.objects.count()
    with pytest.raises(error):
        selectors.household_get(
            actor_for(users[who] if who else None), public_id=household.public_id
        )
    assert AuditEvent.objects.count() == before


def test_other_territory_and_missing_look_the_same(users, home):
    actor = actor_for(users["other_state_clinician"])
    with pytest.raises(OutOfScope):
        selectors.household_get(actor, public_id=home[0].public_id)
    with pytest.raises(OutOfScope):
        selectors.household_get(actor, public_id=uuid.uuid4())


def test_ended_memberships_only_on_request(users, home):
    import datetime as dt

    household, _head, child = home
    household.members.filter(person=child).update(until=dt.date(2025, 1, 1))
    actor = actor_for(users["clinician"])
    assert len(selectors.household_get(actor, public_id=household.public_id).members) == 1
    assert (
        len(
            selectors.household_get(actor, public_id=household.public_id, include_past=True).members
        )
        == 2
    )


def test_members_registered_outside_the_callers_territory_are_hidden(users, geo, home):
    household = home[0]
    visitor = PersonFactory(territory=geo["pachuca"])
    HouseholdMemberFactory(household=household, person=visitor, relationship="other_relative")
    view = selectors.household_get(actor_for(users["clinician"]), public_id=household.public_id)
    assert visitor.pk not in {m.person_id for m in view.members}


def test_list_is_scoped_paged_and_audited(users, geo, home):
    HouseholdFactory(territory=geo["pachuca"])
    for _ in range(3):
        HouseholdFactory(territory=geo["oaxaca"])
    actor = actor_for(users["clinician"])
    rows, total = selectors.household_list(actor, limit=2)
    assert (len(rows), total) == (2, 4)
    event = AuditEvent.objects.latest("id")
    assert (event.action, event.result_ids) == ("search", [str(h.public_id) for h in rows])
    rows, total = selectors.household_list(actor, territory_path="MX.20.067")
    assert [h.pk for h in rows] == [home[0].pk] and total == 1
    assert selectors.household_list(actor_for(users["national_coordinator"]))[1] == 5
