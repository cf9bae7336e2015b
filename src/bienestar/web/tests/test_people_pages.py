"""Person search and the person page: authorization matrix, typo-tolerant search, audit, household."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.conf import settings
from django.urls import reverse

from bienestar.access.models import AuditAction, AuditEvent
from bienestar.households.models import Household, HouseholdMember, Relationship
from bienestar.people import national_id
from bienestar.people.models import (
    ChangeSource,
    ContactSystem,
    IdentifierSystem,
    PersonAffiliation,
    PersonChange,
    PersonContact,
    PersonIdentifier,
)
from bienestar.people.tests.factories import PersonFactory

SEARCH = reverse("person_search")


def detail_url(person):  # type: ignore[no-untyped-def]
    return reverse("person_detail", args=[person.public_id])


# --- Search -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["warehouse_manager", "auditor"])
def test_roles_without_person_read_cannot_search(client_for, users, jose, role):
    response = client_for(users[role]).get(SEARCH, {"q": "jose lopez"})

    assert response.status_code == 403
    assert "José" not in response.content.decode()
    assert not AuditEvent.objects.filter(action=AuditAction.SEARCH).exists()


def test_empty_search_page_invites_to_type(client_for, users):
    response = client_for(users["clinician"]).get(SEARCH)

    assert response.status_code == 200
    assert "Escriba un nombre" in response.content.decode()
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    "text", ["jose lopez", "JOSE LOPEZ HERNANDEZ", "jose lopes", "jsoe lopez", "López"]
)
def test_name_search_is_accent_insensitive_and_typo_tolerant(client_for, users, jose, text):
    response = client_for(users["clinician"]).get(SEARCH, {"q": text})

    assert response.status_code == 200
    assert response.context["results"] == [jose]
    body = response.content.decode()
    assert "José López Hernández" in body
    assert national_id.display(jose.national_health_id) in body
    assert detail_url(jose) in body


def test_search_writes_an_audit_row_with_what_was_shown(client_for, users, jose):
    client_for(users["clinician"]).get(SEARCH, {"q": "jose lopez"})

    event = AuditEvent.objects.get(action=AuditAction.SEARCH)
    assert event.actor_username == "clinician"
    assert event.resource_type == "Person"
    assert event.query["kind"] == "name"
    assert event.result_ids == [str(jose.public_id)]


def test_search_by_national_health_id_typed_with_dashes(client_for, users, jose):
    typed = national_id.display(jose.national_health_id).lower()

    response = client_for(users["pharmacist"]).get(SEARCH, {"q": typed})

    assert response.context["results"] == [jose]
    assert AuditEvent.objects.get(action=AuditAction.SEARCH).query["kind"] == "national_health_id"


def test_search_by_curp(client_for, users, jose):
    curp = "LOHJ800517HOCPRS09"
    PersonIdentifier.objects.create(person=jose, system=IdentifierSystem.CURP, value=curp)

    response = client_for(users["clinician"]).get(SEARCH, {"q": curp.lower()})

    assert response.context["results"] == [jose]
    assert AuditEvent.objects.get(action=AuditAction.SEARCH).query["kind"] == "curp"


def test_search_never_shows_people_of_another_state(client_for, users, hidalgo_person):
    response = client_for(users["clinician"]).get(SEARCH, {"q": "maria perez"})

    assert response.status_code == 200
    assert response.context["results"] == []
    assert 'data-testid="search-empty"' in response.content.decode()
    assert "Pérez" not in response.content.decode()


def test_too_short_search_shows_the_form_again_with_the_reason(client_for, users):
    response = client_for(users["clinician"]).get(SEARCH, {"q": "j"})

    assert response.status_code == 422
    body = response.content.decode()
    assert "Escriba al menos 2 caracteres para buscar." in body
    assert 'id="q"' in body
    assert not AuditEvent.objects.exists()


def test_too_long_search_is_refused(client_for, users):
    response = client_for(users["clinician"]).get(SEARCH, {"q": "a" * 101})

    assert response.status_code == 422


def test_validation_message_is_translated(client_for, users):
    client = client_for(users["clinician"])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client.get(SEARCH, {"q": "j"})

    assert "Type at least 2 characters to search." in response.content.decode()


def test_htmx_gets_only_the_results_fragment(client_for, users, jose):
    response = client_for(users["clinician"]).get(
        SEARCH, {"q": "jose lopez"}, HTTP_HX_REQUEST="true"
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert "José López Hernández" in body
    assert "HX-Request" in response["Vary"]


def test_htmx_history_restore_gets_the_whole_page(client_for, users, jose):
    response = client_for(users["clinician"]).get(
        SEARCH, {"q": "jose lopez"}, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )

    assert "<html" in response.content.decode()


def test_search_pages_forward_and_back(client_for, users, geo):
    PersonFactory.create_batch(25, territory=geo["oaxaca_centro"])
    client = client_for(users["clinician"])

    first = client.get(SEARCH, {"q": "jose lopez"})
    second = client.get(SEARCH, {"q": "jose lopez", "page": "2"})

    assert len(first.context["results"]) == 20
    assert first.context["has_next"] and not first.context["has_previous"]
    assert 'rel="next"' in first.content.decode()
    assert len(second.context["results"]) == 5
    assert second.context["has_previous"] and not second.context["has_next"]
    assert 'rel="prev"' in second.content.decode()
    assert not {p.pk for p in first.context["results"]} & {p.pk for p in second.context["results"]}
    offsets = sorted(
        e.query["offset"] for e in AuditEvent.objects.filter(action=AuditAction.SEARCH)
    )
    assert offsets == [0, 20]


def test_a_bad_page_number_falls_back_to_the_first_page(client_for, users, jose):
    response = client_for(users["clinician"]).get(SEARCH, {"q": "jose lopez", "page": "abc"})

    assert response.status_code == 200
    assert response.context["page"] == 1


# --- Person page ---------------------------------------------------------------------------------------


def test_anonymous_cannot_open_a_person(client, jose):
    response = client.get(detail_url(jose))

    assert response.status_code == 302
    assert not AuditEvent.objects.exists()


def test_clinician_sees_the_person_and_the_read_is_audited(client_for, users, jose, geo):
    PersonIdentifier.objects.create(
        person=jose, system=IdentifierSystem.CURP, value="LOHJ800517HOCPRS09"
    )
    PersonAffiliation.objects.create(person=jose, scheme="none", start=dt.date(2024, 1, 1))
    PersonContact.objects.create(person=jose, system=ContactSystem.MOBILE, value="9515550101")
    jose.addresses.create(
        line="Calle Reforma 12",
        neighbourhood="Centro",
        postal_code="68000",
        territory=geo["oaxaca_centro"],
    )

    response = client_for(users["clinician"]).get(detail_url(jose))

    assert response.status_code == 200
    body = response.content.decode()
    assert "José López Hernández" in body
    assert national_id.display(jose.national_health_id) in body
    assert "LOHJ800517HOCPRS09" in body
    assert "Sin seguridad social" in body
    assert "9515550101" in body
    assert "Calle Reforma 12" in body
    event = AuditEvent.objects.get(action=AuditAction.READ, person_id=jose.id)
    assert event.actor_username == "clinician"
    assert event.resource_id == str(jose.public_id)


def test_person_of_another_state_is_not_found_for_a_clinician_of_hidalgo(client_for, users, jose):
    response = client_for(users["other_state_clinician"]).get(detail_url(jose))

    assert response.status_code == 404
    body = response.content.decode()
    assert "José" not in body
    assert "No encontrado" in body
    assert not AuditEvent.objects.filter(action=AuditAction.READ).exists()


def test_unknown_person_is_the_same_404(client_for, users):
    response = client_for(users["clinician"]).get(reverse("person_detail", args=[uuid.uuid4()]))

    assert response.status_code == 404


@pytest.mark.parametrize("role", ["warehouse_manager", "auditor"])
def test_roles_without_person_read_get_403_on_the_person_page(client_for, users, jose, role):
    response = client_for(users[role]).get(detail_url(jose))

    assert response.status_code == 403
    assert "José" not in response.content.decode()


def _household_with(geo, jose, hidalgo_person):  # type: ignore[no-untyped-def]
    household = Household.objects.create(
        territory=geo["oaxaca_centro"], address_line="Calle Reforma 12"
    )
    spouse = PersonFactory(
        given_names="Rosa",
        first_surname="Martínez",
        second_surname="Cruz",
        sex="F",
        territory=geo["oaxaca_centro"],
    )
    HouseholdMember.objects.create(household=household, person=jose, relationship=Relationship.HEAD)
    HouseholdMember.objects.create(
        household=household, person=spouse, relationship=Relationship.SPOUSE
    )
    # A member registered in another state (e.g. a child studying in Pachuca).
    HouseholdMember.objects.create(
        household=household, person=hidalgo_person, relationship=Relationship.CHILD
    )
    return household, spouse


def test_household_names_only_the_members_the_user_may_see(
    client_for, users, geo, jose, hidalgo_person
):
    household, spouse = _household_with(geo, jose, hidalgo_person)

    response = client_for(users["clinician"]).get(detail_url(jose))

    body = response.content.decode()
    assert "Rosa Martínez Cruz" in body
    assert detail_url(spouse) in body
    assert "María" not in body and "Pérez" not in body
    assert "Integrante fuera de su territorio" in body
    # One audit row for the household, naming the persons it disclosed: the spouse, not the member
    # who lives outside the clinician's territory.
    event = AuditEvent.objects.get(action=AuditAction.READ, resource_type="Household")
    assert event.resource_id == str(household.public_id)
    assert event.result_ids == [str(spouse.public_id)]


def test_pharmacist_sees_no_household(client_for, users, geo, jose, hidalgo_person):
    _household_with(geo, jose, hidalgo_person)

    response = client_for(users["pharmacist"]).get(detail_url(jose))

    assert response.status_code == 200
    assert 'data-testid="household"' not in response.content.decode()
    assert "Rosa" not in response.content.decode()


def test_provenance_is_shown_to_roles_that_write_only(client_for, users, jose):
    PersonChange.objects.create(
        person=jose,
        actor=users["clinician"],
        source=ChangeSource.WEB,
        action="update",
        changes={"first_surname": ["Lopes", "López"]},
    )

    writer = client_for(users["clinician"]).get(detail_url(jose)).content.decode()
    reader = client_for(users["state_coordinator"]).get(detail_url(jose)).content.decode()

    assert 'data-testid="provenance"' in writer
    assert "Primer apellido" in writer and "Lopes → López" in writer
    assert 'data-testid="provenance"' not in reader


def _queries(client, url, params):  # type: ignore[no-untyped-def]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url, params).status_code == 200
    return len(ctx.captured_queries)


def test_search_page_queries_do_not_grow_with_the_results(client_for, users, geo):
    client = client_for(users["clinician"])
    PersonFactory.create_batch(2, territory=geo["oaxaca_centro"])
    few = _queries(client, SEARCH, {"q": "jose lopez"})
    PersonFactory.create_batch(18, territory=geo["oaxaca_centro"])
    many = _queries(client, SEARCH, {"q": "jose lopez"})

    assert many == few


def test_person_page_queries_do_not_grow_with_the_household(client_for, users, geo, jose):
    client = client_for(users["clinician"])
    household = Household.objects.create(territory=geo["oaxaca_centro"])
    HouseholdMember.objects.create(household=household, person=jose, relationship=Relationship.HEAD)
    HouseholdMember.objects.create(
        household=household,
        relationship=Relationship.SPOUSE,
        person=PersonFactory(territory=geo["oaxaca_centro"]),
    )
    few = _queries(client, detail_url(jose), {})
    for _ in range(4):
        HouseholdMember.objects.create(
            household=household,
            relationship=Relationship.CHILD,
            person=PersonFactory(territory=geo["oaxaca_centro"]),
        )
    many = _queries(client, detail_url(jose), {})

    assert many == few
