"""`bienestar indicators refresh [--full] [--engine duckdb|spark]`."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from bienestar.indicators.engine import ENGINES
from bienestar.indicators.refresh import refresh


class Command(BaseCommand):
    help = "Indicadores: recalcula los agregados (refresh)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        run = sub.add_parser("refresh", help="Recalcula los agregados de los indicadores")
        run.add_argument(
            "--full", action="store_true", help="Reconstrucción completa (si no, incremental)"
        )
        run.add_argument("--engine", choices=ENGINES, default="duckdb")
        run.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["action"] == "refresh":
            self._refresh(opts)

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
