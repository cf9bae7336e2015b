"""API bearer tokens: create, authenticate, revoke; and the `bienestar token` command."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from bienestar.access.models import ApiToken
from bienestar.access.tokens import TOKEN_PREFIX, token_authenticate, token_create, token_revoke

pytestmark = pytest.mark.django_db


def test_create_stores_only_a_hash_and_authenticates(users):
    row, plain = token_create(user=users["clinician"], name="lab", scopes="patient/*.read")
    assert plain.startswith(TOKEN_PREFIX) and len(plain) > 40
    assert plain not in {row.token_hash, row.prefix}
    assert row.prefix == plain[:12]
    authenticated = token_authenticate(plain)
    assert authenticated is not None and authenticated.user == users["clinician"]


def test_authenticate_refuses_unknown_revoked_expired_and_inactive(users):
    assert token_authenticate("") is None
    assert token_authenticate("bnst_unknown") is None
    assert token_authenticate("not-even-our-prefix") is None

    row, plain = token_create(user=users["clinician"])
    token_revoke(token=row)
    assert token_authenticate(plain) is None

    row, plain = token_create(user=users["clinician"])
    ApiToken.objects.filter(pk=row.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert token_authenticate(plain) is None

    _row, plain = token_create(user=users["pharmacist"])
    users["pharmacist"].is_active = False
    users["pharmacist"].save()
    assert token_authenticate(plain) is None


def test_authenticate_records_last_use(users):
    row, plain = token_create(user=users["clinician"])
    assert row.last_used_at is None
    token_authenticate(plain)
    row.refresh_from_db()
    assert row.last_used_at is not None


# --- the command -----------------------------------------------------------------------------------


def test_command_create_prints_only_the_token(users):
    out, err = StringIO(), StringIO()
    call_command(
        "token",
        "create",
        "clinician",
        "--name",
        "laboratorio",
        "--scopes",
        "patient/*.read  user/*.read",
        stdout=out,
        stderr=err,
    )
    plain = out.getvalue().strip()
    assert out.getvalue().count("\n") <= 1 and " " not in plain
    row = token_authenticate(plain)
    assert row is not None and row.user == users["clinician"]
    assert (row.name, row.scopes) == ("laboratorio", "patient/*.read user/*.read")


def test_command_create_for_an_unknown_or_inactive_user_fails(users):
    with pytest.raises(CommandError, match="no user"):
        call_command("token", "create", "nobody", stdout=StringIO())
    users["auditor"].is_active = False
    users["auditor"].save()
    with pytest.raises(CommandError, match="inactive"):
        call_command("token", "create", "auditor", stdout=StringIO())
    assert not ApiToken.objects.exists()


def test_command_revoke_by_prefix(users):
    out = StringIO()
    call_command("token", "create", "clinician", stdout=out)
    plain = out.getvalue().strip()
    out = StringIO()
    call_command("token", "revoke", plain[:12], stdout=out)
    assert "revoked" in out.getvalue()
    assert plain not in out.getvalue()
    assert token_authenticate(plain) is None
    # Revoking again is harmless and says so.
    out = StringIO()
    call_command("token", "revoke", plain[:12], stdout=out)
    assert "already" in out.getvalue()


def test_command_revoke_unknown_or_ambiguous_prefix_fails(users):
    with pytest.raises(CommandError):
        call_command("token", "revoke", "bnst_nothing", stdout=StringIO())
    for _ in range(2):
        row, _plain = token_create(user=users["clinician"])
        ApiToken.objects.filter(pk=row.pk).update(prefix="bnst_same123")
    with pytest.raises(CommandError, match="prefijo"):
        call_command("token", "revoke", "bnst_same123", stdout=StringIO())
    assert ApiToken.objects.filter(revoked_at__isnull=True).count() == 2


def test_command_requires_an_action():
    with pytest.raises(CommandError):
        call_command("token")


@pytest.mark.django_db(transaction=True)
def test_cli_prints_only_the_token():
    """Through the real console script, as scripts use it: `TOKEN=$(bienestar token create ana)`."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from django.db import connection

    from bienestar.access.tests.factories import UserFactory
    from bienestar.config.database import connection_url

    UserFactory(username="cli-user")  # committed: the subprocess must see it
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get(
            "DJANGO_SETTINGS_MODULE", "bienestar.config.settings.test"
        ),
        "DATABASE_URL": connection_url(connection.settings_dict),
    }
    cli = str(Path(sys.executable).parent / "bienestar")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [cli, *args], capture_output=True, text=True, env=env, timeout=120, check=False
        )

    created = run("token", "create", "cli-user", "--name", "script")
    assert created.returncode == 0, created.stderr
    plain = created.stdout.strip()
    assert created.stdout == plain + "\n"
    assert token_authenticate(plain) is not None

    revoked = run("token", "revoke", plain[:12])
    assert revoked.returncode == 0, revoked.stderr
    assert token_authenticate(plain) is None

    missing = run("token", "create", "no-such-user")
    assert missing.returncode != 0 and missing.stdout == "" and "no user" in missing.stderr
