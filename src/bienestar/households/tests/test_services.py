"""Household writes: scoped, atomic, audited; conflicts refused with nothing written."""

from __future__ import annotations

import datetime as dt

import pytest

from bienestar.access.errors import Forbidden, NotAuthenticated, OutOfScope
from bienestar.access.models import AuditEvent
from bienestar.access.tests.factories import actor_for
from bienestar.core.errors import Conflict, ValidationFailed
from bienestar.households import services
from bienestar.households.models import Household, HouseholdMember
from bienestar.households.tests.factories import HouseholdFactory, HouseholdMemberFactory
from bienestar.people.tests.factories import PersonFactory

pytestmark = pytest.mark.django_db


def _counts():
    return (Household.objects.count(), HouseholdMember.objects.count(), AuditEvent.objects.count())


def test_register_creates_an_audited_household(users, geo):
    household = services.household_register(
        actor_for(users["outreach_manager"]),
        data=services.HouseholdInput(
            territory_path="MX.20.067",
            address_line=" Calle 5 de Mayo 12 ",
            rooms=3,
            piped_water=True,
        ),
    )
    assert household.address_line == "Calle 5 de Mayo 12"
    event = AuditEvent.objects.get()
    assert (event.action, event.resource_type, event.resource_id) == (
        "create",
        "Household",
        str(household.public_id),
    )


@pytest.mark.parametrize(
    ("who", "path", "error"),
    [
        (None, "MX.20.067", NotAuthenticated),
        ("clinician", "MX.20.067", Forbidden),
        ("warehouse_manager", "MX.20.067", Forbidden),
        ("outreach_manager", "MX.13.048", OutOfScope),
        ("outreach_manager", "MX.99", ValidationFailed),
    ],
)
def test_register_refusals_write_nothing(users, geo, who, path, error):
    before = _counts()
    with pytest.raises(error):
        services.household_register(
            actor_for(users[who] if who else None),
            data=services.HouseholdInput(territory_path=path),
        )
    assert _counts() == before


def test_add_members_one_head_and_one_current_household(users, geo):
    actor = actor_for(users["outreach_manager"])
    household = HouseholdFactory(territory=geo["oaxaca_centro"])
    ana, luis = (
        PersonFactory(territory=geo["oaxaca_centro"]),
        PersonFactory(territory=geo["oaxaca_centro"]),
    )
    member = services.household_member_add(
        actor, household=household, person=ana, relationship="head"
    )
    assert AuditEvent.objects.latest("id").person_id == ana.id
    before = _counts()
    with pytest.raises(Conflict):
        services.household_member_add(actor, household=household, person=luis, relationship="head")
    with pytest.raises(Conflict):
        services.household_member_add(
            actor,
            household=HouseholdFactory(territory=geo["oaxaca"]),
            person=ana,
            relationship="head",
        )
    assert _counts()[1:] == before[1:]
    services.household_member_add(actor, household=household, person=luis, relationship="spouse")
    ended = services.household_member_end(actor, member=member, until=dt.date.today())
    assert ended.until == dt.date.today()
    with pytest.raises(Conflict):
        services.household_member_end(actor, member=member)
    # Once her membership ended she can join another household.
    services.household_member_add(
        actor, household=HouseholdFactory(territory=geo["oaxaca"]), person=ana, relationship="head"
    )


def test_add_member_refusals(users, geo):
    actor = actor_for(users["outreach_manager"])
    household = HouseholdFactory(territory=geo["oaxaca_centro"])
    elsewhere = PersonFactory(territory=geo["pachuca"])
    local = PersonFactory(territory=geo["oaxaca_centro"])
    before = _counts()
    with pytest.raises(OutOfScope):
        services.household_member_add(
            actor, household=household, person=elsewhere, relationship="child"
        )
    with pytest.raises(ValidationFailed):
        services.household_member_add(
            actor, household=household, person=local, relationship="cousin"
        )
    with pytest.raises(ValidationFailed):
        services.household_member_add(
            actor,
            household=household,
            person=local,
            relationship="child",
            since=dt.date.today() + dt.timedelta(days=5),
        )
    with pytest.raises(Forbidden):
        services.household_member_add(
            actor_for(users["clinician"]), household=household, person=local, relationship="child"
        )
    assert _counts() == before


def test_end_membership_refuses_a_date_before_its_start(users, geo):
    household = HouseholdFactory(territory=geo["oaxaca_centro"])
    member = HouseholdMemberFactory(
        household=household,
        person=PersonFactory(territory=geo["oaxaca_centro"]),
        since=dt.date(2024, 6, 1),
    )
    with pytest.raises(ValidationFailed):
        services.household_member_end(
            actor_for(users["outreach_manager"]), member=member, until=dt.date(2024, 1, 1)
        )
    member.refresh_from_db()
    assert member.until is None
