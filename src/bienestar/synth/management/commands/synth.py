"""`bienestar synth --people N [--seed S]`: a reproducible synthetic network (same seed, same data).

Re-running with the same seed and size does nothing (and says so); a different seed or size is
refused unless `--add` is given. See `bienestar.synth.generate` for the guarantees.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bienestar.core.errors import DomainError
from bienestar.synth.activity_writer import DEFAULT_MONTHS
from bienestar.synth.generate import DEFAULT_AS_OF, build_network


class Command(BaseCommand):
    help = "Genera una red sintética reproducible (misma semilla, mismos datos) sobre los datos de referencia."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--people", type=int, required=True, help="Número de personas")
        parser.add_argument("--seed", type=int, default=1, help="Semilla (por omisión 1)")
        parser.add_argument(
            "--as-of",
            type=dt.date.fromisoformat,
            default=DEFAULT_AS_OF,
            help=f"Fecha de referencia de edades y embarazos (por omisión {DEFAULT_AS_OF})",
        )
        parser.add_argument(
            "--months",
            type=int,
            default=DEFAULT_MONTHS,
            help=f"Meses de actividad clínica y de farmacia antes de la fecha de referencia "
            f"(por omisión {DEFAULT_MONTHS}; 0 = solo la red)",
        )
        parser.add_argument(
            "--add",
            action="store_true",
            help="Agregar una red adicional aunque ya exista otra con otra semilla o tamaño",
        )
        parser.add_argument("--no-progress", action="store_true", help="Sin barra de progreso")
        parser.add_argument(
            "--mpi-labelled",
            metavar="CSV",
            help="Solo escribir una lista de registros etiquetada para vinculación (issue 14): "
            "duplicados realistas y no-coincidencias difíciles; no toca la base de datos",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts.get("mpi_labelled"):
            from pathlib import Path

            from bienestar.synth.mpi_labelled import write_labelled

            count = write_labelled(Path(opts["mpi_labelled"]), opts["people"], opts["seed"])
            self.stdout.write(f"{count} registros escritos en {opts['mpi_labelled']}")
            return
        try:
            summary = build_network(
                people=opts["people"],
                seed=opts["seed"],
                as_of=opts["as_of"],
                add=opts["add"],
                months=opts["months"],
                progress=not opts["no_progress"] and opts.get("verbosity", 1) > 0,
            )
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        if summary.discarded_unfinished:
            self.stdout.write(
                self.style.WARNING(
                    f"Se descartaron {summary.discarded_unfinished} red(es) sintética(s) sin terminar."
                )
            )
        style = self.style.NOTICE if summary.skipped else self.style.SUCCESS
        self.stdout.write(style(summary.message))
