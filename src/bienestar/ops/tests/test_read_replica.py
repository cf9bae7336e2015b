"""Read replica routing against a real streaming replica (ADR 0010).

A primary this module controls (initdb) gets the test database's schema; `pg_basebackup -R` makes a
replica of it that streams; the Django aliases `default` and `replica` are pointed at the two servers
for the duration of each test. Lag-tolerant selectors must be served by the server in recovery;
a request that writes must read its write back from the primary.
"""

from __future__ import annotations

import copy
import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from bienestar.access.models import AuditEvent
from bienestar.access.roles import Role
from bienestar.access.selectors import AuditFilters, audit_export, audit_page
from bienestar.access.tests.api_client import ApiClient
from bienestar.access.tests.factories import UserFactory, actor_for
from bienestar.core.db_routing import (
    PIN_COOKIE,
    PRIMARY,
    REPLICA,
    ReadScopeMiddleware,
    read_alias,
    read_scope,
)
from bienestar.facilities.models import Facility
from bienestar.facilities.selectors import facilities_list
from bienestar.facilities.tests.factories import FacilityFactory
from bienestar.ops.tests.pg_pair import StreamingPair, pg_bin, start_pair
from bienestar.territories.tests.factories import mexico

# transaction=True: the suite's test database must exist (its schema is copied), and no test
# transaction may wrap the connections this module points elsewhere.
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

DB_NAME = "bienestar_replica_test"


def _schema_of_test_database() -> bytes:
    """The suite's test database schema (tables, triggers, functions), as pg_dump writes it."""
    s = connections[PRIMARY].settings_dict
    args = [str(pg_bin() / "pg_dump"), "--schema-only", "--no-owner", "--no-privileges"]
    if s.get("HOST"):
        args += ["-h", s["HOST"]]
    if s.get("PORT"):
        args += ["-p", str(s["PORT"])]
    args += ["-U", s.get("USER") or "postgres", s["NAME"]]
    done = subprocess.run(args, check=True, capture_output=True)
    # Per-column attribute options are storage hints, and a server may carry ones another release
    # does not know (this machine's PostgreSQL 15 has `pg_attver`): the copy does without them.
    lines = done.stdout.splitlines(keepends=True)
    return b"".join(
        line for line in lines if not re.match(rb"ALTER TABLE .* ALTER COLUMN .* SET \(", line)
    )


@pytest.fixture(scope="module")
def pair(django_db_setup: Any, django_db_blocker: Any) -> Iterator[StreamingPair]:
    with django_db_blocker.unblock():
        schema = _schema_of_test_database()
    started = time.monotonic()
    pair = start_pair()
    try:
        pair.primary.query(f'CREATE DATABASE "{DB_NAME}"')
        loaded = subprocess.run(
            [str(pg_bin() / "psql"), "-q", "-v", "ON_ERROR_STOP=1", pair.primary.url(DB_NAME)],
            input=schema,
            capture_output=True,
        )
        assert loaded.returncode == 0, loaded.stderr.decode()
        pair.wait_replayed()
        pair.setup_seconds = time.monotonic() - started  # type: ignore[attr-defined]
        yield pair
    finally:
        pair.stop()


def _alias_settings(base: dict[str, Any], port: int, *, read_only: bool) -> dict[str, Any]:
    out = copy.deepcopy(base)
    out.update(HOST="127.0.0.1", PORT=port, NAME=DB_NAME, USER="postgres", PASSWORD="")
    out["CONN_MAX_AGE"] = 0
    out["OPTIONS"] = {"options": "-c default_transaction_read_only=on"} if read_only else {}
    out["TEST"] = {"MIRROR": PRIMARY} if read_only else out.get("TEST", {})
    return out


@contextmanager
def pointed_at(pair: StreamingPair, django_db_blocker: Any) -> Iterator[None]:
    """`default` → the pair's primary, `replica` → its replica, as DATABASE_REPLICA_URL would."""
    databases = settings.DATABASES
    saved = {alias: databases.get(alias) for alias in (PRIMARY, REPLICA)}
    saved_conns = {alias: getattr(connections._connections, alias, None) for alias in saved}
    base = databases[PRIMARY]
    databases[PRIMARY] = _alias_settings(base, pair.primary.port, read_only=False)
    databases[REPLICA] = _alias_settings(base, pair.replica.port, read_only=True)
    for alias in (PRIMARY, REPLICA):
        connections[alias] = connections.create_connection(alias)
    try:
        with django_db_blocker.unblock():
            yield
    finally:
        for alias in (PRIMARY, REPLICA):
            connections[alias].close()
        for alias, value in saved.items():
            if value is None:
                del databases[alias]
            else:
                databases[alias] = value
        for alias, conn in saved_conns.items():
            if conn is None:
                del connections[alias]
            else:
                connections[alias] = conn


@pytest.fixture
def on_pair(pair: StreamingPair, django_db_blocker: Any) -> Iterator[StreamingPair]:
    with pointed_at(pair, django_db_blocker):
        yield pair
        tables = "facilities_facility, access_user, territories_territory"
        pair.primary.query(
            f"SET bienestar.allow_audit_truncate = 'on'; TRUNCATE {tables} CASCADE", DB_NAME
        )


def _server_of(alias: str) -> tuple[bool, int]:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery(), inet_server_port()")
        in_recovery, port = cursor.fetchone()
    return in_recovery, port


