"""`bienestar bench [--people N] [--seed S] [--out FILE]`: run the benchmarks, write JSON.

The outer call picks a separate database (`<name>_bench_<people>_s<seed>`) and runs the measurements in a child
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
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from bienestar.ops import bench
from bienestar.ops.bench.people import recall_synth, remember_synth

# Every metric issue 5 names; those a run does not write are reported as pending.
ALL_METRICS = [
    "person_lookup_id_p50_ms",
    "person_lookup_id_p95_ms",
    "person_search_name_p95_ms",
    "fhir_patient_read_p50_ms",
    "fhir_crud_mix_rps",
    "fhir_crud_mix_p99_ms",
    "fhir_transaction_import_res_per_s",
    "fhir_bulk_import_res_per_s",
    "fhir_bulk_export_res_per_s",
    "dispense_tx_per_s",
    "dispense_oversell_count",
    "synth_people_per_s",
    # Issue 16: the supply chain (group `supply`).
    "requisition_cycle_per_s",
    "replenishment_run_s",
    # Extra metrics (not in issue 5's list): the soak, only with --soak SECONDS.
    "soak_5xx_count",
    "soak_rss_growth_mb",
    # Issue 14 (master patient index).
    "mpi_match_p95_ms",
    "mpi_link_f1",
    "mpi_link_precision",
    "mpi_link_recall",
    "mpi_link_seconds",
    # The job queue (issue 10, ADR 0009).
    "job_queue_latency_p95_ms",
    "jobs_per_s",
    # Issue 15: scheduling.
    "slot_search_p95_ms",
    "booking_per_s",
    # Issue 12: outreach.
    "worklist_p95_ms",
    "visit_submit_per_s",
]
GROUPS = (
    "synth",
    "people",
    "mpi",
    "dispense",
    "fhir",
    "transaction",
    "bulk",
    "soak",
    "jobs",
    "scheduling",
    "outreach",
    "supply",
)


def bench_database_url(people: int, seed: int) -> str:
    """One database per network size and seed (`<name>_bench_<people>_s<seed>`): a network is
    generated once and reused by every later run of the same size, and sizes never mix."""
    from bienestar.config import database

    suffix = f"_bench_{people}_s{seed}"
    url = os.environ.get("DATABASE_URL")
    if not url or os.environ.get("BIENESTAR_EMBEDDED_DB") == "1":
        return database._embedded_uri(database.EMBEDDED_DB_NAME + suffix)
    parts = urlsplit(url)
    name = parts.path.lstrip("/") or "postgres"
    bench_name = name if "_bench_" in name else f"{name}{suffix}"
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
            "--dispense-seconds",
            type=float,
            default=15.0,
            help="how long the dispensers run (each of app and baseline)",
        )
        parser.add_argument(
            "--crud-seconds",
            type=float,
            default=60.0,
            help="how long the FHIR CRUD mix runs (each of app and baseline; 0 to skip)",
        )
        parser.add_argument(
            "--transaction-seconds",
            type=float,
            default=60.0,
            help="how long the FHIR transaction Bundles are posted (each of app and baseline; "
            "0 to skip)",
        )
        parser.add_argument(
            "--bulk-resources",
            type=int,
            default=20_000,
            help="about how many resources the bulk NDJSON import writes (0 to skip the import)",
        )
        parser.add_argument(
            "--bulk-export-group",
            default="",
            help="export Group/<id> (e.g. territory-MX.13, one state) instead of the whole "
            "network: at a million people the whole network takes tens of minutes",
        )
        parser.add_argument(
            "--soak",
            type=float,
            default=0.0,
            help="seconds of mixed FHIR load for the soak metrics (0, the default, skips it; "
            "`make bench` runs 600)",
        )
        parser.add_argument(
            "--mpi-link-people",
            type=int,
            default=20_000,
            help="people of the labelled list the record-linkage metrics link (0 to skip)",
        )
        parser.add_argument(
            "--only",
            default=",".join(GROUPS),
            help=f"comma-separated groups to run (default all: {','.join(GROUPS)}); the network is "
            "always generated or reused",
        )
        parser.add_argument(
            "--inner", action="store_true", help="(internal) run inside the bench database"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if not opts["inner"]:
            env = dict(os.environ, DATABASE_URL=bench_database_url(opts["people"], opts["seed"]))
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
                "--dispense-seconds",
                str(opts["dispense_seconds"]),
                "--crud-seconds",
                str(opts["crud_seconds"]),
                "--transaction-seconds",
                str(opts["transaction_seconds"]),
                "--bulk-resources",
                str(opts["bulk_resources"]),
                "--bulk-export-group",
                opts["bulk_export_group"],
                "--soak",
                str(opts["soak"]),
                "--only",
                opts["only"],
            ]
            sys.exit(subprocess.run(argv, env=env, check=False).returncode)  # noqa: S603
        self._run(opts)

    def _run(self, opts: dict[str, Any]) -> None:
        people, seed = opts["people"], opts["seed"]
        groups = {g.strip() for g in opts["only"].split(",") if g.strip()}
        unknown = groups - set(GROUPS)
        if unknown:
            raise CommandError(f"unknown group(s): {', '.join(sorted(unknown))}")
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
            measured = bench.metric(
                created / elapsed,
                "res/s",
                copy_rate,
                f"{created} people with households, identifiers, affiliations, staff and their "
                "clinical and pharmacy activity, generated and inserted; baseline: PostgreSQL COPY "
                "of the same number of bare person rows",
            )
            remember_synth(measured)
            if "synth" in groups:
                metrics["synth_people_per_s"] = measured
        elif "synth" in groups:
            earlier = recall_synth()
            if earlier is not None:
                metrics["synth_people_per_s"] = earlier
            self.stdout.write(
                "bench: network with this seed and size already present; synth_people_per_s is the "
                "figure measured when it was generated"
                if earlier
                else "bench: network already present; synth_people_per_s not measured"
            )
        # A network written with COPY has no planner statistics until autovacuum gets to it; without
        # them the national-scope name search picks a nested loop over every territory (500 ms at
        # 100k people instead of 70). A production database has them; so must the bench.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        if "people" in groups:
            self._step("person lookups")
            metrics.update(bench.person_lookups(opts["samples"], random.Random(seed)))
        if "mpi" in groups:
            from bienestar.ops.bench.mpi import mpi_match

            self._step("registration candidates")
            metrics.update(mpi_match(opts["samples"], random.Random(seed)))
            if opts["mpi_link_people"]:
                from bienestar.ops.bench.mpi import mpi_linkage

                self._step(f"record linkage ({opts['mpi_link_people']} labelled people, twice)")
                metrics.update(mpi_linkage(opts["mpi_link_people"], seed))
        if "dispense" in groups:
            from bienestar.ops.bench.dispense import dispensing

            self._step(f"dispensing ({opts['dispense_seconds']:g} s + the same for the baseline)")
            metrics.update(dispensing(opts["dispense_seconds"]))
        if "fhir" in groups:
            from bienestar.ops.bench.fhir import fhir_metrics

            self._step("FHIR over HTTP")
            found, skipped = fhir_metrics(opts["samples"], opts["crud_seconds"], seed)
            metrics.update(found)
            if skipped:
                self.stdout.write(f"bench: FHIR skipped: {skipped}")
        if "scheduling" in groups:
            from bienestar.ops.bench.scheduling import scheduling_metrics

            self._step("scheduling: slot search and booking under contention")
            metrics.update(scheduling_metrics(opts["samples"], min(opts["dispense_seconds"], 10)))
        if "outreach" in groups:
            from bienestar.ops.bench.outreach import outreach_metrics

            self._step("outreach: a gestor's work list (2,000 households) and visit submission")
            metrics.update(outreach_metrics(opts["samples"], min(opts["dispense_seconds"], 10)))
        if "jobs" in groups:
            from bienestar.ops.bench.jobs import job_queue

            self._step("job queue (latency and trivial jobs/s)")
            found, skipped = job_queue()
            metrics.update(found)
            if skipped:
                self.stdout.write(f"bench: job queue skipped: {skipped}")
        if "supply" in groups:
            from bienestar.ops.bench.supply import replenishment, requisition_cycle

            self._step("supply: requisition cycles, then the replenishment run")
            metrics.update(requisition_cycle(opts["dispense_seconds"]))
            metrics.update(replenishment())
        metrics.update(self._writes(groups, opts))
        result = bench.write_results(Path(opts["out"]), {"people": people, "seed": seed}, metrics)
        for name, m in result["metrics"].items():
            self.stdout.write(bench.summary_line(name, m))
        pending = [name for name in ALL_METRICS if name not in metrics]
        if pending:
            self.stdout.write(
                f"not measured in this run (pending or not selected): {', '.join(pending)}"
            )
        self.stdout.write(f"written: {opts['out']}")

    def _writes(self, groups: set[str], opts: dict[str, Any]) -> dict[str, bench.Metric]:
        """Transaction Bundles, bulk import and export, and the soak: each removes what it wrote."""
        found: dict[str, bench.Metric] = {}
        token = ""
        if {"transaction", "soak"} & groups:
            from bienestar.access.roles import Role
            from bienestar.ops.bench.fhir import _token

            token = _token(Role.INTEGRATOR)
        if "transaction" in groups and opts["transaction_seconds"] > 0:
            from bienestar.ops.bench.transactions import transaction_import

            self._step(
                f"FHIR transaction Bundles ({opts['transaction_seconds']:g} s + the same for the "
                "baseline)"
            )
            metrics, why = transaction_import(opts["transaction_seconds"], token)
            found.update(metrics)
            if why:
                self.stdout.write(f"bench: FHIR transactions skipped: {why}")
        if "bulk" in groups:
            from bienestar.ops.bench.bulk import bulk_export, bulk_import

            if opts["bulk_resources"] > 0:
                self._step(f"bulk NDJSON import (~{opts['bulk_resources']} resources)")
                metrics, why = bulk_import(opts["bulk_resources"])
                found.update(metrics)
                if why:
                    self.stdout.write(f"bench: bulk import skipped: {why}")
            group = opts["bulk_export_group"]
            self._step(f"bulk $export of {'Group/' + group if group else 'the network'}")
            metrics, why = bulk_export(group)
            found.update(metrics)
            if why:
                self.stdout.write(f"bench: bulk export skipped: {why}")
        if "soak" in groups and opts["soak"] > 0:
            from bienestar.ops.bench.soak import soak

            self._step(f"soak ({opts['soak']:g} s of the FHIR CRUD mix)")
            metrics, why = soak(opts["soak"], token, opts["seed"])
            found.update(metrics)
            if why:
                self.stdout.write(f"bench: soak skipped: {why}")
        return found

    def _step(self, what: str) -> None:
        self.stdout.write(f"bench: {what}…")
        self.stdout.flush()
