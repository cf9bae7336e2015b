"""A referral from a health centre to a hospital, end to end, through the services and the API:
sides, deadlines, booking at the receiving unit, the counter-referral in both charts, expiry, and
the authorization matrix with nothing written on refusal."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from bienestar.access.errors import Forbidden
from bienestar.access.models import AuditEvent
from bienestar.access.roles import Role
from bienestar.access.tests.api_client import ApiClient
from bienestar.access.tests.factories import UserFactory, actor_for
from bienestar.clinical.tests.factories import icd10_codes
from bienestar.core.errors import Conflict, ValidationFailed
from bienestar.facilities.models import FacilityType
from bienestar.facilities.tests.factories import FacilityFactory
from bienestar.people.tests.factories import PersonFactory
from bienestar.referrals import selectors, services
from bienestar.referrals.models import Referral, ReferralChange
from bienestar.scheduling import selectors as scheduling_selectors
from bienestar.scheduling.models import AvailabilityRule, Schedule, Service
from bienestar.territories.tests.factories import state


@pytest.fixture
def net(db):  # type: ignore[no-untyped-def]
    icd10_codes()
    oax = state("20", "Oaxaca")
    centre = FacilityFactory(territory=oax)
    hospital = FacilityFactory(
        territory=oax, facility_type=FacilityType.GENERAL_HOSPITAL, level_of_care=2
    )
    sender = UserFactory(username="medico_cs", role=Role.CLINICIAN, territory=oax, facility=centre)
    receiver = UserFactory(
        username="medico_hg", role=Role.CLINICIAN, territory=oax, facility=hospital
    )
    service = Service.objects.create(facility=hospital, name="Medicina interna", slot_minutes=30)
    schedule = Schedule.objects.create(
        service=service, facility=hospital, valid_from=dt.date(2020, 1, 1)
    )
    for d in range(7):
        AvailabilityRule.objects.create(
            schedule=schedule, weekday=d, start_time=dt.time(8), end_time=dt.time(14)
        )
    hgo = state("13", "Hidalgo")
    other = UserFactory(
        username="medico_hgo",
        role=Role.CLINICIAN,
        territory=hgo,
        facility=FacilityFactory(territory=hgo),
    )
    pharmacist = UserFactory(username="farm", role=Role.PHARMACIST, territory=oax, facility=centre)
    person = PersonFactory(territory=oax)
    return {
        "centre": centre,
        "hospital": hospital,
        "sender": sender,
        "receiver": receiver,
        "other": other,
        "pharmacist": pharmacist,
        "person": person,
    }


def _send(net, priority="urgent"):  # type: ignore[no-untyped-def]
    return services.referral_create(
        actor_for(net["sender"]),
        person=net["person"].public_id,
        destination=net["hospital"].public_id,
        priority=priority,
        reason="Hipertensión descontrolada pese a tratamiento",
        diagnosis_code="I10",
    )


def test_a_referral_goes_there_and_its_answer_comes_back(net):  # type: ignore[no-untyped-def]
    referral = _send(net)
    assert referral.status == "requested"
    assert referral.due_by - referral.requested_at == dt.timedelta(days=3)
    assert referral.diagnosis_text
    hospital = actor_for(net["receiver"])
    centre = actor_for(net["sender"])
    with pytest.raises(Forbidden):  # only the receiving unit receives
        services.referral_transition(centre, referral=referral.public_id, to="received")
    services.referral_transition(hospital, referral=referral.public_id, to="received")
    received = selectors.referrals_received(hospital)
    assert [r.pk for r in received] == [referral.pk]
    day = timezone.now().astimezone(ZoneInfo("America/Mexico_City")).date() + dt.timedelta(days=1)
    slot = scheduling_selectors.slots_search(
        hospital,
        scheduling_selectors.SlotSearch(facility=net["hospital"], first_day=day, last_day=day),
    ).slots[0]
    booked = services.referral_book(hospital, referral=referral.public_id, slot=slot.slot_id)
    assert booked.status == "scheduled" and booked.appointment.facility == net["hospital"]
    services.referral_transition(hospital, referral=referral.public_id, to="attended")
    with pytest.raises(ValidationFailed):
        services.counter_referral_record(hospital, referral=referral.public_id, attended=True)
    services.counter_referral_record(
        hospital,
        referral=referral.public_id,
        attended=True,
        diagnosis_code="I10",
        plan="Ajuste de antihipertensivo",
        return_instructions="Control en su centro de salud en 4 semanas",
    )
    # the sending unit's chart shows the answer
    seen = selectors.referrals_of_person(centre, person=net["person"].public_id)
    assert seen[0].status == "completed"
    assert seen[0].counter_referral.return_instructions.startswith("Control")
    history = list(
        ReferralChange.objects.filter(referral=referral).values_list("to_status", flat=True)
    )
    assert history == ["requested", "received", "scheduled", "attended", "completed"]
    with pytest.raises(Conflict):
        services.referral_transition(hospital, referral=referral.public_id, to="received")


def test_rejecting_needs_a_reason_and_expiry_fails_the_forgotten(net):  # type: ignore[no-untyped-def]
    hospital = actor_for(net["receiver"])
    referral = _send(net, priority="emergency")
    assert referral.due_by - referral.requested_at == dt.timedelta(hours=12)
    with pytest.raises(ValidationFailed):
        services.referral_transition(hospital, referral=referral.public_id, to="rejected")
    assert services.referrals_expire(as_of=referral.due_by - dt.timedelta(minutes=1)) == 0
    assert services.referrals_expire(as_of=referral.due_by + dt.timedelta(minutes=1)) == 1
    assert services.referrals_expire(as_of=referral.due_by + dt.timedelta(minutes=1)) == 0
    referral.refresh_from_db()
    assert referral.status == "failed" and referral.status_reason


def test_a_referral_to_the_same_unit_or_an_unknown_code_is_refused(net):  # type: ignore[no-untyped-def]
    before = Referral.objects.count()
    for kw in [
        {"destination": net["centre"].public_id},
        {"diagnosis_code": "ZZZ99"},
        {"priority": "whenever"},
    ]:
        args = {
            "person": net["person"].public_id,
            "destination": net["hospital"].public_id,
            "priority": "routine",
            "reason": "Valoración",
            "diagnosis_code": "I10",
            **kw,
        }
        with pytest.raises(ValidationFailed):
            services.referral_create(actor_for(net["sender"]), **args)
    assert Referral.objects.count() == before


def test_api_matrix(net):  # type: ignore[no-untyped-def]
    body = {
        "person": str(net["person"].public_id),
        "destination": str(net["hospital"].public_id),
        "priority": "routine",
        "reason": "Valoración por medicina interna",
        "diagnosis_code": "I10",
    }

    def counts():  # type: ignore[no-untyped-def]
        return (
            Referral.objects.count(),
            ReferralChange.objects.count(),
            AuditEvent.objects.count(),
        )

    for user, expected in [(None, 401), (net["other"], 404), (net["pharmacist"], 403)]:
        before = counts()
        res = ApiClient(user).post("/api/referrals/", body)
        assert res.status_code == expected, (user, res.content)
        assert counts() == before
    res = ApiClient(net["sender"]).post("/api/referrals/", body)
    assert res.status_code == 201, res.content
    rid = res.json()["public_id"]
    assert res.json()["status"] == "requested"
    for user, expected in [(None, 401), (net["other"], 404), (net["pharmacist"], 403)]:
        before = counts()
        assert ApiClient(user).get(f"/api/referrals/{rid}").status_code == expected
        assert (
            ApiClient(user).post(f"/api/referrals/{rid}/status", {"status": "received"}).status_code
            == expected
        )
        assert counts() == before
    # the sending unit may not act for the receiving one
    res = ApiClient(net["sender"]).post(f"/api/referrals/{rid}/status", {"status": "received"})
    assert res.status_code == 403
    res = ApiClient(net["receiver"]).post(f"/api/referrals/{rid}/status", {"status": "received"})
    assert res.status_code == 200 and res.json()["status"] == "received"
    listed = ApiClient(net["receiver"]).get("/api/referrals/received").json()
    assert [r["public_id"] for r in listed] == [rid]
