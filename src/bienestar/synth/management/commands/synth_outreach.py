"""`bienestar synth_outreach [--seed S]`: Bogotá's synthetic cadastral sectors (inside the real UPZ
and localidad shapes) and the default published priority schemes. Same seed, same sectors;
re-running updates them in place."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bienestar.config.home import reference_dir
from bienestar.synth.outreach_sectors import generate_sectors, publish_default_schemes


class Command(BaseCommand):
    help = "Genera los sectores catastrales sintéticos de Bogotá y los esquemas de prioridad por omisión."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=1, help="Semilla (por omisión 1)")

    def handle(self, *args: Any, **opts: Any) -> None:
        directory = reference_dir()
        if directory is None:
            raise CommandError(
                "No se encontró el directorio de referencia (BIENESTAR_REFERENCE_DIR)."
            )
        try:
            count = generate_sectors(directory, seed=opts["seed"])
        except (ValueError, FileNotFoundError) as exc:
            raise CommandError(str(exc)) from exc
        schemes = publish_default_schemes()
        self.stdout.write(f"{count} sectores; esquemas: {', '.join(str(s) for s in schemes)}")
