"""`bienestar indicators refresh [--full] [--engine duckdb|spark]` and
`bienestar indicators export --format dhis2-json|adx --period P --territory T` (stdout)."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from bienestar.core.errors import DomainError
from bienestar.indicators.engine import ENGINES
from bienestar.indicators.refresh import refresh


class Command(BaseCommand):
    help = "Indicadores: recalcula los agregados (refresh) o los exporta para DHIS2 (export)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        run = sub.add_parser("refresh", help="Recalcula los agregados de los indicadores")
        run.add_argument(
            "--full", action="store_true", help="Reconstrucción completa (si no, incremental)"
        )
        run.add_argument("--engine", choices=ENGINES, default="duckdb")
        run.add_argument("--no-progress", action="store_true")
        export = sub.add_parser("export", help="Exporta un periodo para DHIS2 (salida estándar)")
        export.add_argument("--format", choices=("dhis2-json", "adx"), required=True)
        export.add_argument("--period", required=True, help="202611, 2026Q3 o 2026")
        export.add_argument("--territory", default="MX", help="MX, MX.13 o MX.13.048")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["action"] == "refresh":
            self._refresh(opts)
        else:
            self._export(opts)

    def _refresh(self, opts: dict[str, Any]) -> None:
        show = not opts["no_progress"] and opts.get("verbosity", 1) > 0
        bar = tqdm(total=4, desc="indicadores", disable=not show, file=sys.stderr)

        def progress(step: int, total: int, label: str) -> None:
            bar.total = total
            bar.n = step
            bar.set_postfix_str(label)
            bar.refresh()

        run = refresh(full=opts["full"], engine=opts["engine"], progress=progress)
        bar.close()
        self.stdout.write(
            self.style.SUCCESS(
                f"Indicadores: recálculo {run.get_kind_display().lower()} con {run.engine} desde "
                f"{run.since}: {run.rows} agregados en {run.seconds.get('total')} s."
            )
        )

    def _export(self, opts: dict[str, Any]) -> None:
        from bienestar.indicators.dhis2 import export_text

        try:
            text = export_text(
                None, fmt=opts["format"], period=opts["period"], territory=opts["territory"]
            )
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(text, ending="")
