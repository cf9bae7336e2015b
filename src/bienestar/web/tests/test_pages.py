"""Log-in, log-out, language, automatic log-off, the home page of each role, and the error pages."""

from __future__ import annotations

import time
import uuid

import pytest
from django.conf import settings
from django.urls import reverse

from bienestar.access.middleware import SESSION_KEY
from bienestar.access.roles import Role
from bienestar.facilities.tests.factories import FacilityFactory
from bienestar.households.models import Household
from bienestar.people.tests.factories import PersonFactory

PASSWORD = "contraseña-segura-1"  # the UserFactory's password

PROTECTED = [
    reverse("home"),
    reverse("person_search"),
    reverse("person_detail", args=[uuid.uuid4()]),
    reverse("audit_log"),
    reverse("audit_csv"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("url", PROTECTED)
def test_anonymous_is_sent_to_log_in(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


@pytest.mark.django_db
def test_htmx_request_without_session_redirects_the_whole_page(client):
    response = client.get(reverse("person_search"), {"q": "jose"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 401
    assert response["HX-Redirect"] == reverse("login")


@pytest.mark.django_db
def test_log_in_page_is_spanish_by_default_and_english_on_request(client):
    spanish = client.get(reverse("login"))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.get(reverse("login"))

    assert spanish.status_code == 200
    assert "Iniciar sesión" in spanish.content.decode()
    assert '<html lang="es">' in spanish.content.decode()
    assert "Sign in" in english.content.decode()
    assert '<html lang="en">' in english.content.decode()


def test_log_in_with_the_right_password_goes_home(client, users):
    response = client.post(
        reverse("login"), {"username": "clinician", "password": PASSWORD}, follow=True
    )

    assert response.redirect_chain[-1][0] == reverse("home")
    assert response.wsgi_request.user.username == "clinician"


def test_failed_log_in_says_so_and_stays_anonymous(client, users):
    response = client.post(
        reverse("login"), {"username": "clinician", "password": "wrong-password"}
    )

    assert response.status_code == 200
    assert 'data-testid="login-error"' in response.content.decode()
    assert not response.wsgi_request.user.is_authenticated


def test_log_in_is_locked_after_too_many_failures(client, users):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "clinician", "password": "wrong-password"})

    # Even the right password is refused while the lock lasts.
    response = client.post(reverse("login"), {"username": "clinician", "password": PASSWORD})

    assert response.status_code == 429
    body = response.content.decode()
    assert 'data-testid="locked-out"' in body
    assert "Acceso bloqueado temporalmente" in body
    assert "15 minutos" in body
    assert not response.wsgi_request.user.is_authenticated


def test_log_out_needs_post_and_signs_out(client_for, users):
    client = client_for(users["clinician"])

    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"), follow=True)

    assert response.redirect_chain[-1][0] == reverse("login")
    assert "Cerró su sesión" in response.content.decode()
    assert client.get(reverse("home")).status_code == 302


def test_idle_session_is_closed_with_a_message(client_for, users):
    client = client_for(users["clinician"])
    session = client.session
    session[SESSION_KEY] = time.time() - settings.INACTIVITY_LOGOUT_SECONDS - 5
    session.save()

    response = client.get(reverse("home"), follow=True)

    assert response.redirect_chain[-1][0].startswith(reverse("login"))
    assert "Su sesión se cerró por inactividad." in response.content.decode()


def test_language_switch_sets_english(client_for, users):
    client = client_for(users["clinician"])

    response = client.post(
        reverse("set_language"), {"language": "en", "next": reverse("home")}, follow=True
    )

    body = response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("home")
    assert "Search for a person" in body
    assert "Buscar persona" not in body


def test_header_shows_name_role_and_territory(client_for, users):
    user = users["clinician"]
    user.first_name, user.last_name = "Ana", "Ruiz"
    user.save()

    body = client_for(user).get(reverse("home")).content.decode()

    assert "Ana Ruiz" in body
    assert "Personal clínico" in body
    assert "Oaxaca" in body


HOME_TEXT = {
    Role.NATIONAL_COORDINATOR: "personas registradas",
    Role.STATE_COORDINATOR: "establecimientos en operación",
    Role.FACILITY_DIRECTOR: "Dirección de unidad",
    Role.CLINICIAN: 'id="q"',
    Role.PHARMACIST: "Antes de surtir",
    Role.WAREHOUSE_MANAGER: "no da acceso a datos personales",
    Role.OUTREACH_MANAGER: "Usted visita los hogares",
    Role.AUDITOR: reverse("audit_log"),
    Role.INTEGRATOR: "bienestar token create integrator",
}


@pytest.mark.parametrize("role", list(Role))
def test_every_role_has_its_home_page(client_for, users, role):
    response = client_for(users[role.value]).get(reverse("home"))

    assert response.status_code == 200
    assert HOME_TEXT[role] in response.content.decode()


@pytest.mark.parametrize(
    ("role", "heading"),
    [(Role.CLINICIAN, "<h2>Personal clínico</h2>"), (Role.PHARMACIST, "<h2>Farmacia</h2>")],
)
def test_clinician_and_pharmacist_get_the_search_box_first(client_for, users, role, heading):
    body = client_for(users[role.value]).get(reverse("home")).content.decode()

    assert 'action="/personas/"' in body
    assert body.index('id="q"') < body.index(heading)


def test_integrator_home_links_to_the_api_docs(client_for, users):
    body = client_for(users["integrator"]).get(reverse("home")).content.decode()

    assert 'href="/api/docs"' in body
    assert "Authorization: Bearer" in body


def test_state_coordinator_sees_counts_of_their_state_only(client_for, users, geo):
    PersonFactory.create_batch(3, territory=geo["oaxaca_centro"])
    PersonFactory.create_batch(2, territory=geo["pachuca"])
    Household.objects.create(territory=geo["oaxaca_centro"])
    Household.objects.create(territory=geo["pachuca"])
    FacilityFactory(territory=geo["oaxaca_centro"])
    FacilityFactory(territory=geo["oaxaca_centro"])
    FacilityFactory(territory=geo["pachuca"])

    response = client_for(users["state_coordinator"]).get(reverse("home"))

    summary = response.context["summary"]
    assert (summary.persons, summary.households, summary.facilities) == (3, 1, 2)
    body = response.content.decode()
    # Aggregates only: no person's name reaches the coordinator's home page.
    assert "López" not in body


def test_national_coordinator_counts_every_state(client_for, users, geo):
    PersonFactory.create_batch(3, territory=geo["oaxaca_centro"])
    PersonFactory.create_batch(2, territory=geo["pachuca"])

    response = client_for(users["national_coordinator"]).get(reverse("home"))

    assert response.context["summary"].persons == 5


def test_404_page_is_translated(client_for, users):
    client = client_for(users["clinician"])
    spanish = client.get("/no-existe/")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.get("/no-existe/")

    assert spanish.status_code == english.status_code == 404
    assert "No encontrado" in spanish.content.decode()
    assert "Not found" in english.content.decode()


def test_403_page_is_translated(client_for, users):
    client = client_for(users["warehouse_manager"])
    spanish = client.get(reverse("person_search"))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.get(reverse("person_search"))

    assert spanish.status_code == english.status_code == 403
    assert "Acceso no permitido" in spanish.content.decode()
    assert "Access not allowed" in english.content.decode()


def test_static_assets_are_local(client_for, users):
    body = client_for(users["clinician"]).get(reverse("home")).content.decode()

    assert "/static/web/vendor/htmx.min.js" in body
    assert "/static/web/css/app.css" in body
    assert "http://" not in body and "https://" not in body


def test_a_pharmacist_of_a_pharmacy_lands_on_the_queue(client_for, users, geo):
    users["pharmacist"].facility = FacilityFactory(territory=geo["oaxaca_centro"])
    users["pharmacist"].save()

    response = client_for(users["pharmacist"]).get(reverse("home"), follow=True)

    assert response.redirect_chain == [(reverse("pharmacy_home"), 302)]
    assert 'name="codigo"' in response.content.decode()
