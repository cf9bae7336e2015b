"""Audit of what the FHIR API discloses: one row per personal resource returned (a search of 20
patients writes 20 rows), in one INSERT. Writes are audited by the domain services themselves."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bienestar.access.actor import Actor
from bienestar.access.audit import audit_many
from bienestar.fhir.registry import ResourceDef

# Parameters whose values identify a person: the audit row records that they were used, not them.
_MASKED = ("identifier",)


def audit_query(
    interaction: str, resource_type: str, params: Sequence[tuple[str, str]] = ()
) -> dict[str, Any]:
    query: dict[str, Any] = {"fhir": interaction, "type": resource_type}
    if params:
        query["params"] = [
            [name, "<exact>" if any(m in name for m in _MASKED) else value]
            for name, value in params
        ]
    return query


def audit_rows(
    actor: Actor,
    definition: ResourceDef,
    rows: Sequence[Any],
    *,
    action: str,
    query: dict[str, Any],
    always: bool = False,
) -> None:
    """One audit row per row disclosed. With `always`, a search that disclosed nothing still
    leaves one row (who searched for what)."""
    if not definition.audit_type:
        return
    events: list[dict[str, Any]] = [
        {
            "action": action,
            "resource_type": definition.audit_type,
            "resource_id": str(getattr(row, definition.id_field)),
            "person_id": definition.person_id(row),
            "query": query,
        }
        for row in rows
    ]
    if not events and always:
        events.append(
            {
                "action": action,
                "resource_type": definition.audit_type,
                "query": query,
                "result_ids": [],
            }
        )
    if events:
        audit_many(actor, events)
