"""`bienestar serve`: the production server (gunicorn), not Django's runserver."""

from __future__ import annotations

import os
import shutil
import sys
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve Bienestar with gunicorn on 127.0.0.1 (BIENESTAR_BIND to change the address)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--workers", type=int, default=int(os.environ.get("BIENESTAR_WORKERS", "0")) or None
        )
        parser.add_argument(
            "--threads", type=int, default=int(os.environ.get("BIENESTAR_THREADS", "4"))
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        call_command("collectstatic", interactive=False, verbosity=0)
        workers = opts["workers"] or max(2, (os.cpu_count() or 1) * 2)
        host = os.environ.get("BIENESTAR_BIND", "127.0.0.1")
        gunicorn = shutil.which("gunicorn", path=os.path.dirname(sys.executable)) or "gunicorn"
        argv = [
            gunicorn,
            "bienestar.config.wsgi:application",
            "--bind",
            f"{host}:{opts['port']}",
            "--workers",
            str(workers),
            "--threads",
            str(opts["threads"]),
            "--worker-class",
            "gthread",
            "--timeout",
            "120",
            "--graceful-timeout",
            "20",
            # Access logs carry query strings (a CURP can be one): keep them off.
            "--access-logfile",
            "-" if os.environ.get("BIENESTAR_ACCESS_LOG") == "1" else "/dev/null",
        ]
        self.stdout.write(f"Bienestar en http://{host}:{opts['port']}  ({workers} procesos)")
        sys.stdout.flush()
        # DATABASE_URL was resolved by the settings (embedded or external); workers inherit it.
        os.execv(gunicorn, argv)  # noqa: S606
