"""FHIR over HTTP against `bienestar serve`, started here on a free loopback port.

`fhir_patient_read_p50_ms`: one client on one keep-alive connection reads Patient resources by id
(baseline: the same person row read in raw SQL through psycopg, also on one open connection). The
HTTP figure includes what the raw one does not: HTTP parsing, token check, scoping, audit row,
the FHIR mapping and JSON. The client is one Python thread doing nothing but waiting, so it costs
the server almost no CPU.
"""

from __future__ import annotations

import http.client
import os

from django.db import connection

from bienestar.ops.bench import server as server_mod
from bienestar.ops.bench.common import Metric, metric, percentile, raw_connection, timed_ms


def _token(role: str) -> str:
    from bienestar.access.models import User
    from bienestar.access.tokens import token_create
    from bienestar.territories.models import Territory

    user, _ = User.objects.update_or_create(
        username=f"bench-{role}",
        defaults={"role": role, "territory": Territory.objects.get(path="MX"), "is_active": True},
    )
    _row, plain = token_create(user=user, name="bench")
    return plain


def _sample_ids(n: int) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT public_id::text FROM people_person TABLESAMPLE SYSTEM (5) "
            "WHERE status = 'active' LIMIT %s",
            [n],
        )
        ids = [r[0] for r in cursor.fetchall()]
        if len(ids) < n:
            cursor.execute(
                "SELECT public_id::text FROM people_person WHERE status = 'active' LIMIT %s", [n]
            )
            ids = [r[0] for r in cursor.fetchall()]
    return ids


def fhir_metrics(
    samples: int, crud_seconds: float = 0, seed: int = 1
) -> tuple[dict[str, Metric], str]:
    """Returns the metrics measured and, when FHIR is not usable yet, why it was skipped."""
    from bienestar.access.roles import Role

    ids = _sample_ids(samples)
    if not ids:
        return {}, "no person in the network"
    token = _token(Role.INTEGRATOR)
    connection.close()
    srv = server_mod.start(os.environ["DATABASE_URL"], workers=2, threads=4)
    try:
        conn = http.client.HTTPConnection(server_mod.HOST, srv.port, timeout=30)
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"}

        def read(pid: str) -> int:
            conn.request("GET", f"/fhir/Patient/{pid}", headers=headers)
            response = conn.getresponse()
            body = response.read()
            if response.status != 200 or b'"Patient"' not in body:
                raise LookupError(f"GET /fhir/Patient/{{id}} answered {response.status}")
            return len(body)

        try:
            for pid in ids[: min(20, len(ids))]:  # warm both workers' caches and connections
                read(pid)
        except (LookupError, OSError) as exc:
            return {}, f"/fhir/Patient/{{id}} does not answer yet ({exc})"
        it = iter(ids * 2)
        app = timed_ms(lambda: read(next(it)), len(ids))
        conn.close()
    finally:
        srv.stop()
    raw = raw_connection()
    try:
        it = iter(ids * 2)
        base = timed_ms(
            lambda: raw.execute(
                "SELECT * FROM people_person WHERE public_id = %s", [next(it)]
            ).fetchall(),
            len(ids),
        )
    finally:
        raw.close()
    notes = (
        f"{len(ids)} reads of /fhir/Patient/{{id}} by one client on one keep-alive HTTP/1.1 "
        f"connection, against bienestar serve (gunicorn, 2 workers x 4 threads) started by the bench; "
        f"p95 {percentile(app, 95):.2f} ms; baseline: SELECT of the same person row in raw SQL "
        f"through psycopg"
    )
    found = {
        "fhir_patient_read_p50_ms": metric(percentile(app, 50), "ms", percentile(base, 50), notes)
    }
    if crud_seconds <= 0:
        return found, ""
    from bienestar.ops.bench.crud import crud_mix

    crud, why = crud_mix(crud_seconds, token, seed)
    found.update(crud)
    return found, why
