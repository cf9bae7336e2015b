"""The audit log is append-only: the database itself refuses UPDATE and DELETE."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from bienestar.access.audit import audit_record, compute_digest
from bienestar.access.models import AuditEvent
from bienestar.access.tests.factories import actor_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(users):
    return audit_record(
        actor_for(users["clinician"]), action="read", resource_type="Person", resource_id="x"
    )


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE access_auditevent SET actor_username = 'nobody' WHERE id = %s",
        "DELETE FROM access_auditevent WHERE id = %s",
    ],
)
def test_raw_update_or_delete_of_an_audit_row_fails(event, sql):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, [event.pk])
    event_after = AuditEvent.objects.get(pk=event.pk)
    assert event_after.actor_username == "clinician"


def test_orm_update_and_delete_fail_too(event):
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="update")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.filter(pk=event.pk, action="read").exists()


def test_truncate_fails_without_the_test_only_opt_in(event):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET LOCAL bienestar.allow_audit_truncate = 'off'")
        cursor.execute("TRUNCATE access_auditevent")
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_digest_matches_the_stored_row(event):
    row = AuditEvent.objects.get(pk=event.pk)
    values = {
        f: getattr(row, f)
        for f in (
            "at",
            "actor_username",
            "role",
            "channel",
            "action",
            "resource_type",
            "resource_id",
            "person_id",
            "client_address",
            "query",
            "result_count",
            "result_ids",
        )
    }
    assert compute_digest(values) == row.digest
