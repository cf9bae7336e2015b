"""Who am I, and the caller's own API tokens."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from django.http import HttpRequest
from django.utils import timezone
from ninja import Path, Router, Schema

from bienestar.access.api_auth import request_actor
from bienestar.access.errors import NotAuthenticated
from bienestar.access.models import ApiToken
from bienestar.access.roles import ROLE_PERMISSIONS, Role
from bienestar.access.scopes import reads, writes
from bienestar.access.tokens import token_for_prefix, token_revoke

router = Router(tags=["access"])


class TerritoryRef(Schema):
    path: str
    name: str
    kind: str


class FacilityRef(Schema):
    public_id: UUID
    clues: str | None
    name: str


class TokenOut(Schema):
    prefix: str
    name: str
    scopes: list[str]
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None
    active: bool
    current: bool


class MeOut(Schema):
    username: str
    full_name: str
    role: str
    role_label: str
    permissions: list[str]
    territory: TerritoryRef | None
    facility: FacilityRef | None
    authenticated_by: str
    token: TokenOut | None


def _token_out(row: ApiToken, current: ApiToken | None) -> dict[str, Any]:
    now = timezone.now()
    return {
        "prefix": row.prefix,
        "name": row.name,
        "scopes": row.scopes.split(),
        "created_at": row.created_at,
        "expires_at": row.expires_at,
        "last_used_at": row.last_used_at,
        "revoked_at": row.revoked_at,
        "active": row.revoked_at is None and (row.expires_at is None or row.expires_at > now),
        "current": current is not None and current.pk == row.pk,
    }


@router.get(
    "/me",
    response=MeOut,
    summary="Who am I: role, permissions, territory",
    openapi_extra=reads("Account"),
)
def me(request: HttpRequest) -> dict[str, Any]:
    actor = request_actor(request)
    user = actor.user
    if user is None:
        raise NotAuthenticated()
    current: ApiToken | None = getattr(request, "api_token", None)
    territory = user.territory
    facility = user.facility
    role_label = str(Role(user.role).label) if user.role in Role.values else ""
    return {
        "username": user.get_username(),
        "full_name": user.get_full_name(),
        "role": user.role,
        "role_label": role_label,
        "permissions": sorted(p.value for p in ROLE_PERMISSIONS.get(user.role, frozenset())),
        "territory": {"path": territory.path, "name": territory.name, "kind": territory.kind}
        if territory
        else None,
        "facility": {
            "public_id": facility.public_id,
            "clues": facility.clues,
            "name": facility.name,
        }
        if facility
        else None,
        "authenticated_by": "token" if current is not None else "session",
        "token": _token_out(current, current) if current is not None else None,
    }


@router.get(
    "/tokens",
    response=list[TokenOut],
    summary="The caller's own API tokens",
    openapi_extra=reads("ApiToken"),
)
def token_list(request: HttpRequest) -> list[dict[str, Any]]:
    actor = request_actor(request)
    if actor.user is None:
        raise NotAuthenticated()
    current: ApiToken | None = getattr(request, "api_token", None)
    return [
        _token_out(row, current)
        for row in ApiToken.objects.filter(user=actor.user).order_by("-created_at", "-id")
    ]


@router.delete(
    "/tokens/{prefix}",
    response=TokenOut,
    summary="Revoke one of the caller's own tokens",
    openapi_extra=writes("ApiToken"),
)
def token_revoke_own(
    request: HttpRequest,
    prefix: str = Path(..., min_length=6, max_length=12, pattern=r"^[A-Za-z0-9_-]+$"),
) -> dict[str, Any]:
    actor = request_actor(request)
    if actor.user is None:
        raise NotAuthenticated()
    # Only among the caller's own tokens: another user's prefix is answered as not found.
    row = token_for_prefix(prefix=prefix, user=actor.user)
    token_revoke(token=row)
    return _token_out(row, getattr(request, "api_token", None))
