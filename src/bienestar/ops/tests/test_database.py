import os
import subprocess
import sys
from pathlib import Path

import pytest

from bienestar.config import database


def test_database_url_is_used_as_is_and_nothing_is_started(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgresql://someone@db.example.org:5432/x")
    monkeypatch.setenv("BIENESTAR_HOME", str(tmp_path))
    assert database.database_url() == "postgresql://someone@db.example.org:5432/x"
    assert not (tmp_path / "pgdata").exists()


@pytest.mark.slow
def test_embedded_server_starts_survives_the_process_is_reused_and_stops(tmp_path):
    """Without DATABASE_URL the CLI starts an embedded server that outlives it and is reused."""
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["BIENESTAR_HOME"] = str(home)
    cli = [sys.executable, "-m", "bienestar.cli"]
    try:
        first = subprocess.run(
            [*cli, "db", "url"], env=env, capture_output=True, text=True, timeout=120
        )
        assert first.returncode == 0, first.stderr
        assert (home / "pgdata" / "PG_VERSION").exists()
        pid_file = home / "pgdata" / "postmaster.pid"
        pid = Path(pid_file).read_text().split()[0]
        ready = subprocess.run(
            [
                *cli,
                "dbshell",
                "--",
                "-tAc",
                "select extversion from pg_extension where extname='plpgsql'",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert ready.returncode == 0, ready.stderr
        second = subprocess.run(
            [*cli, "db", "url"], env=env, capture_output=True, text=True, timeout=120
        )
        assert second.stdout == first.stdout
        assert Path(pid_file).read_text().split()[0] == pid, (
            "a second start must reuse the running server"
        )
    finally:
        stopped = subprocess.run(
            [*cli, "db", "stop"], env=env, capture_output=True, text=True, timeout=120
        )
    assert stopped.returncode == 0, stopped.stderr
    assert not (home / "pgdata" / "postmaster.pid").exists()


def test_connection_url_round_trips_a_socket_directory_and_odd_credentials():
    """A child process gets the same database as Django's connection, whatever the host is: the
    embedded server's socket directory, or a TCP host with a password that needs escaping."""
    import dj_database_url

    for settings in (
        {"USER": "postgres", "HOST": "/work/x y/.bienestar/run", "PORT": "5433", "NAME": "test_b"},
        {
            "USER": "ana",
            "PASSWORD": "p@ss:/w%rd",
            "HOST": "db.example.org",
            "PORT": 5432,
            "NAME": "bienestar",
        },
        {"USER": "", "HOST": "", "PORT": "", "NAME": "test_bienestar"},
    ):
        parsed = dj_database_url.parse(database.connection_url(settings))
        expected_host = settings["HOST"] or "127.0.0.1"
        assert parsed["HOST"] == expected_host
        assert parsed["NAME"] == settings["NAME"]
        assert parsed["USER"] == (settings["USER"] or "postgres")
        assert parsed.get("PASSWORD", "") == settings.get("PASSWORD", "")
        assert str(parsed.get("PORT") or "") == str(settings["PORT"])
