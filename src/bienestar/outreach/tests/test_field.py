from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from bienestar.access.errors import Forbidden, NotAuthenticated, OutOfScope
from bienestar.access.models import AuditEvent
from bienestar.access.tests.factories import actor_for
from bienestar.core.errors import Conflict, ValidationFailed
from bienestar.outreach import field as services
from bienestar.outreach import rules
from bienestar.outreach.field_selectors import household_file, worklist
from bienestar.outreach.models import Screening, Task, TaskEvent, Visit

pytestmark = pytest.mark.django_db(transaction=False)

FINDRISC_15 = {
    # 56 years old on the day (born 1968-03-01): age 3 + BMI 28 (1) + waist 99 (3) + inactive (2)
    # + vegetables (0) + no antihypertensives (0) + no high glucose (0) + grandparent (3) = 12;
    # plus antihypertensives (2) and no vegetables (1) = 15.
    "bmi": "28",
    "waist_cm": "99",
    "active_30min_daily": False,
    "vegetables_daily": False,
    "bp_medication": True,
    "high_glucose_history": False,
    "family_history": "second_degree",
}


def _consent(actor, household):
    return services.household_profile_record(
        actor,
        household=household,
        data=services.ProfileInput(consent="given", fields_sent={"consent"}),
    )


def test_home_visit_findrisc_15_and_bp_150_95_give_the_right_flags_and_tasks(field):
    actor = actor_for(field["gestor"])
    household, head, _partner = field["households"][0]
    now = timezone.now()
    visit = services.visit_record(
        actor, household=household, setting="home", outcome="contacted", device_time=now
    )
    assert visit.server_time >= visit.device_time - dt.timedelta(minutes=1)
    _consent(actor, household)
    f = services.screening_record(
        actor,
        household=household,
        person=head,
        kind="findrisc",
        inputs=FINDRISC_15,
        device_time=dt.datetime(2024, 6, 1, 10, tzinfo=dt.UTC),
        visit=visit,
    )
    assert f.result["score"] == 15 and f.result["band"] == "high" and f.flag == "priority"
    bp = services.screening_record(
        actor,
        household=household,
        person=head,
        kind="blood_pressure",
        inputs={"systolic": 150, "diastolic": 95},
        device_time=now,
        visit=visit,
    )
    assert bp.flag == "priority" and bp.result["confirm_another_day"]
    kinds = set(
        Task.objects.filter(household=household, status="ready").values_list("kind", flat=True)
    )
    assert {"diabetes_referral", "bp_confirm", "complete_characterisation"} <= kinds
    assert AuditEvent.objects.filter(resource_type="Screening", person_id=head.id).count() == 2


def test_task_generation_is_idempotent_twice_and_from_two_workers(field):
    actor = actor_for(field["gestor"])
    household, head, _p = field["households"][0]
    _consent(actor, household)
    services.screening_record(
        actor,
        household=household,
        person=head,
        kind="phq2",
        inputs={"interest": 2, "mood": 2},
        device_time=timezone.now(),
    )
    before = list(Task.objects.order_by("id").values_list("public_id", "status"))
    events = TaskEvent.objects.count()
    sector_id = field["sectors"][0].id
    again = rules.tasks_recompute(household=household, sector_id=sector_id)
    assert again.created == 0
    assert list(Task.objects.order_by("id").values_list("public_id", "status")) == before
    assert TaskEvent.objects.count() == events
    # The id is the same whoever computes it.
    task = Task.objects.get(kind="mental_health_followup")
    assert task.public_id == rules.task_id(str(head.public_id), "PHQ2-FOLLOWUP", task.trigger)


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_recomputations_never_duplicate(field):
    actor = actor_for(field["gestor"])
    household, head, _p = field["households"][0]
    _consent(actor, household)
    services.screening_record(
        actor,
        household=household,
        person=head,
        kind="pregnancy_danger" if False else "phq2",
        inputs={"interest": 3, "mood": 3},
        device_time=timezone.now(),
    )
    Task.objects.all().delete()  # tasks only; screenings stay (append-only)
    sector_id = field["sectors"][0].id
    barrier = threading.Barrier(2)
    results = []

    def run() -> None:
        try:
            barrier.wait()
            results.append(rules.tasks_recompute(household=household, sector_id=sector_id))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 2
    assert Task.objects.filter(kind="mental_health_followup").count() == 1
    assert sum(r.created for r in results) == Task.objects.count()
    assert TaskEvent.objects.filter(to_status="ready").count() == Task.objects.count()


def test_a_later_clear_screening_resolves_the_task_with_history(field):
    actor = actor_for(field["gestor"])
    household, head, _p = field["households"][0]
    _consent(actor, household)
    t0 = timezone.now() - dt.timedelta(days=3)
    services.screening_record(
        actor,
        household=household,
        person=head,
        kind="blood_pressure",
        inputs={"systolic": 150, "diastolic": 95},
        device_time=t0,
    )
    services.screening_record(
        actor,
        household=household,
        person=head,
        kind="blood_pressure",
        inputs={"systolic": 128, "diastolic": 82},
        device_time=timezone.now(),
    )
    task = Task.objects.get(kind="bp_confirm")
    assert task.status == "completed"
    assert list(task.events.values_list("to_status", flat=True)) == ["ready", "completed"]


