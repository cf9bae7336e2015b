"""Monthly partitions of the audit log and the stock ledger (issue 10, ADR 0013): the append-only
triggers hold on every partition, time filters prune, partitions are created ahead, and old ones are
archived to a file and recorded, never silently dropped."""

from __future__ import annotations

import datetime as dt
import gzip
import re

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from bienestar.access.audit import audit_record
from bienestar.access.models import AuditEvent
from bienestar.access.selectors import AuditFilters, audit_events
from bienestar.access.tests.factories import actor_for
from bienestar.core.partitioning import (
    PARTITIONED,
    add_months,
    ensure,
    month_start,
    partition_name,
)
from bienestar.inventory.models import StockMovement
from bienestar.ops.models import PartitionArchive

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def _partitions(table: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass",
            [table],
        )
        return {name for (name,) in cursor.fetchall()}


def _scanned(sql: str, params: list[object]) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    return set(
        re.findall(r"\b(?:access_auditevent|inventory_stockmovement)_(?:p\d{6}|default)\b", plan)
    )


@pytest.mark.parametrize("table", sorted(PARTITIONED))
def test_the_big_tables_are_partitioned_by_month_ahead_of_today(table):
    this_month = month_start(timezone.now().date())
    names = _partitions(table)
    for offset in range(-1, 4):
        assert partition_name(table, add_months(this_month, offset)) in names
    assert f"{table}_default" in names
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'p'",
            [table],
        )
        assert cursor.fetchone()[0] == f"PRIMARY KEY (id, {PARTITIONED[table].column})"


@pytest.fixture
def old_event(users):
    """An audit row of fourteen months ago, in its own month's partition."""
    at = dt.datetime.combine(add_months(month_start(timezone.now().date()), -14), dt.time(12), UTC)
    return audit_record(
        actor_for(users["clinician"]), action="read", resource_type="Person", resource_id="x", at=at
    )


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE {table} SET actor_username = 'nobody' WHERE id = %s",
        "DELETE FROM {table} WHERE id = %s",
    ],
)
@pytest.mark.parametrize("through", ["parent", "partition"])
def test_update_or_delete_in_a_partition_is_refused(old_event, sql, through):
    table = "access_auditevent"
    if through == "partition":
        table = partition_name(table, month_start(old_event.at.date()))
    assert _row_in(table, old_event.pk)
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql.format(table=table), [old_event.pk])
    assert AuditEvent.objects.get(pk=old_event.pk).actor_username == "clinician"


def _row_in(table: str, pk: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT 1 FROM "{table}" WHERE id = %s', [pk])  # noqa: S608 - our names
        return cursor.fetchone() is not None


@pytest.mark.parametrize("table", sorted(PARTITIONED))
def test_truncating_one_partition_is_refused(table):
    partition = partition_name(table, month_start(timezone.now().date()))
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET LOCAL bienestar.allow_audit_truncate = 'off'")
        cursor.execute(f'TRUNCATE "{partition}"')


def test_a_ledger_row_in_a_partition_cannot_change(geo, users):
    from bienestar.inventory.tests.factories import METFORMIN, build_network, receive

    net = build_network(geo, users)
    lot = receive(net.actor("pharmacist"), net.centre, METFORMIN, 10)
    movement = StockMovement.objects.get(lot=lot)
    partition = partition_name("inventory_stockmovement", month_start(movement.at.date()))
    assert _row_in(partition, movement.pk)
    for sql in ("UPDATE {t} SET quantity = 1 WHERE id = %s", "DELETE FROM {t} WHERE id = %s"):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql.format(t=partition), [movement.pk])
    assert StockMovement.objects.get(pk=movement.pk).quantity == movement.quantity


def test_a_date_filter_on_the_audit_log_scans_only_its_month(users, old_event):
    # Given an auditor's search of three days in the middle of a month fourteen months ago
    day = old_event.at.date().replace(day=10)
    filters = AuditFilters(date_from=day, date_to=day + dt.timedelta(days=2))
    qs = audit_events(actor_for(users["auditor"]), filters=filters)
    sql, params = qs.query.sql_with_params()

    # Then only that month's partition is in the plan (not the others, not the DEFAULT one)
    assert _scanned(sql, list(params)) == {partition_name("access_auditevent", month_start(day))}
    # and without a date filter every partition is
    unfiltered_sql, unfiltered_params = audit_events(
        actor_for(users["auditor"]), filters=AuditFilters()
    ).query.sql_with_params()
    assert len(_scanned(unfiltered_sql, list(unfiltered_params))) == len(
        _partitions("access_auditevent")
    )


def test_a_ledger_period_scans_only_its_months():
    this_month = month_start(timezone.now().date())
    start = dt.datetime.combine(add_months(this_month, -3), dt.time(), UTC)
    end = dt.datetime.combine(add_months(this_month, -1), dt.time(), UTC)
    qs = StockMovement.objects.filter(at__gte=start, at__lt=end)
    sql, params = qs.query.sql_with_params()
    assert _scanned(sql, list(params)) == {
        partition_name("inventory_stockmovement", add_months(this_month, -3)),
        partition_name("inventory_stockmovement", add_months(this_month, -2)),
    }


