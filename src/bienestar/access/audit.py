"""The audit log: who read or wrote which personal record, when, from where.

`audit_record` writes inside the caller's transaction, so a write and its audit row commit together.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone

from bienestar.access.actor import Actor
from bienestar.access.models import AuditEvent
from bienestar.core.sql import insert

_DIGEST_FIELDS = (
    "at",
    "actor_username",
    "role",
    "channel",
    "action",
    "resource_type",
    "resource_id",
    "person_id",
    "client_address",
    "query",
    "result_count",
    "result_ids",
)


def compute_digest(values: dict[str, Any]) -> str:
    def norm(v: Any) -> Any:
        if isinstance(v, datetime):
            return v.astimezone(UTC).isoformat(timespec="microseconds")
        return v

    payload = json.dumps(
        {k: norm(values.get(k)) for k in _DIGEST_FIELDS}, sort_keys=True, default=str
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def build_event(
    actor: Actor,
    *,
    action: str,
    resource_type: str,
    resource_id: str = "",
    person_id: int | None = None,
    query: dict[str, Any] | None = None,
    result_ids: Sequence[str] | None = None,
    person_ids: Sequence[int] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """One audit row. `person_ids`: the persons the row discloses besides `person_id` (the people a
    search or a queue listed), so that filtering the log by person finds this row too."""
    values: dict[str, Any] = {
        "at": at or timezone.now(),
        "actor_username": actor.username,
        "role": actor.role,
        "channel": actor.channel,
        "action": action,
        "resource_type": resource_type,
        "resource_id": str(resource_id),
        "person_id": person_id,
        "client_address": actor.client_address,
        "query": query,
        "result_count": len(result_ids) if result_ids is not None else None,
        "result_ids": list(result_ids) if result_ids is not None else None,
    }
    values["digest"] = compute_digest(values)
    listed = sorted(set(person_ids or ()) - {person_id}) if person_ids is not None else None
    return AuditEvent(actor=actor.user, person_ids=listed or None, **values)


def audit_record(actor: Actor, **kwargs: Any) -> AuditEvent:
    event = build_event(actor, **kwargs)
    insert([event])  # what save(force_insert=True) sends, without the ORM's per-call compiling
    return event


def audit_many(actor: Actor, events: list[dict[str, Any]]) -> None:
    AuditEvent.objects.bulk_create([build_event(actor, **e) for e in events])
