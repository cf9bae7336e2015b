"""Registration at the desk: CURP decoding, the comparisons for Spanish names, candidates while
typing, registering anew only with a reason, one person for two simultaneous clerks."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from bienestar.access.models import AuditAction, AuditEvent
from bienestar.access.tests.factories import actor_for
from bienestar.people import candidates, curp, matching
from bienestar.people.models import Person, PersonChange, PersonIdentifier
from bienestar.people.tests.factories import PersonFactory
from bienestar.people.tests.helpers import make_curp

D = dt.date
CURP_LUPE = make_curp("LOHG850314MOCPRD0")  # López Hernández, (María) Guadalupe, 1985-03-14
REGISTER = reverse("person_register")
CANDIDATES = reverse("person_register_candidates")
CURP_URL = reverse("person_register_curp")


# --- pure: decoding and comparisons --------------------------------------------------------------


def test_decode_a_curp():
    parts = curp.decode(CURP_LUPE)
    assert parts is not None
    assert (parts.birth_date, parts.sex, parts.state_code, parts.state_name) == (
        D(1985, 3, 14),
        "F",
        "OC",
        "Oaxaca",
    )
    assert curp.decode(make_curp("LOHG050314MOCPRDA")).birth_date == D(2005, 3, 14)  # type: ignore[union-attr]
    assert curp.decode("LOHG851314MOCPRD01") is None  # month 13
    assert curp.decode("short") is None


def R(given: str, first: str, second: str = "", **kw: Any) -> matching.Record:
    return matching.Record(given, first, second, **{"sex": "F", "birth_date": D(1985, 3, 14), **kw})


LUPE = R("María Guadalupe", "López", "Hernández", curp=CURP_LUPE)


@pytest.mark.parametrize(
    ("typed", "band", "reason"),
    [
        (R("Lupita", "Hernández", "López"), "strong", "Apellidos invertidos"),
        (R("Lupita", "Hernández", "López"), "strong", "Apodo o hipocorístico"),
        (R("Ma. Guadalupe", "Lopez", "Hernandez"), "strong", "Mismo nombre y fecha de nacimiento"),
        (R("Guadalupe", "López", "Hernández"), "strong", "Nombre compuesto abreviado"),
        (R("María Guadalupe", "López", ""), "strong", "Falta el segundo apellido"),
        (
            R(
                "María Guadalupe",
                "López",
                "Hernández",
                birth_date=D(1985, 3, 15),
            ),
            "possible",
            "Fecha de nacimiento parecida",
        ),
        (
            R("Guadalupe", "López", "Hernández", curp=CURP_LUPE[:12] + "X" + CURP_LUPE[13:]),
            "strong",
            "CURP igual salvo un carácter",
        ),
        (R("X", "Y", "Z", curp=CURP_LUPE), "strong", "Misma CURP"),
    ],
)
def test_the_error_patterns_of_the_issue_are_recognised(typed, band, reason):
    match = matching.compare(typed, LUPE)
    assert reason in match.reasons, (match.levels, match.reasons)
    assert match.band == band or (band == "possible" and match.band in ("possible", "strong")), (
        match.probability,
        match.levels,
    )


def test_day_and_month_swapped():
    lupe = R("Guadalupe", "López", "Hernández", birth_date=D(1985, 3, 4))
    typed = R("Guadalupe", "López", "Hernández", birth_date=D(1985, 4, 3))
    match = matching.compare(typed, lupe)
    assert "Día y mes invertidos" in match.reasons
    assert match.band == "strong"


@pytest.mark.parametrize(
    "other",
    [
        R("María Fernanda", "López", "Hernández"),  # her twin sister
        R(
            "María Guadalupe", "López", "Hernández", birth_date=D(1961, 3, 14)
        ),  # her namesake mother
        R("María Guadalupe", "López", "Hernández", curp=make_curp("LOHG850314MOCPRD1")),  # homonym
    ],
)
def test_hard_non_matches_are_not_strong(other):
    assert matching.compare(other, LUPE).band != "strong"


def test_curp_disagreements():
    typed = R("Guadalupe", "López", "Hernández", curp=CURP_LUPE, sex="M", birth_date=D(1985, 3, 15))
    warnings = matching.curp_disagreements(typed)
    assert len(warnings) == 2
    assert "14/03/1985" in warnings[0]


# --- candidates (database) -----------------------------------------------------------------------


@pytest.fixture
def lupe(geo) -> Person:  # type: ignore[no-untyped-def]
    person = PersonFactory(
        territory=geo["oaxaca_centro"],
        given_names="María Guadalupe",
        first_surname="López",
        second_surname="Hernández",
        sex="F",
        birth_date=D(1985, 3, 14),
    )
    PersonIdentifier.objects.create(person=person, system="curp", value=CURP_LUPE)
    return person


@pytest.mark.django_db
def test_candidates_are_scoped_and_audited(users, lupe, geo):
    twin_elsewhere = PersonFactory(
        territory=geo["pachuca"],
        given_names="Lupita",
        first_surname="Hernández",
        second_surname="López",
        sex="F",
        birth_date=D(1985, 3, 14),
    )
    typed = R("Lupita", "Hernández", "López")

    found = candidates.registration_candidates(actor_for(users["clinician"]), record=typed)

    assert [c.person for c in found.candidates] == [lupe]
    assert twin_elsewhere not in [c.person for c in found.candidates]
    event = AuditEvent.objects.get(action=AuditAction.SEARCH)
    assert event.result_ids == [str(lupe.public_id)]
    other = candidates.registration_candidates(
        actor_for(users["other_state_clinician"]), record=matching.Record("", "", curp=CURP_LUPE)
    )
    assert other.curp_elsewhere and lupe not in [c.person for c in other.candidates]


# --- the page ------------------------------------------------------------------------------------


def form(**kw: Any) -> dict[str, str]:
    data = {
        "curp": "",
        "given_names": "Lupita",
        "first_surname": "Hernández",
        "second_surname": "López",
        "sex": "F",
        "birth_date": "1985-03-14",
        "territory": "MX.20.067",
        "override_reason": "",
    }
    data.update(kw)
    return data


def state() -> dict[str, Any]:
    return {
        "persons": Person.objects.count(),
        "identifiers": PersonIdentifier.objects.count(),
        "changes": PersonChange.objects.count(),
        "writes": AuditEvent.objects.exclude(action__in=["read", "search"]).count(),
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "status"),
    [
        (None, 302),
        ("warehouse_manager", 403),
        ("pharmacist", 403),
        ("auditor", 403),
        ("clinician", 200),
    ],
)
def test_page_matrix(client, users, who, status):
    if who:
        client.force_login(users[who])
    before = state()
    assert client.get(REGISTER).status_code == status
    assert client.get(CANDIDATES, form()).status_code == status
    posted = client.post(REGISTER, form(given_names="Nueva", first_surname="Persona"))
    assert posted.status_code == (302 if who == "clinician" else status)
    if who != "clinician":
        assert state() == before
        assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_other_territory_cannot_register_there(client, users):
    client.force_login(users["other_state_clinician"])
    before = state()
    response = client.post(REGISTER, form(given_names="Nueva"))
    assert response.status_code == 422  # Oaxaca's municipalities are not among its choices
    assert state() == before


@pytest.mark.django_db
def test_clerk_is_warned_and_must_give_a_reason(client, users, lupe):
    client.force_login(users["clinician"])
    panel = client.get(CANDIDATES, form()).content.decode()
    assert "María Guadalupe López Hernández" in panel
    assert "Apellidos invertidos" in panel and "Apodo o hipocorístico" in panel
    before = state()

    refused = client.post(REGISTER, form())

    assert refused.status_code == 409
    assert "escriba por qué" in refused.content.decode()
    assert state() == before
    created = client.post(REGISTER, form(override_reason="Es su hermana gemela, viene con ella"))
    assert created.status_code == 302
    person = Person.objects.exclude(pk=lupe.pk).get()
    change = PersonChange.objects.get(person=person, action="register-anyway")
    assert change.changes["reason"] == "Es su hermana gemela, viene con ella"
    assert change.changes["candidates"][0]["person"] == str(lupe.public_id)
    assert AuditEvent.objects.filter(person_id=person.id, query__override=True).exists()


@pytest.mark.django_db
def test_curp_fills_the_form(client, users):
    client.force_login(users["clinician"])
    body = client.get(
        CURP_URL, {"curp": CURP_LUPE.lower()}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'value="1985-03-14"' in body
    assert '<option value="F" selected>' in body
    assert "Oaxaca" in body
    bad = client.get(CURP_URL, {"curp": CURP_LUPE[:17] + "0"}).content.decode()
    assert "verificador" in bad


@pytest.mark.django_db
def test_same_curp_twice_is_refused_with_a_link(client, users, lupe):
    client.force_login(users["clinician"])
    before = state()
    response = client.post(
        REGISTER, form(curp=CURP_LUPE, override_reason="Prueba de CURP repetida aquí")
    )
    assert response.status_code == 409
    assert str(lupe.public_id) in response.content.decode()
    assert state() == before


@pytest.mark.django_db(transaction=True)
def test_two_clerks_registering_the_same_curp_at_once_make_one_person(users, geo):
    from bienestar.access.tests.factories import UserFactory

    second = UserFactory(username="clinician2", role="clinician", territory=geo["oaxaca"])
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def register(user: Any) -> None:
        client = Client()
        client.force_login(user)
        barrier.wait()
        try:
            data = form(curp=CURP_LUPE, override_reason="Registro simultáneo de prueba")
            statuses.append(client.post(REGISTER, data).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=register, args=(u,)) for u in (users["clinician"], second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(statuses) == [302, 409]
    assert Person.objects.count() == 1
    assert PersonIdentifier.objects.filter(value=CURP_LUPE).count() == 1
