"""The admin: every registered model's pages load; the audit log and provenance are read-only;
persons can be looked at (audited) but never deleted or edited there."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from bienestar.access.audit import audit_record
from bienestar.access.models import AuditEvent
from bienestar.access.tests.factories import UserFactory, actor_for
from bienestar.people.models import Person, PersonChange
from bienestar.people.tests.factories import PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_superuser=True, is_staff=True, role="")


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


def test_every_registered_model_has_a_working_changelist(admin_client, geo):
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        response = admin_client.get(url)
        assert response.status_code == 200, url
        search = admin_client.get(url, {"q": "x"})
        assert search.status_code == 200, url


def test_registry_models_are_registered():
    from bienestar.facilities.models import Facility, OpeningHours
    from bienestar.territories.models import PopulationDenominator, Territory
    from bienestar.workforce.models import Practitioner, Specialty

    for model in (
        Territory,
        PopulationDenominator,
        Facility,
        Specialty,
        Practitioner,
        AuditEvent,
        Person,
    ):
        assert model in admin.site._registry, model
    assert OpeningHours not in admin.site._registry  # edited inline with its facility


@pytest.mark.parametrize("model", [AuditEvent, PersonChange])
def test_append_only_records_are_read_only(superuser, model):
    request = RequestFactory().get("/")
    request.user = superuser
    model_admin = admin.site._registry[model]
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)


def test_audit_event_pages_refuse_add_and_delete(admin_client, users):
    event = audit_record(actor_for(users["clinician"]), action="read", resource_type="Person")
    assert admin_client.get(reverse("admin:access_auditevent_add")).status_code == 403
    assert (
        admin_client.get(reverse("admin:access_auditevent_delete", args=[event.pk])).status_code
        == 403
    )
    response = admin_client.post(
        reverse("admin:access_auditevent_change", args=[event.pk]), {"actor_username": "nobody"}
    )
    assert response.status_code == 403
    assert AuditEvent.objects.get(pk=event.pk).actor_username == "clinician"


def test_person_admin_never_deletes_nor_edits_and_audits_views(admin_client, superuser, geo):
    person = PersonFactory(territory=geo["oaxaca_centro"])
    request = RequestFactory().get("/")
    request.user = superuser
    person_admin = admin.site._registry[Person]
    assert not person_admin.has_delete_permission(request, person)
    assert not person_admin.has_change_permission(request, person)
    assert not person_admin.has_add_permission(request)
    assert "delete_selected" not in person_admin.get_actions(request)

    assert (
        admin_client.post(
            reverse("admin:people_person_delete", args=[person.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert Person.objects.filter(pk=person.pk).exists()

    before = AuditEvent.objects.count()
    assert (
        admin_client.get(reverse("admin:people_person_change", args=[person.pk])).status_code == 200
    )
    assert AuditEvent.objects.count() == before + 1
    event = AuditEvent.objects.latest("id")
    assert (event.action, event.channel, event.person_id, event.actor_username) == (
        "read",
        "admin",
        person.pk,
        "root",
    )

    assert admin_client.get(reverse("admin:people_person_changelist")).status_code == 200
    event = AuditEvent.objects.latest("id")
    assert (event.action, event.result_ids) == ("search", [str(person.public_id)])


def test_token_admin_revokes_without_showing_the_hash(admin_client, users):
    from bienestar.access.models import ApiToken
    from bienestar.access.tokens import token_create

    row, _plain = token_create(user=users["clinician"])
    page = admin_client.get(reverse("admin:access_apitoken_change", args=[row.pk]))
    assert page.status_code == 200 and row.token_hash not in page.content.decode()
    admin_client.post(
        reverse("admin:access_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [row.pk]},
    )
    assert ApiToken.objects.get(pk=row.pk).revoked_at is not None
