"""`bienestar fhir import|export|export-worker`: bulk FHIR data from the command line.

- `bienestar fhir import FILE_OR_DIR --as USERNAME [--queue]`: NDJSON (`.ndjson`, `.ndjson.gz`, one resource
  per line, or a directory of them). Idempotent and resumable: run it again after any interruption
  and it goes on from the last committed batch. Refused lines are listed as `file:line: message`;
  exit status 1 when any line was refused.
- `bienestar fhir export --as USERNAME [--type T,…] [--since INSTANT] [--group ID]
  [--patient-level] [--out DIR]`: the same job as `$export`, run here and now; prints the manifest.

`$export` requests and imports started from the API run on the job queue (`bienestar worker`,
ADR 0009); these commands run the same jobs here, with a progress bar.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from tqdm import tqdm

from bienestar.access.actor import Actor
from bienestar.access.models import User
from bienestar.core.errors import DomainError
from bienestar.fhir.bulk import export, importer, imports
from bienestar.fhir.bulk.models import ExportLevel, ExportStatus
from bienestar.fhir.errors import FhirError


def _user(username: str) -> User:
    user = (
        User.objects.filter(username=username, is_active=True).select_related("territory").first()
    )
    if user is None:
        raise CommandError(_("No existe el usuario activo %(u)s.") % {"u": username})
    return user


class Command(BaseCommand):
    help = "Datos FHIR en bloque: importar NDJSON, exportar ($export), procesar exportaciones."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        imp = actions.add_parser("import", help="Importar NDJSON (archivo o directorio)")
        imp.add_argument("path", type=Path)
        imp.add_argument("--as", dest="username", required=True, help="Usuario que importa")
        imp.add_argument("--batch-size", type=int, default=500)
        imp.add_argument(
            "--stop-on-error",
            action="store_true",
            help="Detenerse tras el primer lote con líneas rechazadas",
        )
        imp.add_argument("--no-progress", action="store_true")
        imp.add_argument(
            "--queue",
            action="store_true",
            help="Encolar como trabajo en segundo plano (bienestar worker) en vez de importar aquí",
        )
        # For the crash test only: a pause after each committed batch.
        imp.add_argument("--sleep-between-batches", type=float, default=0.0, help=argparse.SUPPRESS)

        exp = actions.add_parser("export", help="Exportar NDJSON ($export) aquí y ahora")
        exp.add_argument("--as", dest="username", required=True)
        exp.add_argument("--type", default="", help="Tipos separados por comas")
        exp.add_argument("--since", default="")
        group = exp.add_mutually_exclusive_group()
        group.add_argument("--group", default="", help="territory-<ruta> o facility-<id>")
        group.add_argument("--patient-level", action="store_true")
        exp.add_argument("--out", type=Path, help="Copiar los archivos a este directorio")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "import":
            self._import(options)
        else:
            self._export(options)

    # --- import ------------------------------------------------------------------------------------

    def _import(self, options: dict[str, Any]) -> None:
        user = _user(options["username"])
        source: Path = options["path"]
        if not source.exists():
            raise CommandError(_("No existe %(p)s.") % {"p": source})
        if options["queue"]:
            try:
                job = imports.start_import(
                    actor=Actor(user=user, channel="cli"),
                    paths=[source],
                    batch_size=max(1, options["batch_size"]),
                    pause=options["sleep_between_batches"],
                )
            except DomainError as exc:
                raise CommandError(str(exc.message)) from None
            self.stdout.write(str(job.public_id))
            self.stderr.write(
                _("Importación encolada; su avance en /trabajos/%(id)s/ o /api/jobs/%(id)s.")
                % {"id": job.public_id}
            )
            return
        bar: Any = None

        def staged(total: int) -> None:
            nonlocal bar
            if not options["no_progress"]:
                bar = tqdm(total=total, unit="res", desc="import", file=sys.stderr)

        def advance(n: int) -> None:
            if bar is not None:
                bar.update(n)

        started = time.monotonic()
        try:
            summary = importer.import_path(
                source,
                user=user,
                options=importer.Options(
                    batch_size=max(1, options["batch_size"]),
                    stop_on_error=options["stop_on_error"],
                    sleep_between_batches=options["sleep_between_batches"],
                    on_batch=advance,
                ),
                on_staged=staged,
            )
        except importer.Busy:
            raise CommandError(_("Otra importación de estos archivos está en curso.")) from None
        finally:
            if bar is not None:
                bar.close()
        elapsed = time.monotonic() - started
        self._report(summary, elapsed)
        if summary.refused or summary.stopped:
            sys.exit(1)

    def _report(self, summary: importer.Summary, elapsed: float) -> None:
        out = self.stdout
        job = summary.job
        if summary.resumed:
            out.write(_("Trabajo %(k)s retomado.") % {"k": job.key[:12]})
        out.write(f"{'tipo':<22}{'creados':>10}{'existían':>10}{'rechazados':>12}")
        for kind in sorted(summary.counts):
            c = summary.counts[kind]
            out.write(
                f"{kind:<22}{c.get('created', 0):>10}{c.get('existing', 0):>10}"
                f"{c.get('refused', 0):>12}"
            )
        rate = summary.processed / elapsed if elapsed > 0 else 0.0
        out.write(
            _("%(n)d líneas procesadas en %(s).1f s (%(r).0f recursos/s).")
            % {"n": summary.processed, "s": elapsed, "r": rate}
        )
        shown = importer.issues(job, limit=50)
        for line in shown:
            self.stderr.write(line)
        if len(shown) == 50:
            self.stderr.write(_("… (solo los primeros 50 grupos de rechazos)"))
        if summary.stopped:
            self.stderr.write(_("Detenido tras un lote con rechazos (--stop-on-error)."))

    # --- export ------------------------------------------------------------------------------------

    def _export(self, options: dict[str, Any]) -> None:
        user = _user(options["username"])
        actor = Actor(user=user, channel="cli")
        level = ExportLevel.SYSTEM
        if options["group"]:
            level = ExportLevel.GROUP
        elif options["patient_level"]:
            level = ExportLevel.PATIENT
        params = []
        if options["type"]:
            params.append(("_type", options["type"]))
        if options["since"]:
            params.append(("_since", options["since"]))
        try:
            request = export.parse_request(
                level=level,
                params=params,
                request_url="bienestar fhir export",
                base_url="urn:bienestar:cli",
                group_id=options["group"],
            )
            job = export.kickoff(actor, request, queue=False)
        except FhirError as exc:
            raise CommandError(str(exc)) from None
        started = time.monotonic()
        export.run_job(job.pk)
        elapsed = time.monotonic() - started
        job.refresh_from_db()
        if job.status != ExportStatus.COMPLETED:
            error = job.job.error if job.job is not None else job.error_message
            raise CommandError(_("La exportación falló: %(e)s") % {"e": error})
        manifest = export.manifest(job)
        total = sum(o["count"] for o in job.output)
        if options["out"]:
            target: Path = options["out"]
            target.mkdir(parents=True, exist_ok=True)
            for item in job.output:
                shutil.copy(export.job_dir(job) / item["file"], target / item["file"])
        manifest["files"] = str(options["out"] or export.job_dir(job))
        self.stdout.write(json.dumps(manifest, ensure_ascii=False, indent=1))
        rate = total / elapsed if elapsed > 0 else 0.0
        self.stderr.write(
            _("%(n)d recursos en %(s).1f s (%(r).0f recursos/s).")
            % {"n": total, "s": elapsed, "r": rate}
        )
