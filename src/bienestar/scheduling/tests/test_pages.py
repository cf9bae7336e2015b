"""The agenda pages: the day's list with its next-step buttons, booking from the chart, walk-ins;
the authorization matrix with nothing written on refusal."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from bienestar.access.roles import Role
from bienestar.access.tests.factories import UserFactory, actor_for
from bienestar.people.tests.factories import PersonFactory
from bienestar.scheduling import selectors
from bienestar.scheduling.models import Appointment
from bienestar.scheduling.tests.factories import unit


def _client(user):  # type: ignore[no-untyped-def]
    c = Client()
    if user is not None:
        c.force_login(user)
    return c


@pytest.fixture
def world(db):  # type: ignore[no-untyped-def]
    u = unit()
    other = unit("13", "Hidalgo", username="medico_hgo")
    pharmacist = UserFactory(
        username="farm", role=Role.PHARMACIST, territory=u.territory, facility=u.facility
    )
    person = PersonFactory(territory=u.territory)
    day = timezone.now().astimezone(ZoneInfo("America/Mexico_City")).date() + dt.timedelta(days=1)
    return {
        "u": u,
        "other": other.clinician,
        "pharmacist": pharmacist,
        "person": person,
        "day": day,
    }


def test_booking_from_the_chart_then_the_day_list_moves_it_along(world):  # type: ignore[no-untyped-def]
    u, person, day = world["u"], world["person"], world["day"]
    c = _client(u.clinician)
    page = c.get(f"/agenda/agendar/{person.public_id}/", {"dia": day.isoformat()})
    assert page.status_code == 200
    assert b'name="slot"' in page.content
    slot = selectors.slots_search(
        actor_for(u.clinician),
        selectors.SlotSearch(facility=u.facility, first_day=day, last_day=day),
    ).slots[3]
    res = c.post(
        f"/agenda/agendar/{person.public_id}/?dia={day.isoformat()}",
        {"slot": slot.slot_id, "reason": "Control"},
    )
    assert res.status_code == 302
    booked = Appointment.objects.get()
    assert booked.person == person and booked.start == slot.start
    listing = c.get("/agenda/", {"dia": day.isoformat()})
    assert person.full_name.encode() in listing.content
    assert "Llegó".encode() in listing.content
    res = c.post(
        f"/agenda/citas/{booked.public_id}/estado/",
        {"status": "arrived", "expected_status": "booked", "dia": day.isoformat()},
    )
    assert res.status_code == 302
    booked.refresh_from_db()
    assert booked.status == "arrived"
    # the same button pressed twice (a stale page) changes nothing more
    res = c.post(
        f"/agenda/citas/{booked.public_id}/estado/",
        {"status": "arrived", "expected_status": "booked", "dia": day.isoformat()},
    )
    assert res.status_code == 409
    booked.refresh_from_db()
    assert booked.status == "arrived"


def test_a_taken_slot_is_explained_not_an_error(world):  # type: ignore[no-untyped-def]
    u, day = world["u"], world["day"]
    slot = selectors.slots_search(
        actor_for(u.clinician),
        selectors.SlotSearch(facility=u.facility, first_day=day, last_day=day),
    ).slots[0]
    c = _client(u.clinician)
    first = PersonFactory(territory=u.territory)
    assert c.post(f"/agenda/agendar/{first.public_id}/", {"slot": slot.slot_id}).status_code == 302
    res = c.post(
        f"/agenda/agendar/{world['person'].public_id}/", {"slot": slot.slot_id}, follow=True
    )
    assert res.status_code == 200
    assert "ya no está disponible".encode() in res.content
    assert Appointment.objects.count() == 1


def test_pages_matrix(world):  # type: ignore[no-untyped-def]
    u, person, day = world["u"], world["person"], world["day"]
    slot = selectors.slots_search(
        actor_for(u.clinician),
        selectors.SlotSearch(facility=u.facility, first_day=day, last_day=day),
    ).slots[0]
    anonymous = _client(None).get("/agenda/")
    assert anonymous.status_code == 302 and "/entrar/" in anonymous["Location"]
    assert _client(world["pharmacist"]).get("/agenda/").status_code == 403
    for user, expected in [(None, 302), (world["pharmacist"], 403), (world["other"], 404)]:
        res = _client(user).post(f"/agenda/agendar/{person.public_id}/", {"slot": slot.slot_id})
        assert res.status_code == expected
    assert Appointment.objects.count() == 0


def test_walk_in_from_the_page(world):  # type: ignore[no-untyped-def]
    u = unit(
        "23",
        "Quintana Roo",
        windows=tuple((d, dt.time(0, 0), dt.time(23, 59)) for d in range(7)),
        minutes=60,
        username="medico_qroo",
    )
    person = PersonFactory(territory=u.territory)
    c = _client(u.clinician)
    res = c.post(
        "/agenda/sin-cita/",
        {
            "national_id": person.national_health_id,
            "service": str(u.service.public_id),
            "triage": "3",
        },
        follow=True,
    )
    assert res.status_code == 200
    walk_in = Appointment.objects.get(person=person)
    assert walk_in.status == "arrived" and walk_in.origin == "walk_in" and walk_in.triage == 3
    res = c.post(
        "/agenda/sin-cita/",
        {
            "national_id": world["person"].national_health_id,
            "service": str(u.service.public_id),
            "triage": "3",
        },
        follow=True,
    )
    assert "No se encontró".encode() in res.content  # a person of another state is not found
    assert Appointment.objects.filter(person=world["person"]).count() == 0
