"""API authentication: `Authorization: Bearer <token>`, or the page session (with CSRF).

A bearer token is also checked against what the operation declares it touches
(`openapi_extra=reads(...)` / `writes(...)`, access.scopes): the same scope decision as on FHIR.
`declared_access` is the API-wide decorator (config/api.py) that hands the operation's declaration
to the authentication, which runs before the operation validates its input or does anything.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer
from ninja.security.session import SessionAuth

from bienestar.access.actor import Actor, client_address
from bienestar.access.scopes import Access, require_token_access, token_actor
from bienestar.access.tokens import token_authenticate

API_CHANNEL = "api"

_ACCESS_ATTR = "_bienestar_access"


def declared_access(run: Callable[..., Any]) -> Callable[..., Any]:
    """Ninja "view" decorator: `run` is the operation's bound run method; its `openapi_extra`
    holds the access declaration, put on the request for the authentication to check."""
    # Bound to its Operation, unless a per-operation `decorate_view` wrapped it first (functools.wraps
    # keeps the chain in __wrapped__).
    operation = getattr(inspect.unwrap(run), "__self__", None)
    access = Access.from_openapi(getattr(operation, "openapi_extra", None))

    @functools.wraps(run)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        setattr(request, _ACCESS_ATTR, access)
        return run(request, *args, **kwargs)

    return wrapper


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
        # Raises ScopeDenied (403, nothing run) when the token may not do what the operation does.
        require_token_access(
            token_actor(row, client_address=client_address(request), channel=API_CHANNEL),
            getattr(request, _ACCESS_ATTR, None),
            patient_bound=row.patient_public_id is not None,
        )
        request.user = row.user
        request.api_token = row  # type: ignore[attr-defined]
        return row.user


def request_actor(request: HttpRequest) -> Actor:
    """The Actor of an authenticated API request (bearer token or session), channel `api`."""
    token = getattr(request, "api_token", None)
    user = getattr(request, "user", None)
    if user is not None and not user.is_authenticated:
        user = None
    if token is not None:
        return token_actor(token, client_address=client_address(request), channel=API_CHANNEL)
    return Actor(user=user, client_address=client_address(request), channel=API_CHANNEL)
