"""API bearer tokens: created once, stored hashed, revocable."""

from __future__ import annotations

import hashlib
import secrets
import uuid

from django.utils import timezone
from django.utils.translation import gettext as _

from bienestar.access.models import ApiToken, User
from bienestar.core.errors import Conflict, NotFound

TOKEN_PREFIX = "bnst_"  # noqa: S105 - a public prefix, not a secret


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_create(
    *, user: User, name: str = "", scopes: str = "", patient_public_id: uuid.UUID | None = None
) -> tuple[ApiToken, str]:
    """Returns the stored token row and the plain token, which is never stored.

    `patient_public_id` binds the token to one patient (SMART launch context): the FHIR API then
    confines every read and write to that patient's records."""
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken.objects.create(
        user=user,
        prefix=plain[:12],
        token_hash=_hash(plain),
        name=name,
        scopes=scopes,
        patient_public_id=patient_public_id,
    )
    return row, plain


def token_revoke(*, token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])


def token_authenticate(plain: str) -> ApiToken | None:
    """The live token matching `plain`, or None (unknown, revoked, expired, or inactive user)."""
    if not plain or not plain.startswith(TOKEN_PREFIX):
        return None
    row = (
        ApiToken.objects.select_related("user", "user__territory")
        .filter(token_hash=_hash(plain))
        .first()
    )
    now = timezone.now()
    if row is None or row.revoked_at is not None or (row.expires_at and row.expires_at <= now):
        return None
    if not row.user.is_active:
        return None
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
    return row


def token_for_prefix(*, prefix: str, user: User | None = None) -> ApiToken:
    """The one token whose shown prefix is `prefix` (optionally, among `user`'s own).

    Raises NotFound when none matches and Conflict when the prefix is ambiguous (prefixes are 12
    characters of a random token, so a clash is rare but not impossible).
    """
    qs = ApiToken.objects.select_related("user").filter(prefix=prefix)
    if user is not None:
        qs = qs.filter(user=user)
    rows = list(qs[:2])
    if not rows:
        raise NotFound(_("No existe un token con ese prefijo."), field="prefix")
    if len(rows) > 1:
        raise Conflict(
            _("Varios tokens comparten ese prefijo; revóquelo desde la administración."),
            field="prefix",
        )
    return rows[0]
