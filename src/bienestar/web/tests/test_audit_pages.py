"""The audit log page and its CSV export: auditors only, filters, pages, and the export is itself audited."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from bienestar.access.audit import audit_record
from bienestar.access.models import AuditAction, AuditEvent
from bienestar.access.tests.factories import actor_for

LOG = reverse("audit_log")
CSV = reverse("audit_csv")


def _event(user, action=AuditAction.READ, at=None, query=None):  # type: ignore[no-untyped-def]
    return audit_record(
        actor_for(user),
        action=action,
        resource_type="Person",
        resource_id="abc",
        query=query,
        at=at,
    )


def _csv_rows(response):  # type: ignore[no-untyped-def]
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


@pytest.mark.parametrize(
    "role", ["clinician", "national_coordinator", "integrator", "other_state_clinician"]
)
@pytest.mark.parametrize("url", [LOG, CSV])
def test_only_auditors_may_read_the_log(client_for, users, role, url):
    _event(users["clinician"])

    response = client_for(users[role]).get(url)

    assert response.status_code == 403
    assert AuditEvent.objects.count() == 1


def test_auditor_sees_events_newest_first(client_for, users):
    now = timezone.now()
    _event(users["clinician"], at=now - dt.timedelta(hours=2))
    _event(users["pharmacist"], at=now - dt.timedelta(hours=1))

    response = client_for(users["auditor"]).get(LOG)

    assert response.status_code == 200
    usernames = [r.event.actor_username for r in response.context["events"]]
    assert usernames[:2] == ["pharmacist", "clinician"]
    assert 'data-testid="audit-table"' in response.content.decode()


def test_reading_the_log_is_itself_audited(client_for, users):
    client_for(users["auditor"]).get(LOG, {"actor": "clinician"})

    event = AuditEvent.objects.get(actor_username="auditor")
    assert event.action == AuditAction.SEARCH
    assert event.resource_type == "AuditEvent"
    assert event.query["actor"] == "clinician"


def test_filters_by_actor_action_and_type(client_for, users):
    _event(users["clinician"], action=AuditAction.READ)
    _event(users["clinician"], action=AuditAction.SEARCH)
    _event(users["pharmacist"], action=AuditAction.READ)

    response = client_for(users["auditor"]).get(
        LOG, {"actor": "clinician", "action": "read", "resource_type": "Person"}
    )

    events = response.context["events"]
    assert [(r.event.actor_username, r.event.action) for r in events] == [("clinician", "read")]


def test_filters_by_date_range_in_local_days(client_for, users):
    tz = timezone.get_current_timezone()
    _event(users["clinician"], at=dt.datetime(2025, 3, 1, 23, 30, tzinfo=tz))
    _event(users["pharmacist"], at=dt.datetime(2025, 3, 2, 0, 30, tzinfo=tz))
    _event(users["outreach_manager"], at=dt.datetime(2025, 3, 3, 12, 0, tzinfo=tz))

    response = client_for(users["auditor"]).get(
        LOG, {"date_from": "2025-03-02", "date_to": "2025-03-02"}
    )

    assert [r.event.actor_username for r in response.context["events"]] == ["pharmacist"]


@pytest.mark.parametrize(
    "params",
    [
        {"date_from": "not-a-date"},
        {"date_from": "2025-03-05", "date_to": "2025-03-01"},
        {"action": "delete-everything"},
    ],
)
def test_bad_filters_show_the_form_again(client_for, users, params):
    response = client_for(users["auditor"]).get(LOG, params)

    assert response.status_code == 422
    assert 'class="field-error"' in response.content.decode()
    assert not AuditEvent.objects.exists()


def test_log_pages(client_for, users):
    for _ in range(55):
        _event(users["clinician"])
    client = client_for(users["auditor"])

    first = client.get(LOG)
    second = client.get(LOG, {"page": "2"})

    assert len(first.context["events"]) == 50 and first.context["has_next"]
    assert 'rel="next"' in first.content.decode()
    assert (
        len(second.context["events"]) == 5 + 1
    )  # the auditor's own first read is now in the log too
    assert second.context["has_previous"] and not second.context["has_next"]


def test_csv_export_streams_the_filtered_events_and_is_audited(client_for, users):
    _event(users["clinician"], action=AuditAction.SEARCH, query={"kind": "name", "text": "jose"})
    _event(users["pharmacist"], action=AuditAction.READ)

    response = client_for(users["auditor"]).get(CSV, {"actor": "clinician"})

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="auditoria-')
    rows = _csv_rows(response)
    assert [(r["Usuario"], r["Acción"]) for r in rows] == [("clinician", "Búsqueda")]
    assert rows[0]["Tipo de registro"] == "Persona (padrón)"
    assert rows[0]["Consulta"] == "tipo de búsqueda: nombre; texto buscado: jose"
    export = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert export.actor_username == "auditor"
    assert export.query == {"actor": "clinician"}


def test_csv_cells_cannot_run_as_spreadsheet_formulas(client_for, users):
    users["clinician"].username = "=cmd|' /C calc'!A0"
    users["clinician"].save()
    _event(users["clinician"])

    rows = _csv_rows(client_for(users["auditor"]).get(CSV))

    names = {r["Usuario"] for r in rows}
    assert "'=cmd|' /C calc'!A0" in names
    assert "=cmd|' /C calc'!A0" not in names


def test_csv_with_bad_filters_is_refused(client_for, users):
    response = client_for(users["auditor"]).get(CSV, {"date_from": "2025-13-45"})

    assert response.status_code == 422
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()


def test_log_page_queries_do_not_grow_with_the_events(client_for, users):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(users["auditor"])
    _event(users["clinician"])
    with CaptureQueriesContext(connection) as few:
        client.get(LOG)
    for _ in range(30):
        _event(users["pharmacist"])
    with CaptureQueriesContext(connection) as many:
        client.get(LOG)

    assert len(many.captured_queries) == len(few.captured_queries)


def test_a_state_auditor_sees_only_what_concerns_the_state(client_for, users, geo):
    """Oaxaca's auditor: what Oaxaca's users did, and any access to an Oaxaca resident's record
    (even by a user of another state); not what Hidalgo's users did with Hidalgo's residents. A
    national auditor sees it all."""
    from bienestar.access.models import User
    from bienestar.access.roles import Role
    from bienestar.access.tests.factories import UserFactory
    from bienestar.people.tests.factories import PersonFactory

    oaxacan = PersonFactory(territory=geo["oaxaca_centro"])
    hidalgan = PersonFactory(territory=geo["pachuca"])
    hgo = users["other_state_clinician"]

    def read(user: User, person_id: int | None, rid: str) -> None:
        audit_record(
            actor_for(user),
            action=AuditAction.READ,
            resource_type="Person",
            resource_id=rid,
            person_id=person_id,
        )

    read(users["clinician"], None, "oaxaca-staff")
    read(hgo, oaxacan.pk, "oaxacan-by-hidalgo")
    read(hgo, hidalgan.pk, "hidalgan-by-hidalgo")
    read(hgo, None, "hidalgo-staff")

    seen = {r.event.resource_id for r in client_for(users["auditor"]).get(LOG).context["events"]}
    assert {"oaxaca-staff", "oaxacan-by-hidalgo"} <= seen
    assert not seen & {"hidalgan-by-hidalgo", "hidalgo-staff"}
    csv_ids = {
        r["Identificador del registro"] for r in _csv_rows(client_for(users["auditor"]).get(CSV))
    }
    assert not csv_ids & {"hidalgan-by-hidalgo", "hidalgo-staff"}

    national = UserFactory(
        username="national_auditor",
        role=Role.AUDITOR,
        territory=users["national_coordinator"].territory,
    )
    everything = {r.event.resource_id for r in client_for(national).get(LOG).context["events"]}
    assert {
        "oaxaca-staff",
        "oaxacan-by-hidalgo",
        "hidalgan-by-hidalgo",
        "hidalgo-staff",
    } <= everything
