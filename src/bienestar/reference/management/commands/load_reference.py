"""`bienestar load-reference`: load official reference files into the registries.

Reads from `--dir`, else `BIENESTAR_REFERENCE_DIR`, else `../shared/data` beside the checkout when
it exists; without a directory (or with `--packaged`) it loads the tables the project ships.
Prints one line per file (rows read, created, updated, unchanged, skipped) and every malformed
row as file:line; exits non-zero when any file was refused, unless `--allow-refused` (for callers
such as the demo that want whatever is valid loaded and the refusals reported, not a failure).
"""

from __future__ import annotations

import os
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from bienestar.config.home import reference_dir
from bienestar.reference.core import MAX_ISSUES_SHOWN, FileResult
from bienestar.reference.services import DATASETS, reference_load, resolve_datasets

COLUMNS = "{label:<72} {read:>8} {created:>8} {updated:>8} {unchanged:>8} {skipped:>8} {seconds:>7}"


class Command(BaseCommand):
    help = "Carga los archivos oficiales de referencia (territorios, población, CLUES, CIE-10, medicamentos, vacunas, LOINC)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--dir",
            dest="directory",
            help="Directorio con los archivos oficiales (por defecto BIENESTAR_REFERENCE_DIR o ../shared/data).",
        )
        parser.add_argument("--only", help=f"Conjuntos separados por comas: {','.join(DATASETS)}.")
        parser.add_argument(
            "--packaged",
            action="store_true",
            help="Usar solo las tablas que trae el proyecto, sin directorio.",
        )
        parser.add_argument(
            "--allow-refused",
            action="store_true",
            help="Terminar con código 0 aunque se rechace algún archivo (los rechazos se informan igual).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        directory = self._directory(options["directory"], options["packaged"])
        self._quiet_missing = directory is None  # without a directory every official file is absent
        self._verbosity = int(options.get("verbosity", 1))
        only = options["only"].split(",") if options["only"] else None
        try:
            datasets = resolve_datasets(only)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        where = (
            str(directory) if directory else _("tablas del paquete (sin directorio de referencia)")
        )
        self._say(
            _("Datos de referencia: %(where)s; conjuntos: %(sets)s")
            % {"where": where, "sets": ", ".join(datasets)}
        )
        self._say(
            COLUMNS.format(
                label=_("archivo"),
                read=_("leídas"),
                created=_("creadas"),
                updated=_("actualiz."),
                unchanged=_("iguales"),
                skipped=_("omitidas"),
                seconds=_("s"),
            )
        )
        report = reference_load(directory=directory, only=datasets, on_result=self._print)
        self._say(_("Tiempo total: %(s).1f s") % {"s": report.seconds})
        if report.refused:
            message = _("%(n)d archivo(s) rechazado(s), sin cargar nada de ellos: %(files)s") % {
                "n": len(report.refused),
                "files": ", ".join(r.label for r in report.refused),
            }
            if options["allow_refused"]:
                self.stderr.write(message)
                return
            raise CommandError(message)

    def _directory(self, given: str | None, packaged: bool) -> Path | None:
        if packaged:
            return None
        if given:
            path = Path(given).expanduser().resolve()
        elif os.environ.get("BIENESTAR_REFERENCE_DIR"):
            path = Path(os.environ["BIENESTAR_REFERENCE_DIR"]).expanduser().resolve()
        else:
            return reference_dir()
        if not path.is_dir():
            raise CommandError(
                _("el directorio de referencia no existe: %(path)s") % {"path": path}
            )
        return path

    def _say(self, line: str) -> None:
        if self._verbosity > 0:
            self.stdout.write(line)

    def _print(self, result: FileResult) -> None:
        if self._verbosity == 0 and not result.refused:
            return
        if result.missing:
            if self._quiet_missing:
                return
            status = "-"
            self.stdout.write(f"{result.label:<72} {status:>8}  {'; '.join(result.notes)}")
            return
        line = COLUMNS.format(
            label=result.label, read=result.read, created=result.created, updated=result.updated,
            unchanged=result.unchanged, skipped=result.skipped, seconds=f"{result.seconds:.1f}",
        )  # fmt: skip
        if result.refused:
            line += "  " + _("RECHAZADO")
        self.stdout.write(line)
        for note in result.notes:
            self.stdout.write(f"    {note}")
        for issue in result.issues[:MAX_ISSUES_SHOWN]:
            self.stderr.write(f"    {issue}")
        if len(result.issues) > MAX_ISSUES_SHOWN:
            self.stderr.write(
                "    " + _("… y %(n)d problemas más") % {"n": len(result.issues) - MAX_ISSUES_SHOWN}
            )
