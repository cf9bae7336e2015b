"""Fixtures of the reliability suite: the world of `helpers.build_world`, and `serve()`, which starts
`bienestar serve` against the test database and stops it before the database is flushed."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bienestar.ops.bench import server as server_mod

from .helpers import World, build_world, child_database_url


@pytest.fixture
def world(geo, users) -> World:  # type: ignore[no-untyped-def]
    return build_world(geo, users)


@pytest.fixture
def serve(transactional_db) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """A factory: `serve()` starts `bienestar serve` on a free port against this test's database
    (committed data only: the test must be transactional). Every server started is stopped (or
    killed) before the database is flushed."""
    started: list[server_mod.Server] = []
    log_dir = Path(tempfile.gettempdir())

    def start(workers: int = 2, threads: int = 4) -> server_mod.Server:
        srv = server_mod.start(
            child_database_url(),
            workers=workers,
            threads=threads,
            log=log_dir / f"bienestar-reliability-{os.getpid()}-{len(started)}.log",
        )
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.stop()
