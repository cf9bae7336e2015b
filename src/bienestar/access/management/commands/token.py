"""`bienestar token create USERNAME [--name N] [--scopes S] [--patient ID]` and `bienestar token revoke PREFIX`.

`create` prints only the token on stdout, so scripts can capture it: `TOKEN=$(bienestar token create ana)`.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bienestar.access.models import User
from bienestar.access.tokens import token_create, token_for_prefix, token_revoke
from bienestar.core.errors import DomainError


class Command(BaseCommand):
    help = "Create or revoke API bearer tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser(
            "create", help="Create a token for USERNAME and print it (only it) on stdout."
        )
        create.add_argument("username")
        create.add_argument(
            "--name", default="", help="What the token is for, e.g. 'lab integration'."
        )
        create.add_argument(
            "--scopes", default="", help="Space-separated SMART scopes, e.g. 'patient/*.read'."
        )
        create.add_argument(
            "--patient",
            default="",
            help="Bind the token to one patient (their FHIR Patient id): every FHIR read and write "
            "is then confined to that patient's records (SMART launch context, for patient/ scopes).",
        )
        revoke = sub.add_parser(
            "revoke", help="Revoke the token whose prefix (first 12 characters) is PREFIX."
        )
        revoke.add_argument("prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "create":
            self._create(
                options["username"], options["name"], options["scopes"], options["patient"]
            )
        else:
            self._revoke(options["prefix"])

    def _create(self, username: str, name: str, scopes: str, patient: str) -> None:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user named {username!r}")
        if not user.is_active:
            raise CommandError(f"user {username!r} is inactive")
        if len(name) > 120:
            raise CommandError("--name is longer than 120 characters")
        scopes = " ".join(scopes.split())
        if len(scopes) > 300:
            raise CommandError("--scopes is longer than 300 characters")
        patient_public_id = None
        if patient:
            from bienestar.people.models import Person

            try:
                patient_public_id = uuid.UUID(patient.strip())
            except ValueError:
                raise CommandError(f"--patient {patient!r} is not a Patient id (a UUID)") from None
            if not Person.objects.filter(public_id=patient_public_id).exists():
                raise CommandError(f"no patient with id {patient_public_id}")
        _row, plain = token_create(
            user=user, name=name, scopes=scopes, patient_public_id=patient_public_id
        )
        self.stdout.write(plain)

    def _revoke(self, prefix: str) -> None:
        try:
            row = token_for_prefix(prefix=prefix.strip())
        except DomainError as exc:
            raise CommandError(str(exc.message)) from None
        already = row.revoked_at is not None
        token_revoke(token=row)
        if already:
            self.stdout.write(f"token {row.prefix} of {row.user.username} was already revoked")
        else:
            self.stdout.write(f"revoked token {row.prefix} of {row.user.username}")
