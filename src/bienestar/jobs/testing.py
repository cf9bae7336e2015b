"""For tests: real `bienestar worker` processes on the test database, and an empty queue.

Procrastinate's tables are not Django-managed, so a transactional test's flush leaves them as
they were: `clear_queue` empties them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from django.db import connection

FAST = {
    "BIENESTAR_JOBS_HEARTBEAT_SECONDS": "0.5",
    "BIENESTAR_JOBS_STALLED_SECONDS": "2",
    "BIENESTAR_JOBS_REAPER_SECONDS": "1",
}


def database_url() -> str:
    """DATABASE_URL of the database this test runs on (pytest-django's test database)."""
    s = connection.settings_dict
    user = quote(s.get("USER") or "postgres", safe="")
    password = f":{quote(s['PASSWORD'], safe='')}" if s.get("PASSWORD") else ""
    host = s.get("HOST") or "127.0.0.1"
    host = quote(host, safe="") if host.startswith("/") else host
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgresql://{user}{password}@{host}{port}/{s['NAME']}"


def clear_queue() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE procrastinate_events, procrastinate_periodic_defers, procrastinate_jobs, "
            "procrastinate_workers CASCADE"
        )


class Worker:
    """A `bienestar worker` subprocess. `log` holds its output."""

    def __init__(self, log: Path, *, name: str, env: dict[str, str] | None = None) -> None:
        self.log = log
        environment = dict(os.environ, DATABASE_URL=database_url(), **FAST, **(env or {}))
        environment.pop("BIENESTAR_EMBEDDED_DB", None)
        bienestar = Path(sys.executable).with_name("bienestar")
        self._out = log.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - our own command
            [str(bienestar), "worker", "--name", name, "--concurrency", "2"],
            env=environment,
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        """SIGKILL: no clean-up, no goodbye to the database."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._out.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def wait_for(condition: Callable[[], object], *, timeout: float = 60, what: str = "") -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.1)