def test_a_lag_tolerant_list_is_served_by_the_replica(on_pair: StreamingPair) -> None:
    # Given a facility written on the primary and replayed on the replica
    country = mexico()
    FacilityFactory(clues="OCIMB000001", name="Centro de Salud Réplica", territory=country)
    user = UserFactory(role=Role.CLINICIAN, territory=country)
    lag = on_pair.wait_replayed()

    # When a lag-tolerant selector reads in a request scope that has not written
    with read_scope():
        qs = facilities_list(actor_for(user))
        names = [f.name for f in qs]

    # Then the replica answered it: a server in recovery, on the replica's port
    assert qs.db == REPLICA
    assert names == ["Centro de Salud Réplica"]
    assert _server_of(REPLICA) == (True, on_pair.replica.port)
    assert _server_of(PRIMARY) == (False, on_pair.primary.port)
    assert lag < 5, f"replay lag {lag:.3f} s"


def test_the_api_door_reads_the_list_from_the_replica(on_pair: StreamingPair) -> None:
    country = mexico()
    FacilityFactory(clues="OCIMB000002", name="Hospital de la Réplica", territory=country)
    client = ApiClient(UserFactory(role=Role.CLINICIAN, territory=country))
    on_pair.wait_replayed()

    with CaptureQueriesContext(connections[REPLICA]) as on_replica:
        response = client.get("/api/facilities/")

    assert response.status_code == 200, response.content
    assert [f["name"] for f in response.json()["items"]] == ["Hospital de la Réplica"]
    assert any("facilities_facility" in q["sql"] for q in on_replica.captured_queries)
    assert PIN_COOKIE not in response.cookies  # an audited, token-checked GET wrote nothing of note


def test_a_request_that_writes_reads_its_write_from_the_primary(on_pair: StreamingPair) -> None:
    # Given a replica that lags: replay paused, so anything written now is invisible there
    country = mexico()
    user = UserFactory(role=Role.CLINICIAN, territory=country)
    on_pair.wait_replayed()
    on_pair.replica.query("SELECT pg_wal_replay_pause()")
    seen: dict[str, Any] = {}

    def view(request: HttpRequest) -> HttpResponse:
        FacilityFactory(clues="OCIMB000003", name="Recién creada", territory=country)
        qs = facilities_list(actor_for(user))
        seen["db"], seen["names"] = qs.db, [f.name for f in qs]
        return HttpResponse("ok")

    def later(request: HttpRequest) -> HttpResponse:
        qs = facilities_list(actor_for(user))
        seen["later_db"], seen["later_names"] = qs.db, [f.name for f in qs]
        return HttpResponse("ok")

    try:
        # When a request writes a facility, then lists facilities
        response = ReadScopeMiddleware(view)(RequestFactory().post("/x"))

        # Then it sees its write: the list came from the primary
        assert seen == {"db": PRIMARY, "names": ["Recién creada"]}
        # ...while the replica really does lag behind
        with connections[REPLICA].cursor() as cursor:
            cursor.execute("SELECT count(*) FROM facilities_facility")
            assert cursor.fetchone()[0] == 0

        # And the browser's next page (the redirect after the POST) stays on the primary too
        assert response.cookies[PIN_COOKIE]["max-age"] == settings.BIENESTAR_REPLICA_PIN_SECONDS
        follow = RequestFactory().get("/y")
        follow.COOKIES[PIN_COOKIE] = "1"
        ReadScopeMiddleware(later)(follow)
        assert seen["later_db"] == PRIMARY
        assert seen["later_names"] == ["Recién creada"]

        # While a GET without the cookie reads the (lagging) replica
        ReadScopeMiddleware(later)(RequestFactory().get("/z"))
        assert (seen["later_db"], seen["later_names"]) == (REPLICA, [])
    finally:
        on_pair.replica.query("SELECT pg_wal_replay_resume()")
    on_pair.wait_replayed()
    ReadScopeMiddleware(later)(RequestFactory().get("/z"))
    assert (seen["later_db"], seen["later_names"]) == (REPLICA, ["Recién creada"])


def test_a_get_that_writes_pins_itself_but_audit_rows_do_not(on_pair: StreamingPair) -> None:
    country = mexico()
    user = UserFactory(role=Role.AUDITOR, territory=country)
    FacilityFactory(clues="OCIMB000004", name="Centro", territory=country)
    on_pair.wait_replayed()
    seen: list[str] = []

    def view(request: HttpRequest) -> HttpResponse:
        audit_page(actor_for(user), filters=AuditFilters())  # reads, and writes its audit row
        seen.append(read_alias())
        exported = audit_export(actor_for(user), filters=AuditFilters())  # a server-side cursor
        list(exported)
        seen.append(read_alias())
        Facility.objects.filter(clues="OCIMB000004").update(name="Centro renombrado")
        seen.append(read_alias())
        return HttpResponse("ok")

    response = ReadScopeMiddleware(view)(RequestFactory().get("/x"))

    assert seen == [REPLICA, REPLICA, PRIMARY]
    assert PIN_COOKIE in response.cookies
    assert AuditEvent.objects.filter(actor_username=user.username).count() == 2


def test_without_a_replica_everything_reads_the_primary(on_pair: StreamingPair) -> None:
    replica = settings.DATABASES.pop(REPLICA)
    try:
        with read_scope():
            assert facilities_list(actor_for(UserFactory(territory=mexico()))).db == PRIMARY
    finally:
        settings.DATABASES[REPLICA] = replica
