"""What every writer is made of, and the checks they share."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.fhir.errors import MappingError
from bienestar.fhir.params import uuid_or_none

# A client's clock and the server's may differ by this much: "now" in a resource means now.
CLOCK_SKEW = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class Writer:
    create: Callable[[Actor, dict[str, Any]], Any]
    # Applies the PUT to the locked row; returns whether a service wrote anything.
    update: Callable[[Actor, Any, dict[str, Any]], bool]
    # The row, scoped to the actor and locked until the transaction ends (None when not visible).
    # Its `version` is the resource's current versionId (compared with If-Match).
    lock: Callable[[Actor, str], Any]
    paths: dict[str, str]


def locked(qs: Any, resource_id: str) -> Any:
    public_id = uuid_or_none(resource_id)
    if public_id is None:
        return None
    return qs.select_for_update(of=("self",)).filter(public_id=public_id).first()


def unchangeable(path: str) -> MappingError:
    return MappingError(
        _("Este elemento no se puede cambiar por FHIR: %(path)s.") % {"path": path}, path
    )


def refuse_changes(checks: Iterable[tuple[bool, str]]) -> None:
    """422 naming the first element whose check failed (the element differs from the record)."""
    for ok, path in checks:
        if not ok:
            raise unchangeable(path)


def same_second(a: dt.datetime | None, b: dt.datetime | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.replace(microsecond=0) == b.replace(microsecond=0)


def require_now(moment: dt.datetime | None, path: str, message: Any) -> None:
    """A moment the service takes as "now" (when prescribed, when handed over): the resource may
    state it, but not another one."""
    if moment is not None and abs(moment - timezone.now()) > CLOCK_SKEW:
        raise MappingError(message, path)
