"""`bienestar mpi link INPUT.csv --out OUTPUT.csv [--against-registry]` (CONTRACTS.md)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from bienestar.people import linkage

REGISTRY_SQL = """
SELECT 'registry:' || p.public_id::text, p.given_names, p.first_surname, p.second_surname,
       CASE p.sex WHEN 'F' THEN 'M' WHEN 'M' THEN 'H' ELSE '' END, p.birth_date::text,
       coalesce((SELECT i.value FROM people_personidentifier i
                 WHERE i.person_id = p.id AND i.system = 'curp' LIMIT 1), ''),
       '', '', ''
FROM people_person p WHERE p.status = 'active'
"""


def registry_rows() -> Iterator[dict[str, str]]:
    """Every active person of the registry as an input row (record_id `registry:<public_id>`).
    A command run by an operator on the server: no actor, no per-person audit (the run itself is
    the access, logged by whoever starts it)."""
    with connection.cursor() as cursor:
        cursor.execute(REGISTRY_SQL)
        while rows := cursor.fetchmany(10000):
            for row in rows:
                yield dict(zip(linkage.INPUT_COLUMNS, row, strict=True))


class Command(BaseCommand):
    help = "Índice maestro de pacientes: vinculación de listas de personas (Splink sobre DuckDB)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        link = sub.add_parser("link", help="Vincular un CSV de personas")
        link.add_argument("input", type=Path)
        link.add_argument("--out", type=Path, required=True)
        link.add_argument(
            "--against-registry",
            action="store_true",
            help="Vincular también contra las personas activas del registro",
        )
        link.add_argument(
            "--generic",
            action="store_true",
            help="Comparaciones genéricas de Splink (la línea base de la medición)",
        )
        link.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        source: Path = opts["input"]
        if not source.exists():
            raise CommandError(f"No existe {source}")

        def rows() -> Iterator[dict[str, str]]:
            yield from linkage.read_csv_rows(source)
            if opts["against_registry"]:
                yield from registry_rows()

        try:
            result = linkage.link_rows(
                rows(),
                opts["out"],
                generic=opts["generic"],
                progress=not opts["no_progress"] and opts.get("verbosity", 1) > 0,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"{result.records} registros, {result.pairs} pares comparados, "
            f"{result.clusters} personas, {result.seconds:.1f} s → {result.out}"
        )
