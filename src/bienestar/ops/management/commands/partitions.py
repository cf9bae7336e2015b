"""`bienestar partitions ensure|list|archive`: the monthly partitions of the big tables (ADR 0013)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from bienestar.core.partitioning import (
    DEFAULT_MONTHS_AHEAD,
    PARTITIONED,
    PartitionError,
    ensure,
    partitions_of,
)
from bienestar.ops import partitions


class Command(BaseCommand):
    help = (
        "Particiones mensuales de las tablas grandes: `ensure` crea los meses por venir, `list` "
        "las muestra, `archive` separa y archiva en archivo los meses fuera del periodo de "
        "conservación (BIENESTAR_RETENTION_YEARS)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        ensure_parser = sub.add_parser("ensure", help="crea las particiones de los meses por venir")
        ensure_parser.add_argument("--months-ahead", type=int, default=DEFAULT_MONTHS_AHEAD)
        ensure_parser.add_argument(
            "--from", dest="since", type=dt.date.fromisoformat, default=None,
            help="también los meses desde esta fecha (AAAA-MM-DD), p. ej. antes de importar historia",
        )  # fmt: skip
        sub.add_parser("list", help="muestra las particiones y sus filas estimadas")
        archive_parser = sub.add_parser("archive", help="archiva los meses vencidos")
        archive_parser.add_argument("--dry-run", action="store_true")
        archive_parser.add_argument(
            "--drop", action="store_true", help="elimina la tabla separada una vez archivada"
        )

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "ensure":
            if options["months_ahead"] < 0:
                raise CommandError("--months-ahead debe ser 0 o más.")
            try:
                created = ensure(
                    connection, months_ahead=options["months_ahead"], since=options["since"]
                )
            except PartitionError as exc:
                raise CommandError(str(exc)) from exc
            for name in created:
                self.stdout.write(f"creada {name}")
            self.stdout.write(f"{len(created)} particiones creadas")
        elif action == "list":
            for table, spec in PARTITIONED.items():
                rows = partitions_of(connection, table)
                self.stdout.write(f"{table} ({spec.label}, por {spec.column}): {len(rows)}")
                for name, bounds, estimate in rows:
                    self.stdout.write(f"  {name:42} {estimate:>12,} {bounds}")
        else:
            try:
                due = partitions.expired()
            except partitions.RetentionError as exc:
                raise CommandError(str(exc)) from exc
            if not due:
                self.stdout.write("ningún mes fuera del periodo de conservación")
            for item in due:
                if options["dry_run"]:
                    self.stdout.write(f"se archivaría {item.partition}")
                    continue
                record = partitions.archive(item, drop=options["drop"])
                self.stdout.write(
                    f"archivada {record.partition}: {record.rows:,} filas en {record.file}"
                    f" (sha256 {record.sha256[:12]}…){' y eliminada' if record.dropped else ''}"
                )
