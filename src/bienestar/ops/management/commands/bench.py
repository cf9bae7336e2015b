"""`bienestar bench [--people N] [--seed S] [--out FILE]`: run the benchmarks, write JSON.

The outer call picks a separate database (`<name>_bench`) and runs the measurements in a child
process pointed at it, so the demo's data is never touched and the network is reused across runs.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.core.management import call_command
from django.core.management.base import BaseCommand

from bienestar.ops import bench

PENDING = [
    "fhir_patient_read_p50_ms",
    "fhir_crud_mix_rps",
    "fhir_crud_mix_p99_ms",
    "fhir_transaction_import_res_per_s",
    "fhir_bulk_import_res_per_s",
    "fhir_bulk_export_res_per_s",
    "dispense_tx_per_s",
    "dispense_oversell_count",
]


def bench_database_url() -> str:
    from bienestar.config import database

    url = os.environ.get("DATABASE_URL")
    if not url or os.environ.get("BIENESTAR_EMBEDDED_DB") == "1":
        return database._embedded_uri(database.EMBEDDED_DB_NAME + "_bench")
    parts = urlsplit(url)
    name = parts.path.lstrip("/") or "postgres"
    bench_name = name if name.endswith("_bench") else f"{name}_bench"
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        if not conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [bench_name]
        ).fetchone():
            conn.execute(f'CREATE DATABASE "{bench_name}"')
    return urlunsplit(parts._replace(path=f"/{bench_name}"))


class Command(BaseCommand):
    help = "Run the benchmarks on a synthetic network and write bench/results/latest.json."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--people", type=int, default=100_000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--samples", type=int, default=500)
        parser.add_argument("--out", default="bench/results/latest.json")
        parser.add_argument(
            "--inner", action="store_true", help="(internal) run inside the bench database"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if not opts["inner"]:
            env = dict(os.environ, DATABASE_URL=bench_database_url())
            env.pop("BIENESTAR_EMBEDDED_DB", None)
            argv = [
                sys.executable,
                "-m",
                "bienestar.cli",
                "bench",
                "--inner",
                "--people",
                str(opts["people"]),
                "--seed",
                str(opts["seed"]),
                "--samples",
                str(opts["samples"]),
                "--out",
                str(Path(opts["out"]).resolve()),
            ]
            sys.exit(subprocess.run(argv, env=env, check=False).returncode)  # noqa: S603
        self._run(opts)

    def _run(self, opts: dict[str, Any]) -> None:
        people, seed = opts["people"], opts["seed"]
        self.stdout.write(f"bench: {people} people, seed {seed}")
        call_command("migrate", interactive=False, verbosity=0)
        call_command("load_reference", verbosity=0, allow_refused=True)
        metrics: dict[str, bench.Metric] = {}
        from bienestar.people.models import Person

        before = Person.objects.count()
        start = time.perf_counter()
        call_command("synth", people=people, seed=seed)
        elapsed = time.perf_counter() - start
        created = Person.objects.count() - before
        if created > 0:
            copy_rate = bench.copy_baseline_rows_per_s(created)
            metrics["synth_people_per_s"] = bench.metric(
                created / elapsed,
                "res/s",
                copy_rate,
                f"{created} people with households, identifiers, affiliations and staff, generated and inserted; "
                "baseline: PostgreSQL COPY of the same number of bare person rows",
            )
        else:
            self.stdout.write(
                "bench: network with this seed and size already present; synth_people_per_s not re-measured"
            )
        metrics.update(bench.person_lookups(opts["samples"], random.Random(seed)))
        result = bench.write_results(Path(opts["out"]), {"people": people, "seed": seed}, metrics)
        for name, m in result["metrics"].items():
            self.stdout.write(bench.summary_line(name, m))
        self.stdout.write(f"pending (feature not landed yet): {', '.join(PENDING)}")
        self.stdout.write(f"written: {opts['out']}")
