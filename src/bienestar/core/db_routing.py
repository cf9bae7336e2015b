"""Read replica routing (ADR 0010): reads go to the replica only when a selector says it tolerates lag.

Nothing goes to the replica by accident. The router sends every implicit read and every write to the
primary; a selector opts in by passing its query set through `lag_tolerant(qs)`, which picks the
replica only when

- a replica is configured (`DATABASE_REPLICA_URL` → the `replica` alias),
- the caller is not inside a transaction on the primary (a service reading what it is writing), and
- nothing in the current request (or job scope) has written yet, nor did the same browser write a
  moment ago (the pin cookie): read-your-writes.

Writes that do not change what a user reads back (the audit row that every read records, the session,
the log-in throttle) do not pin the request to the primary; otherwise every audited read would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse

PRIMARY = DEFAULT_DB_ALIAS
REPLICA = "replica"
PIN_COOKIE = "bienestar_primary"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# Writes that nobody reads back in the next request (the audit row of a read, the token's
# last use, the session): they never pin a request to the primary.
_UNPINNED_LABELS = frozenset({"access.auditevent", "access.apitoken", "sessions.session"})
_UNPINNED_APPS = frozenset({"axes"})
_UNPINNED_TABLES = ("access_auditevent", "access_apitoken", "django_session", "axes_")
_WRITE_VERBS = ("INSERT", "UPDATE", "DELETE", "MERGE", "COPY", "TRUNCATE")

M = TypeVar("M", bound=Model)


@dataclass
class ReadScope:
    """Per request (or job): whether reads must stay on the primary, and whether it wrote."""

    pinned: bool = False
    wrote: bool = False

    def note_write(self) -> None:
        self.pinned = True
        self.wrote = True


_scope: ContextVar[ReadScope | None] = ContextVar("bienestar_read_scope", default=None)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def read_alias() -> str:
    """The alias a lag-tolerant read should use now (see the module docstring)."""
    if not replica_configured():
        return PRIMARY
    scope = _scope.get()
    if scope is not None and scope.pinned:
        return PRIMARY
    if connections[PRIMARY].in_atomic_block:
        return PRIMARY
    return REPLICA


def lag_tolerant(qs: QuerySet[M]) -> QuerySet[M]:
    """Mark a selector's read as tolerating replica lag (lists, dashboards, exports, batches).
    The alias is decided now: build the query set in the selector, evaluate it soon after."""
    return qs.using(read_alias())


@contextmanager
def read_scope(*, pinned: bool = False) -> Iterator[ReadScope]:
    """A request's or job's read scope; `pinned=True` keeps every read on the primary."""
    scope = ReadScope(pinned=pinned)
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)


def note_write() -> None:
    scope = _scope.get()
    if scope is not None:
        scope.note_write()


def _pins(model: type[Model]) -> bool:
    meta = model._meta
    return meta.app_label not in _UNPINNED_APPS and meta.label_lower not in _UNPINNED_LABELS


def _is_pinning_write(sql: str) -> bool:
    head = sql.lstrip()[:160]
    verb = head[:8].upper()
    if not verb.startswith(_WRITE_VERBS):
        return False
    return not any(table in head for table in _UNPINNED_TABLES)


class ReplicaRouter:
    """Writes, migrations and implicit reads: the primary. Reads of an object fetched from the replica
    follow it (Django's default for related lookups), which is what a lag-tolerant list wants."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str | None:
        return None

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        if _pins(model):
            note_write()
        return PRIMARY

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool | None:
        if {obj1._state.db, obj2._state.db} <= {PRIMARY, REPLICA, None}:
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return False if db == REPLICA else None


class ReadScopeMiddleware:
    """Opens the request's read scope. Requests that may write (any method but GET/HEAD/OPTIONS)
    read only from the primary; a request that wrote sets a short-lived cookie so that the pages the
    same browser asks for next (the redirect after a POST) also read from the primary."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not replica_configured():
            return self.get_response(request)
        pinned = request.method not in SAFE_METHODS or PIN_COOKIE in request.COOKIES
        with (
            read_scope(pinned=pinned) as scope,
            connections[PRIMARY].execute_wrapper(_watch_writes),
        ):
            response = self.get_response(request)
        if scope.wrote or request.method not in SAFE_METHODS:
            response.set_cookie(
                PIN_COOKIE,
                "1",
                max_age=settings.BIENESTAR_REPLICA_PIN_SECONDS,
                httponly=True,
                samesite="Lax",
            )
        return response


def _watch_writes(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
) -> Any:
    """Raw SQL writes (services write some rows without the ORM) pin the request too."""
    if _is_pinning_write(sql):
        note_write()
    return execute(sql, params, many, context)
