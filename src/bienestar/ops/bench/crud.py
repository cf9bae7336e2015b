"""`fhir_crud_mix_rps` and `fhir_crud_mix_p99_ms`: 32 concurrent clients doing a create/read/update/
search mix of Patient, Encounter and Observation against `bienestar serve` for a fixed time.

The load generator is wrk (C, one event loop per thread) with `bench/fhir_crud_mix.lua`, which
holds the mix. `make bench` installs wrk from Debian's packages (bench/install-tools.sh) when it is
missing; without it the metrics are skipped with the reason.

Baseline: the same mix of statements in raw SQL, run by pgbench (also C) with 32 clients for the
same time: primary-key reads of the same tables, INSERT … SELECT of a whole row into copies of the
tables (`LIKE … INCLUDING ALL`: same indexes and constraints, dropped afterwards), an UPDATE of a
copied person row, and the searches as the FHIR API runs them (a word of the name starts with the
surname, first by id; a person's observations and encounters, newest first), LIMIT 10.

CPU accounting: the CPU time of the load generator (wrk or pgbench, from the kernel's accounting of
the finished child process) and of the server's processes is measured, and the notes give the
throughput per core that the server and the database actually had (2 cores minus the load
generator's share). The database's own CPU is inside that share, as it is for the other servers'
published figures only when their database ran on the same cores (see bench/README.md).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.db import connection

from bienestar.ops.bench import server as server_mod
from bienestar.ops.bench.common import Metric, metric, percentile, raw_connection


def python_plain(text: str) -> str:
    """Lower case without accents: how `name_search` stores names."""
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


CLIENTS = 32
SEARCH_SCRIPTS = 10
LUA = Path(__file__).resolve().parents[4] / "bench" / "fhir_crud_mix.lua"
# The mix, per 100 requests, as in bench/fhir_crud_mix.lua (name: weight).
MIX = {
    "create_patient": 5,
    "create_encounter": 5,
    "create_observation": 5,
    "read_patient": 15,
    "read_encounter": 15,
    "read_observation": 15,
    "update_patient": 10,
    "search_patient": 10,
    "search_observation": 10,
    "search_encounter": 10,
}


def ensure_wrk() -> tuple[str | None, str]:
    """The wrk binary, or (None, why not). The package never installs it: `make bench` runs
    `bench/install-tools.sh` first."""
    found = shutil.which("wrk")
    if found:
        return found, ""
    return None, "wrk is not installed (bench/install-tools.sh, or apt-get install wrk)"


def find_pgbench() -> str | None:
    found = shutil.which("pgbench")
    if found:
        return found
    try:
        from bienestar.config.database import _import_embedded

        path = Path(_import_embedded()._commands.POSTGRES_BIN_PATH) / "pgbench"
        return str(path) if path.exists() else None
    except Exception:
        return None


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _server_cpu(srv: server_mod.Server) -> float:
    import psutil

    total = 0.0
    for pid in [srv.process.pid, *srv.worker_pids()]:
        try:
            t = psutil.Process(pid).cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def _lua_string(value: str) -> str:
    return "[==[" + value + "]==]"


def _lua_list(values: list[str]) -> str:
    """ASCII values only (ids, percent-encoded names): Lua 5.1 has no \\u escapes."""
    return "{" + ", ".join(json.dumps(v) for v in values) + "}"


def _sample(sql: str, n: int) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(sql, [n])
        return [str(r[0]) for r in cursor.fetchall()]


def _prepare_lua_data(srv: server_mod.Server, token: str, seed: int) -> tuple[Path, str]:
    """Ids, surnames and bodies for the Lua script; bodies are resources the server returned.
    The generated network's rows (lowest ids), not what earlier runs of the mix created."""
    patients = _sample(
        "SELECT public_id FROM people_person WHERE status = 'active' ORDER BY id LIMIT %s", 500
    )
    encounters = _sample("SELECT public_id FROM clinical_encounter ORDER BY id LIMIT %s", 500)
    observations = _sample(
        "SELECT public_id FROM clinical_observation WHERE panel_id IS NULL ORDER BY id LIMIT %s",
        500,
    )
    surnames = _sample(
        "SELECT DISTINCT first_surname FROM (SELECT first_surname FROM people_person "
        "ORDER BY id LIMIT 5000) s LIMIT %s",
        200,
    )
    if not (patients and encounters and observations and surnames):
        return Path(), "the network has no encounters or observations to read"
    connection.close()
    conn = http.client.HTTPConnection(server_mod.HOST, srv.port, timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"}

    def get(path: str) -> dict[str, Any]:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise LookupError(f"GET {path.split('/')[2]} answered {response.status}")
        data: dict[str, Any] = json.loads(body)
        return data

    def strip(resource: dict[str, Any], *keys: str) -> str:
        return json.dumps({k: v for k, v in resource.items() if k not in ("id", "meta", *keys)})

    try:
        patient = get(f"/fhir/Patient/{patients[0]}")
        encounter = get(f"/fhir/Encounter/{encounters[0]}")
        observation = get(f"/fhir/Observation/{observations[0]}")
        updates = []
        for pid in patients[:50]:
            resource_ = get(f"/fhir/Patient/{pid}")
            lines = (resource_.get("address") or [{}])[0].get("line")
            if lines:
                resource_["address"][0]["line"][0] = (
                    re.sub(r"\d+$", "", lines[0]).strip() + " __N__"
                )
                updates.append((pid, json.dumps(resource_)))
    finally:
        conn.close()
    if not updates:
        return Path(), "no Patient with an address to update"
    lua = [
        "return {",
        f"  seed = {int(seed)},",
        f"  token = {json.dumps(token)},",
        f"  patients = {_lua_list(patients)},",
        f"  encounters = {_lua_list(encounters)},",
        f"  observations = {_lua_list(observations)},",
        f"  surnames = {_lua_list([quote(s) for s in surnames])},",
        # A created Patient gets a new national health ID; its other identifiers would collide.
        f"  patient_body = {_lua_string(strip(patient, 'identifier'))},",
        f"  encounter_body = {_lua_string(strip(encounter, 'identifier'))},",
        f"  observation_body = {_lua_string(strip(observation, 'identifier'))},",
        "  updates = {",
        *[f"    {{id = {json.dumps(pid)}, body = {_lua_string(body)}}}," for pid, body in updates],
        "  },",
        "}",
    ]
    path = Path(tempfile.mkdtemp(prefix="bienestar-crud-")) / "data.lua"
    path.write_text("\n".join(lua) + "\n")
    path.chmod(0o600)  # it holds a bearer token
    return path, ""


def _run_wrk(
    wrk: str,
    srv: server_mod.Server,
    data: Path,
    seconds: float,
    *,
    lua: Path = LUA,
    clients: int = CLIENTS,
    timeout_s: int = 10,
) -> dict[str, Any]:
    """Run wrk with a Lua script that prints `BENCH_JSON {…}` (its summary) when done; adds the
    wall time and the CPU of wrk and of the server's processes. Used by the other wrk benchmarks."""
    argv = [
        wrk,
        "-t2",
        f"-c{clients}",
        f"-d{max(1, int(seconds))}s",
        "--timeout",
        f"{timeout_s}s",
        "--latency",
        "-s",
        str(lua),
        srv.url,
        "--",
        str(data),
    ]
    cpu_before, server_before = _children_cpu(), _server_cpu(srv)
    start = time.monotonic()
    out = subprocess.run(  # noqa: S603 - wrk with arguments built here
        argv, capture_output=True, text=True, timeout=seconds + timeout_s + 120, check=False
    )
    wall = time.monotonic() - start
    wrk_cpu, server_cpu = _children_cpu() - cpu_before, _server_cpu(srv) - server_before
    found = re.search(r"BENCH_JSON (\{.*\})", out.stdout)
    if out.returncode != 0 or found is None:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr.strip()[:300]}")
    result: dict[str, Any] = json.loads(found.group(1))
    result.update(wall=wall, generator_cpu=wrk_cpu, server_cpu=server_cpu)
    return result


