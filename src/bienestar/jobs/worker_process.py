"""Starting a `bienestar worker` beside the demo server: a child process that stops with it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def start_worker(stdout: Any) -> subprocess.Popen[bytes]:
    """Start a worker as a child of this process. The server then replaces this process (exec),
    keeping its pid: the worker watches that pid and stops when it is gone; Ctrl-C in the
    terminal reaches both."""
    bienestar = Path(sys.executable).with_name("bienestar")
    command = [str(bienestar), "worker", "--exit-with-parent", str(os.getpid())]
    process = subprocess.Popen(command, env=dict(os.environ))  # noqa: S603 - our own command
    stdout.write(f"Trabajador de tareas en segundo plano: pid {process.pid}")
    return process
