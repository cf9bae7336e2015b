"""`fhir_transaction_import_res_per_s`: transaction Bundles of ~100 resources posted to `POST /fhir/`
by 8 concurrent clients against `bienestar serve`, resources committed per second.

Each Bundle holds 10 Patients, each with 3 Encounters and 6 Observations (2 per Encounter), the
Encounters and Observations referring to their Patient and Encounter by `urn:uuid` fullUrls, as
the server resolves them (fhir/bundles.py). The resources are copies of a Patient, one of its
Encounters and one of that Encounter's Observations as the server itself returned them, without
their ids and business identifiers (each created Patient gets a new national health ID), so every
entry is a create. The load generator is wrk with `bench/fhir_transaction.lua`, which makes every
Bundle's fullUrls unique to the request. The rate counts the resources of the Bundles answered
200 in wrk's measured time; the row counts of the person, encounter and observation tables
before and after (once the server has finished what it had in hand) must account for them.

Baseline: the same rows written in raw SQL by pgbench, 8 clients for the same time, one
transaction per Bundle: `INSERT … SELECT` of 10 person rows, 30 encounter rows and 60 observation
rows (copies of existing rows with fresh unique values) into copies of the three tables
(`LIKE … INCLUDING ALL`: same indexes and constraints, dropped afterwards).

Afterwards the created records are removed (cleanup.py), so the network keeps its size.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from django.db import connection

from bienestar.ops.bench import cleanup
from bienestar.ops.bench import server as server_mod
from bienestar.ops.bench.common import Metric, metric, raw_connection
from bienestar.ops.bench.crud import (
    _columns,
    _lua_string,
    _run_wrk,
    ensure_wrk,
    find_pgbench,
    run_pgbench,
)

CLIENTS = 8
WORKERS, THREADS = 4, 8  # gunicorn, as for the CRUD mix
PATIENTS_PER_BUNDLE = 10
ENCOUNTERS_PER_PATIENT = 3
OBSERVATIONS_PER_ENCOUNTER = 2
MARKER = "RQRQRQRQ"  # replaced per request by the Lua script (8 hex digits)
LUA = Path(__file__).resolve().parents[4] / "bench" / "fhir_transaction.lua"
TIMEOUT_S = 120


def entries_per_bundle() -> int:
    return PATIENTS_PER_BUNDLE * (1 + ENCOUNTERS_PER_PATIENT * (1 + OBSERVATIONS_PER_ENCOUNTER))


def _template_ids() -> tuple[str, str, str] | None:
    """A Patient with an Encounter that has a plain Observation (a value, not a panel), taken from
    the generated network (lowest ids, not what earlier runs created)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT p.public_id::text, e.public_id::text, o.public_id::text
               FROM clinical_observation o
               JOIN clinical_encounter e ON e.id = o.encounter_id
               JOIN people_person p ON p.id = e.person_id
               WHERE o.panel_id IS NULL AND p.status = 'active'
                 AND NOT EXISTS (SELECT 1 FROM clinical_observation c WHERE c.panel_id = o.id)
               ORDER BY o.id LIMIT 1"""
        )
        row = cursor.fetchone()
    return (row[0], row[1], row[2]) if row else None


def _last_created(before: dict[str, int]) -> float | None:
    """When the last row above the marks was written (epoch seconds), None when there is none."""
    raw = raw_connection()
    try:
        moments = [
            raw.execute(f"SELECT max(created_at) FROM {table} WHERE id > %s", [mark]).fetchone()[0]  # noqa: S608 - constant names
            for table, mark in before.items()
        ]
    finally:
        raw.close()
    found = [m.timestamp() for m in moments if m is not None]
    return max(found) if found else None


def _strip(resource: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in resource.items() if k not in ("id", "meta", "identifier", "text")}


def build_bundle(
    patient: dict[str, Any], encounter: dict[str, Any], observation: dict[str, Any]
) -> dict[str, Any]:
    """The Bundle template: fullUrls `urn:uuid:RQRQRQRQ-0000-4000-8000-<n>`."""
    entries: list[dict[str, Any]] = []
    n = 0

    def urn() -> str:
        nonlocal n
        n += 1
        return f"urn:uuid:{MARKER}-0000-4000-8000-{n:012x}"

    def add(full_url: str, resource: dict[str, Any]) -> None:
        entries.append(
            {
                "fullUrl": full_url,
                "resource": resource,
                "request": {"method": "POST", "url": resource["resourceType"]},
            }
        )

    for _p in range(PATIENTS_PER_BUNDLE):
        p_url = urn()
        add(p_url, _strip(patient))
        for _e in range(ENCOUNTERS_PER_PATIENT):
            e_url = urn()
            add(e_url, dict(_strip(encounter), subject={"reference": p_url}))
            for _o in range(OBSERVATIONS_PER_ENCOUNTER):
                add(
                    urn(),
                    dict(
                        _strip(observation),
                        subject={"reference": p_url},
                        encounter={"reference": e_url},
                    ),
                )
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def _prepare(srv: server_mod.Server, token: str) -> tuple[Path, str]:
    ids = _template_ids()
    if ids is None:
        return Path(), "the network has no encounter with an observation"
    connection.close()
    conn = http.client.HTTPConnection(server_mod.HOST, srv.port, timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"}
    resources = []
    try:
        for kind, rid in zip(("Patient", "Encounter", "Observation"), ids, strict=True):
            conn.request("GET", f"/fhir/{kind}/{rid}", headers=headers)
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                raise LookupError(f"GET /fhir/{kind}/{{id}} answered {response.status}")
            resources.append(json.loads(body))
    finally:
        conn.close()
    bundle = json.dumps(build_bundle(*resources))
    folder = Path(tempfile.mkdtemp(prefix="bienestar-tx-"))
    path = folder / "data.lua"
    path.write_text(
        f"return {{\n  token = {json.dumps(token)},\n  bundle = {_lua_string(bundle)},\n}}\n"
    )
    path.chmod(0o600)  # it holds a bearer token
    return path, ""


# --- Baseline: the same rows through pgbench ------------------------------------------------------

COPIES = {
    "bench_tx_person": ("people_person", ""),
    "bench_tx_encounter": ("clinical_encounter", ""),
    "bench_tx_observation": ("clinical_observation", "AND panel_id IS NULL "),
}
FRESH = {
    "public_id": "gen_random_uuid()",
    "national_health_id": "substr(md5(random()::text), 1, 11)",
    "created_at": "now()",
    "updated_at": "now()",
}


def _drop_copies(raw: Any) -> None:
    raw.execute(f"DROP TABLE IF EXISTS {', '.join(COPIES)}")


def _baseline_script(raw: Any) -> tuple[str, int]:
    """One pgbench transaction = the rows of one Bundle."""
    rows = {
        "bench_tx_person": PATIENTS_PER_BUNDLE,
        "bench_tx_encounter": PATIENTS_PER_BUNDLE * ENCOUNTERS_PER_PATIENT,
        "bench_tx_observation": PATIENTS_PER_BUNDLE
        * ENCOUNTERS_PER_PATIENT
        * OBSERVATIONS_PER_ENCOUNTER,
    }
    lines = ["BEGIN;"]
    for var, (copy, (table, where)) in enumerate(COPIES.items()):
        raw.execute(f"CREATE TABLE {copy} (LIKE {table} INCLUDING ALL)")
        need = rows[copy]
        lo = raw.execute(f"SELECT min(id) FROM {table} WHERE true {where}").fetchone()[0]  # noqa: S608 - constant names
        # The highest id from which `need` rows still follow, so every transaction writes them all.
        hi = raw.execute(
            f"SELECT id FROM {table} WHERE true {where}ORDER BY id DESC OFFSET %s LIMIT 1",  # noqa: S608 - constant names
            [need - 1],
        ).fetchone()
        if lo is None or hi is None:
            raise LookupError(f"{table} has fewer than {need} rows")
        cols = [c for c in _columns(raw, table) if c != "id"]
        names = ", ".join(f'"{c}"' for c in cols)
        select = ", ".join(FRESH.get(c, f'"{c}"') for c in cols)
        lines.append(f"\\set v{var} random({int(lo)}, {int(hi[0])})")
        lines.append(
            f"INSERT INTO {copy} ({names}) SELECT {select} FROM {table} "  # noqa: S608 - catalogue names
            f"WHERE id >= :v{var} {where}ORDER BY id LIMIT {need};"
        )
    lines.append("COMMIT;")
    return "\n".join(lines) + "\n", sum(rows.values())


def _run_pgbench(pgbench: str, seconds: float) -> dict[str, Any]:
    raw = raw_connection()
    folder = Path(tempfile.mkdtemp(prefix="bienestar-pgbench-tx-"))
    try:
        _drop_copies(raw)
        script, per_tx = _baseline_script(raw)
        (folder / "bundle.sql").write_text(script)
        duration = max(1, int(seconds))
        argv = [
            pgbench,
            "-n",
            "-c",
            str(CLIENTS),
            "-j",
            "2",
            "-T",
            str(duration),
            "-f",
            str(folder / "bundle.sql"),
            os.environ["DATABASE_URL"],
        ]
        _out, generator_cpu = run_pgbench(argv, seconds)
        written = sum(
            int(raw.execute(f"SELECT count(*) FROM {copy}").fetchone()[0])  # noqa: S608 - constant names
            for copy in COPIES
        )
        return {
            "rows": written,
            "transactions": written // per_tx,
            "seconds": duration,
            "rate": written / duration,
            "generator_cpu": generator_cpu,
        }
    finally:
        _drop_copies(raw)
        raw.close()
        shutil.rmtree(folder, ignore_errors=True)


def transaction_import(seconds: float, token: str) -> tuple[dict[str, Metric], str]:
    """Returns the metric and, when it could not be measured, why."""
    wrk, why = ensure_wrk()
    if wrk is None:
        return {}, why
    pgbench = find_pgbench()
    if pgbench is None:
        return {}, "pgbench (the baseline's load generator) is not installed"
    connection.close()
    before, rows_before = cleanup.marks(), cleanup.counts()
    srv = server_mod.start(os.environ["DATABASE_URL"], workers=WORKERS, threads=THREADS)
    data = Path()
    try:
        data, why = _prepare(srv, token)
        if why:
            return {}, why
        started = time.time()
        app = _run_wrk(wrk, srv, data, seconds, lua=LUA, clients=CLIENTS, timeout_s=TIMEOUT_S)
    except (LookupError, OSError, RuntimeError) as exc:
        return {}, f"the FHIR transaction import did not run: {exc}"
    finally:
        srv.stop()  # graceful: the Bundles in hand are finished (committed) before it exits
        if data.name:
            shutil.rmtree(data.parent, ignore_errors=True)
    rows_after = cleanup.counts()
    committed = sum(rows_after.values()) - sum(rows_before.values())
    last = _last_created(before)
    removed = cleanup.remove_since(before)
    try:
        base = _run_pgbench(pgbench, seconds)
    except (LookupError, OSError, RuntimeError) as exc:
        return {}, f"the raw-SQL baseline did not run: {exc}"
    per_bundle = entries_per_bundle()
    wall = app["duration_us"] / 1e6
    answered = app["requests"] - app["status_errors"]
    resources = answered * per_bundle
    if committed < resources or committed % per_bundle:
        return {}, (
            f"UNEXPECTED: {answered} Bundles answered 200 but {committed} resources committed "
            f"(the rows do not account for the answers, or a Bundle was half written)"
        )
    # Every committed resource, from the first request to the last row written (the Bundles in
    # flight when wrk stopped included): answered-in-wrk's-time alone would leave out the work of
    # up to 8 unfinished Bundles, a large share of a run whose Bundles take seconds each.
    span = (last - started) if last else wall
    rate = committed / span if span > 0 else 0.0
    answered_rate = resources / wall if wall else 0.0
    cores = os.cpu_count() or 1
    generator_cores = app["generator_cpu"] / app["wall"] if app["wall"] else 0.0
    sockets = app["connect_errors"] + app["read_errors"] + app["write_errors"]
    notes = (
        f"wrk -t2 -c{CLIENTS} for {wall:.0f} s with bench/fhir_transaction.lua: transaction Bundles "
        f"of {per_bundle} POST entries ({PATIENTS_PER_BUNDLE} Patients, each with "
        f"{ENCOUNTERS_PER_PATIENT} Encounters and {ENCOUNTERS_PER_PATIENT * OBSERVATIONS_PER_ENCOUNTER}"
        f" Observations, linked by urn:uuid) to POST /fhir/ against bienestar serve (gunicorn "
        f"{WORKERS} workers x {THREADS} threads) on this {cores}-core machine; {answered} Bundles "
        f"answered 200 "
        f"({resources} resources) in wrk's time, {app['status_errors']} answered 4xx/5xx, "
        f"{app['timeouts']} timed out ({TIMEOUT_S} s), {sockets} socket errors; p50 "
        f"{app['p50_us'] / 1e6:.2f} s, p99 {app['p99_us'] / 1e6:.2f} s per Bundle; rows counted "
        f"before/after: {committed} resources committed (the answered Bundles plus those in flight "
        f"when wrk stopped, which the server finished); value = committed resources / {span:.1f} s "
        f"from the first request to the last row written (answered Bundles alone: "
        f"{answered_rate:.1f} res/s over wrk's {wall:.0f} s); the records were then removed "
        f"({sum(removed.values())} rows in {len(removed)} tables); load generator CPU "
        f"{generator_cores:.2f} cores, server processes {app['server_cpu'] / app['wall']:.2f} "
        f"cores; {rate / max(0.1, cores - generator_cores):.0f} res/s per core left to server + "
        f"database; baseline: the same rows in raw SQL by pgbench, {CLIENTS} clients, one "
        f"transaction per Bundle (INSERT … SELECT of {per_bundle} rows into copies of the person, "
        f"encounter and observation tables), {base['transactions']} transactions "
        f"({base['rows']} rows) in {base['seconds']} s, pgbench CPU "
        f"{base['generator_cpu'] / base['seconds']:.2f} cores"
    )
    return {
        "fhir_transaction_import_res_per_s": metric(rate, "res/s", base["rate"], notes),
    }, ""