# --- Baseline: the same statements through pgbench ----------------------------------------------

COPIES = {
    "bench_crud_person": "people_person",
    "bench_crud_encounter": "clinical_encounter",
    "bench_crud_observation": "clinical_observation",
}


def _columns(raw: Any, table: str) -> list[str]:
    rows = raw.execute(
        # Generated columns (name_search) are computed by PostgreSQL, never written.
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
        "AND is_generated = 'NEVER' ORDER BY ordinal_position",
        [table],
    ).fetchall()
    return [r[0] for r in rows]


def _insert_select(raw: Any, copy: str, table: str, var: str) -> str:
    """INSERT INTO copy (…) SELECT … FROM table WHERE id = :var, with fresh unique values."""
    cols = [c for c in _columns(raw, table) if c != "id"]
    fresh = {
        "public_id": "gen_random_uuid()",
        "national_health_id": "substr(md5(random()::text), 1, 11)",
        "created_at": "now()",
        "updated_at": "now()",
    }
    select = ", ".join(fresh.get(c, f'"{c}"') for c in cols)
    names = ", ".join(f'"{c}"' for c in cols)
    return f"INSERT INTO {copy} ({names}) SELECT {select} FROM {table} WHERE id = :{var};"  # noqa: S608 - catalogue names


def _pgbench_scripts(raw: Any, folder: Path) -> list[str]:
    """One file per kind of request, with the mix's weights (pgbench -f file@weight)."""
    bounds = {}
    for table in ("people_person", "clinical_encounter", "clinical_observation"):
        lo, hi = raw.execute(f"SELECT min(id), max(id) FROM {table}").fetchone()  # noqa: S608 - constant names
        bounds[table] = (int(lo), int(hi))
    person, enc, obs = (
        bounds["people_person"],
        bounds["clinical_encounter"],
        bounds["clinical_observation"],
    )
    updatable = raw.execute("SELECT min(id), max(id) FROM bench_crud_person").fetchone()
    scripts = {
        "create_patient": f"\\set p random({person[0]}, {person[1]})\n"
        + _insert_select(raw, "bench_crud_person", "people_person", "p"),
        "create_encounter": f"\\set e random({enc[0]}, {enc[1]})\n"
        + _insert_select(raw, "bench_crud_encounter", "clinical_encounter", "e"),
        "create_observation": f"\\set o random({obs[0]}, {obs[1]})\n"
        + _insert_select(raw, "bench_crud_observation", "clinical_observation", "o"),
        "read_patient": f"\\set p random({person[0]}, {person[1]})\n"
        "SELECT * FROM people_person WHERE id = :p;",
        "read_encounter": f"\\set e random({enc[0]}, {enc[1]})\n"
        "SELECT * FROM clinical_encounter WHERE id = :e;",
        "read_observation": f"\\set o random({obs[0]}, {obs[1]})\n"
        "SELECT * FROM clinical_observation WHERE id = :o;",
        "update_patient": f"\\set u random({updatable[0]}, {updatable[1]})\n"
        "UPDATE bench_crud_person SET updated_at = now(), version = version + 1 WHERE id = :u;",
        "search_observation": f"\\set p random({person[0]}, {person[1]})\n"
        "SELECT * FROM clinical_observation WHERE person_id = :p ORDER BY effective_at DESC LIMIT 10;",
        "search_encounter": f"\\set p random({person[0]}, {person[1]})\n"
        "SELECT * FROM clinical_encounter WHERE person_id = :p ORDER BY start DESC LIMIT 10;",
    }
    # The FHIR name search (fhir.resources.people): a word of the unaccented name starts with the
    # value, first matches by id. pgbench has no string variables, so one script per surname.
    surnames = [
        r[0]
        for r in raw.execute(
            "SELECT DISTINCT lower(first_surname) FROM (SELECT first_surname FROM people_person "
            "ORDER BY id LIMIT 5000) s LIMIT %s",
            [SEARCH_SCRIPTS],
        ).fetchall()
    ]
    for j, surname in enumerate(surnames):
        literal = re.sub(r"[^a-z ]", "", python_plain(surname))  # letters only: safe in SQL
        scripts[f"search_patient_{j}"] = (
            "SELECT * FROM people_person WHERE name_search ~ "  # noqa: S608
            f"'(^|[[:space:]-]){literal}' ORDER BY id LIMIT 10;"
        )
    if "version" not in _columns(raw, "people_person"):
        scripts["update_patient"] = scripts["update_patient"].replace(", version = version + 1", "")
    out = []
    weights = dict(MIX)
    searches = [name for name in scripts if name.startswith("search_patient_")]
    del weights["search_patient"]
    for name in searches:  # the search's weight shared among its surnames (pgbench wants ints)
        weights[name] = max(1, MIX["search_patient"] // len(searches))
    for name, weight in weights.items():
        path = folder / f"{name}.sql"
        path.write_text(scripts[name] + "\n")
        out += ["-f", f"{path}@{weight}"]
    return out


def _prepare_baseline(raw: Any) -> None:
    _drop_baseline(raw)
    for copy, table in COPIES.items():
        raw.execute(f"CREATE TABLE {copy} (LIKE {table} INCLUDING ALL)")
    cols = ", ".join(f'"{c}"' for c in _columns(raw, "people_person") if c != "id")
    raw.execute(
        f"INSERT INTO bench_crud_person ({cols}) SELECT {cols} "  # noqa: S608 - names from the catalogue
        "FROM people_person ORDER BY id LIMIT 5000"
    )
    raw.execute("ANALYZE bench_crud_person")


def _drop_baseline(raw: Any) -> None:
    raw.execute(f"DROP TABLE IF EXISTS {', '.join(COPIES)}")


def run_pgbench(argv: list[str], seconds: float) -> tuple[Any, float]:
    """Run pgbench (`argv`), raise RuntimeError when it fails; its output and the CPU it used
    (cores x seconds, from the kernel's accounting of the finished child)."""
    cpu_before = _children_cpu()
    out = subprocess.run(  # noqa: S603 - pgbench with arguments built by the bench
        argv, capture_output=True, text=True, timeout=seconds + 120, check=False
    )
    generator_cpu = _children_cpu() - cpu_before
    if out.returncode != 0:
        raise RuntimeError(f"pgbench failed: {out.stderr.strip()[-300:]}")
    return out, generator_cpu


def _run_pgbench(pgbench: str, seconds: float) -> dict[str, Any]:
    raw = raw_connection()
    folder = Path(tempfile.mkdtemp(prefix="bienestar-pgbench-"))
    try:
        _prepare_baseline(raw)
        files = _pgbench_scripts(raw, folder)
        argv = [
            pgbench,
            "-n",
            "-c",
            str(CLIENTS),
            "-j",
            "2",
            "-T",
            str(max(1, int(seconds))),
            "-l",
            "--log-prefix",
            str(folder / "log"),
            *files,
            os.environ["DATABASE_URL"],
        ]
        out, generator_cpu = run_pgbench(argv, seconds)
        latencies = []
        for log in folder.glob("log*"):
            for line in log.read_text().splitlines():
                parts = line.split()
                if len(parts) >= 3:
                    latencies.append(int(parts[2]) / 1000)
        tps = re.search(r"tps = ([\d.]+) \(without initial", out.stdout)
        return {
            "rps": float(tps.group(1)) if tps else len(latencies) / seconds,
            "p99_ms": percentile(latencies, 99),
            "p50_ms": percentile(latencies, 50),
            "requests": len(latencies),
            "generator_cpu": generator_cpu,
        }
    finally:
        _drop_baseline(raw)
        raw.close()
        shutil.rmtree(folder, ignore_errors=True)


def crud_mix(seconds: float, token: str, seed: int) -> tuple[dict[str, Metric], str]:
    wrk, why = ensure_wrk()
    if wrk is None:
        return {}, why
    pgbench = find_pgbench()
    if pgbench is None:
        return {}, "pgbench (the baseline's load generator) is not installed"
    connection.close()
    srv = server_mod.start(os.environ["DATABASE_URL"], workers=4, threads=8)
    data = Path()
    try:
        data, why = _prepare_lua_data(srv, token, seed)
        if why:
            return {}, why
        app = _run_wrk(wrk, srv, data, seconds)
    except (LookupError, OSError, RuntimeError) as exc:
        return {}, f"the FHIR CRUD mix did not run: {exc}"
    finally:
        srv.stop()
        if data.name:
            shutil.rmtree(data.parent, ignore_errors=True)
    base = _run_pgbench(pgbench, seconds)
    wall = app["duration_us"] / 1e6
    ok = app["requests"] - app["status_errors"]
    rps = ok / wall if wall else 0.0
    generator_cores = app["generator_cpu"] / wall if wall else 0.0
    cores = os.cpu_count() or 1
    per_core = rps / max(0.1, cores - generator_cores)
    errors = app["status_errors"] + app["connect_errors"] + app["read_errors"] + app["timeouts"]
    notes = (
        f"wrk -t2 -c{CLIENTS} for {wall:.0f} s with bench/fhir_crud_mix.lua (per 100 requests: "
        f"create 15 of Patient/Encounter/Observation, read 45, update Patient 10, search 30) "
        f"against bienestar serve (gunicorn 4 workers x 8 threads) on this {cores}-core machine; "
        f"{app['requests']} responses, {errors} not 2xx/3xx or failed; p50 {app['p50_us'] / 1000:.1f} ms; "
        f"load generator CPU {generator_cores:.2f} cores, server processes "
        f"{app['server_cpu'] / wall:.2f} cores (PostgreSQL took the rest); {per_core:.0f} req/s per "
        f"core left to server + database; baseline: the same mix of statements in raw SQL by "
        f"pgbench, {CLIENTS} clients, {base['requests']} statements, p99 {base['p99_ms']:.1f} ms, "
        f"pgbench CPU {base['generator_cpu'] / seconds:.2f} cores"
    )
    return {
        "fhir_crud_mix_rps": metric(rps, "req/s", base["rps"], notes),
        "fhir_crud_mix_p99_ms": metric(app["p99_us"] / 1000, "ms", base["p99_ms"], notes),
    }, ""
