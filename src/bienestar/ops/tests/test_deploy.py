import os
import secrets
import subprocess
import sys


def test_check_deploy_is_clean_under_production_settings():
    # The browser tests' conftest sets DJANGO_ALLOW_ASYNC_UNSAFE for this process; a deployment never does.
    base = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = dict(
        base,
        BIENESTAR_SECRET_KEY=secrets.token_urlsafe(60),
        BIENESTAR_ALLOWED_HOSTS="salud.example.org",
        DJANGO_SETTINGS_MODULE="bienestar.config.settings.prod",
    )
    result = subprocess.run(
        [sys.executable, "-m", "bienestar.cli", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_refuse_to_start_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k not in ("BIENESTAR_SECRET_KEY", "SECRET_KEY")}
    env["DJANGO_SETTINGS_MODULE"] = "bienestar.config.settings.prod"
    result = subprocess.run(
        [sys.executable, "-m", "bienestar.cli", "check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "BIENESTAR_SECRET_KEY" in result.stderr
