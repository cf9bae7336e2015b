"""API authentication: `Authorization: Bearer <token>`, or the page session (with CSRF)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer
from ninja.security.session import SessionAuth

from bienestar.access.actor import Actor, client_address
from bienestar.access.tokens import token_authenticate

API_CHANNEL = "api"


class BearerOrSession(HttpBearer):
    def __call__(self, request: HttpRequest) -> Any:
        header = request.headers.get("Authorization")
        if header:
            return super().__call__(request)
        # An anonymous caller gets 401, not the CSRF 403 that the session check would answer to an
        # unsafe method: there is no session to forge.
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        return SessionAuth()(request)

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        row = token_authenticate(token)
        if row is None:
            return None
        request.user = row.user
        request.api_token = row  # type: ignore[attr-defined]
        return row.user


def request_actor(request: HttpRequest) -> Actor:
    """The Actor of an authenticated API request (bearer token or session), channel `api`."""
    token = getattr(request, "api_token", None)
    user = getattr(request, "user", None)
    if user is not None and not user.is_authenticated:
        user = None
    scopes = frozenset(token.scopes.split()) if token is not None else frozenset()
    return Actor(
        user=user, client_address=client_address(request), channel=API_CHANNEL, scopes=scopes
    )
