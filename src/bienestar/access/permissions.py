"""One typed function to check a permission; selectors and services call it first."""

from __future__ import annotations

from bienestar.access.actor import Actor
from bienestar.access.errors import Forbidden, NotAuthenticated
from bienestar.access.roles import Permission


def require(actor: Actor, permission: Permission) -> None:
    if not actor.is_authenticated:
        raise NotAuthenticated()
    if not actor.can(permission):
        raise Forbidden()
