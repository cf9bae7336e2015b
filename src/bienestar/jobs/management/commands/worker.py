"""`bienestar worker`: a background-job worker (Procrastinate) on this database.

Runs the tasks of every app's `tasks.py` and the periodic ones (each tick deferred once, whatever
the number of workers). Stop it with SIGINT/SIGTERM: it finishes the jobs in hand first. A worker
killed outright is noticed by the others through its missing heartbeat and its jobs run again.
`--exit-with-parent PID`: stop when that process is gone (`bienestar demo` starts one this way).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from procrastinate.contrib.django import app


def _watch_parent(pid: int) -> None:
    def watch() -> None:
        while os.getppid() == pid:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


class Command(BaseCommand):
    help = "Ejecuta un trabajador de tareas en segundo plano (Procrastinate)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--queues", default="", help="Colas separadas por comas (todas)")
        parser.add_argument("--concurrency", type=int, default=settings.JOBS_CONCURRENCY)
        parser.add_argument("--name", default=None)
        parser.add_argument("--once", action="store_true", help="Procesar lo pendiente y salir")
        parser.add_argument(
            "--keep-jobs",
            action="store_true",
            help="Conservar las tareas terminadas en la cola (medición)",
        )
        parser.add_argument("--exit-with-parent", type=int, default=0, help="PID del proceso padre")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["exit_with_parent"]:
            _watch_parent(opts["exit_with_parent"])
        queues = [q.strip() for q in opts["queues"].split(",") if q.strip()] or None
        name = opts["name"] or f"worker-{os.uname().nodename}-{os.getpid()}"
        self.stdout.write(f"Trabajador {name} en marcha (concurrencia {opts['concurrency']}).")
        self.stdout.flush()
        # Django's connector cannot LISTEN; the worker gets a psycopg pool of its own on the
        # same database (what `manage.py procrastinate worker` does).
        with app.replace_connector(app.connector.get_worker_connector()):  # type: ignore[attr-defined]
            app.run_worker(
                queues=queues,
                concurrency=opts["concurrency"],
                name=name,
                wait=not opts["once"],
                update_heartbeat_interval=settings.JOBS_HEARTBEAT_SECONDS,
                stalled_worker_timeout=settings.JOBS_STALLED_SECONDS,
                # The Job row keeps the history users see; the queue keeps only what is pending
                # or failed.
                delete_jobs="never" if opts["keep_jobs"] else "successful",
            )
