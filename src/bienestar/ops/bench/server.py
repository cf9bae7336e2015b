"""Start `bienestar serve` (gunicorn) as a child process on a free loopback port, and stop it.

Used by the HTTP benchmarks and by the reliability suite (tests/reliability), which also kill it
with SIGKILL on purpose. The child gets its own process group so that the master and its workers
can be signalled together, and nothing but the processes started here is ever signalled.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A running `bienestar serve`. `url` is its base URL (no trailing slash)."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path
    env: dict[str, str] = field(repr=False, default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def worker_pids(self) -> list[int]:
        import psutil

        try:
            return [c.pid for c in psutil.Process(self.process.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def kill(self) -> None:
        """SIGKILL the master and its workers at once: no graceful shutdown, no atexit."""
        pids = self.worker_pids()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        for pid in pids:  # a worker that left the group still dies
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=25)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            self.kill()


def start(
    database_url: str,
    *,
    workers: int = 2,
    threads: int = 4,
    port: int | None = None,
    settings: str | None = None,
    log: Path | None = None,
    timeout: float = 60.0,
    extra_env: dict[str, str] | None = None,
) -> Server:
    """Start the server and wait until `/readyz` answers 200 (the database is reachable)."""
    port = port or free_port()
    env = dict(os.environ, DATABASE_URL=database_url, PORT=str(port), BIENESTAR_BIND=HOST)
    env.pop("BIENESTAR_EMBEDDED_DB", None)
    if settings:
        env["DJANGO_SETTINGS_MODULE"] = settings
    env.update(extra_env or {})
    log = log or Path(tempfile.gettempdir()) / f"bienestar-serve-{port}.log"
    argv = [
        sys.executable,
        "-m",
        "bienestar.cli",
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--threads",
        str(threads),
    ]
    with open(log, "wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and command
            argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(process=process, port=port, log=log, env=env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"bienestar serve exited with {process.returncode}: {tail(log)}")
        if get_status(f"{server.url}/readyz") == 200:
            return server
        time.sleep(0.2)
    server.kill()
    raise RuntimeError(f"bienestar serve did not become ready in {timeout:g} s: {tail(log)}")


def get_status(url: str, headers: dict[str, str] | None = None) -> int:
    try:
        req = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - loopback http only
        with urllib.request.urlopen(req, timeout=5) as response:  # noqa: S310
            status: Any = response.status
            return int(status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return 0


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
