"""The worker `bienestar demo` starts beside its server: it comes up on the database, and it
stops by itself when the demo process is gone (even SIGKILLed)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from procrastinate.contrib.django.models import ProcrastinateWorker

from bienestar.jobs.testing import clear_queue, database_url, wait_for

PARENT = (
    "import sys, time\n"
    "from bienestar.jobs.worker_process import start_worker\n"
    "child = start_worker(sys.stderr)\n"
    "print(child.pid, flush=True)\n"
    "time.sleep(600)\n"
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by init) is gone for our purpose.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split()[2] != "Z"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_demo_worker_comes_up_and_dies_with_the_demo(tmp_path) -> None:
    clear_queue()
    env = dict(os.environ, DATABASE_URL=database_url(), BIENESTAR_HOME=str(tmp_path))
    env.pop("BIENESTAR_EMBEDDED_DB", None)
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    try:
        wait_for(ProcrastinateWorker.objects.exists, timeout=120, what="the worker to register")

        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)

        wait_for(lambda: not _alive(child), timeout=60, what="the worker to stop")
    finally:
        if _alive(child):
            os.kill(child, signal.SIGKILL)
