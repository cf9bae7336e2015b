"""`bienestar demo`: set everything up, build a synthetic network, serve it and print the log-ins.

Re-running reuses what exists: migrations and the reference load are idempotent, and the
synthetic generator skips a network already built with the same seed and size. The synthetic
activity runs up to the day the demo is built (`DEMO_MONTHS` of history, so every chart has a
trend); a run on a later day tops up the missing days.
"""

from __future__ import annotations

import os
import time
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils import timezone

from bienestar.access.models import User
from bienestar.indicators.demo import queue_indicator_refresh
from bienestar.jobs.worker_process import start_worker
from bienestar.ops.demo_users import ensure_demo_users
from bienestar.synth.agenda import seed_demo_agenda

DEMO_MONTHS = 18


class Command(BaseCommand):
    help = "Build and serve a demonstration network on http://127.0.0.1:8000."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--people", type=int, default=int(os.environ.get("BIENESTAR_DEMO_PEOPLE", "20000"))
        )
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--no-serve", action="store_true", help="Set up and exit without serving."
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        started = time.monotonic()
        os.environ["BIENESTAR_DEMO"] = "1"
        self.stdout.write(self.style.MIGRATE_HEADING("1/4 Base de datos: migraciones"))
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write(self.style.MIGRATE_HEADING("2/4 Datos de referencia"))
        # A refused official file is reported and left out; the demo goes on with the rest.
        call_command("load_reference", allow_refused=True)
        self.stdout.write(
            self.style.MIGRATE_HEADING(
                f"3/4 Red sintética ({opts['people']} personas, semilla {opts['seed']})"
            )
        )
        call_command(
            "synth",
            people=opts["people"],
            seed=opts["seed"],
            as_of=timezone.localdate(),
            months=DEMO_MONTHS,
        )
        self.stdout.write(self.style.MIGRATE_HEADING("4/4 Usuarios de demostración"))
        logins, password = ensure_demo_users()
        seed_demo_agenda(User.objects.get(username="medico"), seed=opts["seed"])
        queue_indicator_refresh(User.objects.get(username="central"))
        url = f"http://127.0.0.1:{opts['port']}"
        self.stdout.write("")
        self.stdout.write(
            self.style.SUCCESS(f"Listo en {time.monotonic() - started:.0f} s. Bienestar: {url}")
        )
        self.stdout.write(f"Contraseña de todos los usuarios de demostración: {password}")
        width = max(len(login.username) for login in logins)
        for login in logins:
            self.stdout.write(f"  {login.username.ljust(width)}  {login.role}: {login.description}")
        self.stdout.write(
            f"API: {url}/api/docs   ·   token: .venv/bin/bienestar token create integrador"
        )
        if opts["no_serve"]:
            return
        start_worker(self.stdout)
        call_command("serve", port=opts["port"])