def test_visits_are_idempotent_by_device_uuid_and_append_only(field):
    actor = actor_for(field["gestor"])
    household, _h, _p = field["households"][0]
    uid = uuid.uuid4()
    now = timezone.now()
    first = services.visit_record(
        actor, household=household, setting="home", outcome="absent", device_time=now, public_id=uid
    )
    again = services.visit_record(
        actor, household=household, setting="home", outcome="absent", device_time=now, public_id=uid
    )
    assert first.pk == again.pk and Visit.objects.count() == 1
    assert Task.objects.filter(kind="revisit").count() == 1
    with pytest.raises(Conflict):
        services.visit_record(
            actor,
            household=household,
            setting="home",
            outcome="moved",
            device_time=now,
            public_id=uid,
        )
    with pytest.raises(DatabaseError), transaction.atomic():
        Visit.objects.filter(pk=first.pk).update(outcome="contacted")
    with pytest.raises(DatabaseError), transaction.atomic():
        Visit.objects.filter(pk=first.pk).delete()


def test_authorization_matrix_for_field_writes_nothing_on_refusal(field):
    household, head, _p = field["households"][0]
    their_household = field["households"][2][0]
    now = timezone.now()
    audit = AuditEvent.objects.count()
    kwargs = {"setting": "home", "outcome": "contacted", "device_time": now}
    with pytest.raises(NotAuthenticated):
        services.visit_record(actor_for(None), household=household, **kwargs)
    with pytest.raises(Forbidden):
        services.visit_record(actor_for(field["clinician"]), household=household, **kwargs)
    with pytest.raises(OutOfScope):  # another team's sector
        services.visit_record(actor_for(field["other_gestor"]), household=household, **kwargs)
    with pytest.raises(OutOfScope):
        services.visit_record(actor_for(field["gestor"]), household=their_household, **kwargs)
    with pytest.raises(ValidationFailed):
        services.visit_record(
            actor_for(field["gestor"]),
            household=household,
            setting="moon",
            outcome="contacted",
            device_time=now,
        )
    with pytest.raises(ValidationFailed):
        services.visit_record(
            actor_for(field["gestor"]),
            household=household,
            setting="home",
            outcome="contacted",
            device_time=now + dt.timedelta(hours=2),
        )
    with pytest.raises(Conflict):  # no consent yet
        services.screening_record(
            actor_for(field["gestor"]),
            household=household,
            person=head,
            kind="phq2",
            inputs={"interest": 1, "mood": 1},
            device_time=now,
        )
    assert (
        Visit.objects.count() == 0 and Screening.objects.count() == 0 and Task.objects.count() == 0
    )
    assert AuditEvent.objects.count() == audit


def test_bad_screening_input_is_a_422_with_the_field(field):
    actor = actor_for(field["gestor"])
    household, head, _p = field["households"][0]
    _consent(actor, household)
    with pytest.raises(ValidationFailed) as exc:
        services.screening_record(
            actor,
            household=household,
            person=head,
            kind="blood_pressure",
            inputs={"systolic": 90, "diastolic": 120},
            device_time=timezone.now(),
        )
    assert exc.value.field == "diastolic"
    with pytest.raises(ValidationFailed):
        services.screening_record(
            actor,
            household=household,
            person=head,
            kind="phq2",
            inputs={"x": 1},
            device_time=timezone.now(),
        )
    assert Screening.objects.count() == 0


def test_partial_characterisation_is_kept_and_shown_as_partial(field):
    actor = actor_for(field["gestor"])
    household, _h, _p = field["households"][0]
    services.household_profile_record(
        actor,
        household=household,
        data=services.ProfileInput(
            consent="given", water_source="piped", fields_sent={"consent", "water_source"}
        ),
    )
    view = household_file(actor, public_id=household.public_id)
    assert view.profile.water_source == "piped"
    assert "water_source" not in view.missing and "cooking_fuel" in view.missing
    assert (
        AuditEvent.objects.filter(
            resource_type="Household", action="read", resource_id=str(household.public_id)
        ).count()
        == 1
    )


def test_pregnant_member_behind_the_anc_schedule_gets_a_task(field):
    actor = actor_for(field["gestor"])
    household, _h, partner = field["households"][0]
    _consent(actor, household)
    services.member_profile_record(
        actor,
        household=household,
        person=partner,
        pregnant=True,
        last_menstrual_period=timezone.localdate() - dt.timedelta(weeks=22),
        antenatal_contacts=0,
    )
    task = Task.objects.get(kind="anc_enrolment")
    assert task.person_id == partner.id and task.flag == "priority"
    services.member_profile_record(
        actor,
        household=household,
        person=partner,
        pregnant=True,
        last_menstrual_period=timezone.localdate() - dt.timedelta(weeks=22),
        antenatal_contacts=2,
    )
    task.refresh_from_db()
    assert task.status == "completed"


def test_worklist_orders_urgent_then_overdue_then_priority_and_only_the_workers_sectors(field):
    actor = actor_for(field["gestor"])
    (h1, head1, _p1), (h2, head2, _p2), (h3, _x, _y) = field["households"]
    for h in (h1, h2):
        _consent(actor, h)
    old = timezone.now() - dt.timedelta(days=20)
    services.screening_record(
        actor,
        household=h1,
        person=head1,
        kind="phq2",
        inputs={"interest": 2, "mood": 2},
        device_time=old,
    )  # priority, overdue
    services.screening_record(
        actor,
        household=h2,
        person=head2,
        kind="blood_pressure",
        inputs={"systolic": 185, "diastolic": 100},
        device_time=timezone.now(),
    )  # urgent
    result = worklist(actor)
    assert [i.household.id for i in result.items] == [h2.pk, h1.pk]
    assert result.items[0].tasks[0].flag == "urgent"
    assert h3.pk not in {i.household.id for i in result.items}
    only = worklist(actor, sector_code=field["sectors"][0].code)
    assert [i.household.id for i in only.items] == [h1.pk]
    assert worklist(actor, kind="urgent_referral").total_tasks == 1
    assert worklist(actor, route=True).items[0].household.id == h2.pk
    assert worklist(actor_for(field["other_gestor"])).items == []
    with pytest.raises(Forbidden):
        worklist(actor_for(field["clinician"]))
