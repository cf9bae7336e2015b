"""`bienestar no_shows`: end of day, mark booked appointments nobody came to as no-shows."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from bienestar.scheduling.services import no_shows_mark


class Command(BaseCommand):
    help = (
        "Marca como inasistencia las citas agendadas que ya terminaron sin llegada (idempotente)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        count = no_shows_mark()
        self.stdout.write(f"{count} citas marcadas como inasistencia")