def test_lookups_by_id_still_work(old_event):
    assert AuditEvent.objects.get(pk=old_event.pk).resource_id == "x"
    assert AuditEvent.objects.filter(id__in=[old_event.pk]).count() == 1


def test_ensure_creates_the_months_ahead_once_with_their_triggers():
    # Given a clock two years ahead
    later = add_months(month_start(timezone.now().date()), 30)
    created = ensure(connection, months_ahead=2, today=later)

    # Then three months were created per table, each refusing changes like the others
    assert sorted(created) == sorted(
        partition_name(t, add_months(later, n)) for t in PARTITIONED for n in range(3)
    )
    assert ensure(connection, months_ahead=2, today=later) == []
    partition = partition_name("access_auditevent", later)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_trigger WHERE tgrelid = %s::regclass", [partition])
        assert cursor.fetchone()[0] == 2  # row trigger (cloned) + TRUNCATE trigger (copied)


def test_the_command_ensures_and_lists(capsys):
    call_command("partitions", "ensure", "--months-ahead", "5")
    this_month = month_start(timezone.now().date())
    assert partition_name("access_auditevent", add_months(this_month, 5)) in _partitions(
        "access_auditevent"
    )
    call_command("partitions", "list")
    out = capsys.readouterr().out
    assert "access_auditevent" in out and "inventory_stockmovement" in out


def test_archive_keeps_what_retention_requires_and_archives_the_rest(users, tmp_path, settings):
    # Given a retention of five years and a row of six years ago, and one of fourteen months ago
    settings.BIENESTAR_RETENTION_YEARS = 5
    settings.BIENESTAR_ARCHIVE_DIR = tmp_path
    six_years_ago = dt.datetime.combine(
        add_months(month_start(timezone.now().date()), -72), dt.time(8), UTC
    )
    call_command("partitions", "ensure", "--from", six_years_ago.date().isoformat())
    old = audit_record(
        actor_for(users["clinician"]), action="read", resource_type="Person", at=six_years_ago
    )
    recent = audit_record(
        actor_for(users["clinician"]),
        action="read",
        resource_type="Person",
        at=timezone.now() - dt.timedelta(days=420),
    )
    old_partition = partition_name("access_auditevent", month_start(six_years_ago.date()))

    # When the archive runs
    call_command("partitions", "archive")

    # Then the old month is detached, written to a file and recorded; the recent one stays
    record = PartitionArchive.objects.get(partition=old_partition)
    assert record.rows == 1
    assert old_partition not in _partitions("access_auditevent")
    with gzip.open(record.file, "rt") as handle:
        lines = handle.read().splitlines()
    assert len(lines) == 2 and str(old.pk) in lines[1]
    assert not AuditEvent.objects.filter(pk=old.pk).exists()
    assert AuditEvent.objects.filter(pk=recent.pk).exists()
    # The detached table is kept (not dropped) unless asked
    assert _row_in(old_partition, old.pk)


def test_retention_below_the_legal_minimum_is_refused(settings):
    from django.core.management.base import CommandError

    settings.BIENESTAR_RETENTION_YEARS = 2
    with pytest.raises(CommandError, match="NOM-004"):
        call_command("partitions", "archive")


def test_the_nightly_job_creates_the_partitions_ahead():
    from procrastinate.contrib.django import app

    from bienestar.jobs.models import Job
    from bienestar.jobs.runner import run_inline

    # Registered once with the scheduler, at the nightly hour
    assert ("ops.partitions_ensure", "") in app.periodic_registry.periodic_tasks
    # and, run, it leaves every month up to DEFAULT_MONTHS_AHEAD in place
    with connection.cursor() as cursor:
        ahead = partition_name(
            "access_auditevent", add_months(month_start(timezone.now().date()), 3)
        )
        cursor.execute(f'DROP TABLE "{ahead}"')
    job = Job.objects.create(kind="ops.partitions_ensure", title="t", params={"timestamp": 0})
    job = run_inline(job)
    assert job.status == "succeeded", job.error
    assert ahead in _partitions("access_auditevent")


def test_archive_dry_run_changes_nothing_and_drop_removes_the_detached_month(
    users, tmp_path, settings, capsys
):
    settings.BIENESTAR_RETENTION_YEARS = 5
    settings.BIENESTAR_ARCHIVE_DIR = tmp_path
    long_ago = dt.datetime.combine(
        add_months(month_start(timezone.now().date()), -80), dt.time(8), UTC
    )
    call_command("partitions", "ensure", "--from", long_ago.date().isoformat())
    audit_record(actor_for(users["clinician"]), action="read", resource_type="Person", at=long_ago)
    partition = partition_name("access_auditevent", month_start(long_ago.date()))

    call_command("partitions", "archive", "--dry-run")
    assert f"se archivaría {partition}" in capsys.readouterr().out
    assert partition in _partitions("access_auditevent")
    assert not PartitionArchive.objects.exists()

    call_command("partitions", "archive", "--drop")
    record = PartitionArchive.objects.get(partition=partition)
    assert record.dropped and record.rows == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [partition])
        assert cursor.fetchone()[0] is None
