"""The scheduling API: the authorization matrix on every operation (anonymous, other territory,
wrong role, allowed) with nothing written on refusal, and audit rows for a person's data."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from bienestar.access.models import AuditEvent
from bienestar.access.roles import Role
from bienestar.access.tests.api_client import ApiClient
from bienestar.access.tests.factories import UserFactory
from bienestar.people.tests.factories import PersonFactory
from bienestar.scheduling.models import Appointment, Schedule, Service
from bienestar.scheduling.tests.factories import unit


def _counts() -> tuple[int, ...]:
    return (
        Appointment.objects.count(),
        Service.objects.count(),
        Schedule.objects.count(),
        AuditEvent.objects.count(),
    )


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


def _slot(world):  # type: ignore[no-untyped-def]
    res = ApiClient(world["u"].clinician).get(
        f"/api/scheduling/facilities/{world['u'].facility.public_id}/slots",
        {"first_day": world["day"].isoformat()},
    )
    assert res.status_code == 200
    return res.json()[0]["public_id"]


def test_booking_matrix(world):  # type: ignore[no-untyped-def]
    slot = _slot(world)
    body = {"person": str(world["person"].public_id), "slot": slot}
    for user, expected in [(None, 401), (world["other"], 404), (world["pharmacist"], 403)]:
        before = _counts()
        res = ApiClient(user).post("/api/scheduling/appointments", body)
        assert res.status_code == expected, (user, res.content)
        assert _counts() == before
    res = ApiClient(world["u"].clinician).post("/api/scheduling/appointments", body)
    assert res.status_code == 201, res.content
    data = res.json()
    assert data["status"] == "booked" and data["slot"] == slot
    assert (
        AuditEvent.objects.filter(
            resource_type="Appointment", action="create", person_id=world["person"].pk
        ).count()
        == 1
    )
    again = ApiClient(world["u"].clinician).post(
        "/api/scheduling/appointments",
        {"person": str(PersonFactory(territory=world["u"].territory).public_id), "slot": slot},
    )
    assert again.status_code == 409
    assert again.json()["error"] == "conflict"


def test_read_and_status_matrix(world):  # type: ignore[no-untyped-def]
    slot = _slot(world)
    booked = (
        ApiClient(world["u"].clinician)
        .post(
            "/api/scheduling/appointments", {"person": str(world["person"].public_id), "slot": slot}
        )
        .json()
    )
    url = f"/api/scheduling/appointments/{booked['public_id']}"
    for user, expected in [(None, 401), (world["other"], 404), (world["pharmacist"], 403)]:
        before = _counts()
        assert ApiClient(user).get(url).status_code == expected
        res = ApiClient(user).post(f"{url}/status", {"status": "arrived"})
        assert res.status_code == expected
        assert _counts() == before
    assert Appointment.objects.get(public_id=booked["public_id"]).status == "booked"
    reads = AuditEvent.objects.filter(action="read", resource_type="Appointment").count()
    assert ApiClient(world["u"].clinician).get(url).status_code == 200
    assert (
        AuditEvent.objects.filter(action="read", resource_type="Appointment").count() == reads + 1
    )
    res = ApiClient(world["u"].clinician).post(f"{url}/status", {"status": "arrived"})
    assert res.status_code == 200 and res.json()["status"] == "arrived"
    day = ApiClient(world["u"].clinician).get(
        "/api/scheduling/day", {"day": world["day"].isoformat()}
    )
    assert [a["public_id"] for a in day.json()] == [booked["public_id"]]
    assert (
        ApiClient(world["other"])
        .get("/api/scheduling/day", {"facility": str(world["u"].facility.public_id)})
        .status_code
        == 404
    )


def test_agenda_management_is_for_the_units_own_staff(world):  # type: ignore[no-untyped-def]
    u = world["u"]
    body = {"facility": str(u.facility.public_id), "name": "Nutrición", "slot_minutes": 30}
    for user, expected in [(None, 401), (world["other"], 404), (world["pharmacist"], 403)]:
        before = _counts()
        assert ApiClient(user).post("/api/scheduling/services", body).status_code == expected
        assert _counts() == before
    res = ApiClient(u.clinician).post("/api/scheduling/services", body)
    assert res.status_code == 201, res.content
    service = res.json()["public_id"]
    sched = {
        "service": service,
        "valid_from": world["day"].isoformat(),
        "windows": [
            {"weekday": 0, "start": "09:00", "end": "10:00"},
            {"weekday": 0, "start": "09:30", "end": "11:00"},
        ],
    }
    res = ApiClient(u.clinician).post("/api/scheduling/schedules", sched)
    assert res.status_code == 422 and res.json()["field"] == "windows"
    sched["windows"] = sched["windows"][:1]
    res = ApiClient(u.clinician).post("/api/scheduling/schedules", sched)
    assert res.status_code == 201, res.content
    assert res.json()["time_zone"] == "America/Mexico_City"
    bad = ApiClient(u.clinician).get(
        f"/api/scheduling/facilities/{u.facility.public_id}/slots", {"first_day": "no-es-fecha"}
    )
    assert bad.status_code == 422
