"""Invariants `bienestar verify` checks. Each check returns a list of problems (empty when it holds).

Checks are plain SQL so they scale to national tables and catch rows written around the services.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from django.db import connection

from bienestar.access.audit import compute_digest
from bienestar.access.models import AuditEvent
from bienestar.people import national_id

Check = Callable[[], list[str]]
MAX_REPORTED = 20


def _rows(sql: str, params: list[Any] | None = None) -> list[tuple[object, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return list(cursor.fetchall())


def audit_triggers_present() -> list[str]:
    rows = _rows(
        """SELECT tgname FROM pg_trigger
           WHERE tgrelid = 'access_auditevent'::regclass AND tgenabled <> 'D' AND NOT tgisinternal"""
    )
    present = {r[0] for r in rows}
    missing = {"audit_no_update_delete", "audit_no_truncate"} - present
    return [
        f"audit log: trigger {name} is missing or disabled (the log is no longer append-only)"
        for name in sorted(missing)
    ]


def _audit_events() -> Iterator[AuditEvent]:
    return AuditEvent.objects.order_by("id").iterator(chunk_size=5000)


def audit_digests_match() -> list[str]:
    problems = []
    for event in _audit_events():
        values = {
            f: getattr(event, f)
            for f in (
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
        }
        if compute_digest(values) != event.digest:
            problems.append(
                f"audit log: row {event.id} was altered after it was written (digest mismatch)"
            )
            if len(problems) >= MAX_REPORTED:
                break
    return problems


def merges_consistent() -> list[str]:
    problems = []
    for pid, target_status in _rows(
        """SELECT p.public_id, t.status FROM people_person p JOIN people_person t ON t.id = p.merged_into_id
           WHERE t.status <> 'active' LIMIT %s""",
        [MAX_REPORTED],
    ):
        problems.append(
            f"person {pid}: merged into a person that is itself {target_status} (chained merge)"
        )
    for (pid,) in _rows(
        """SELECT p.public_id FROM people_person p WHERE p.status = 'merged' AND NOT EXISTS (
               SELECT 1 FROM people_personmerge m WHERE m.merged_id = p.id AND m.survivor_id = p.merged_into_id
               AND m.undone_at IS NULL) LIMIT %s""",
        [MAX_REPORTED],
    ):
        problems.append(f"person {pid}: marked merged but no open merge record explains it")
    for (mid,) in _rows(
        """SELECT m.id FROM people_personmerge m JOIN people_person p ON p.id = m.merged_id
           WHERE m.undone_at IS NULL AND (p.status <> 'merged' OR p.merged_into_id <> m.survivor_id) LIMIT %s""",
        [MAX_REPORTED],
    ):
        problems.append(
            f"merge {mid}: open, but the absorbed person is not merged into its survivor"
        )
    return problems


def national_ids_valid() -> list[str]:
    problems = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT public_id, national_health_id FROM people_person")
        while batch := cursor.fetchmany(10000):
            for pid, value in batch:
                if not national_id.is_valid(value):
                    problems.append(f"person {pid}: national health ID fails its check character")
                    if len(problems) >= MAX_REPORTED:
                        return problems
    for (pid,) in _rows(
        """SELECT p.public_id FROM people_person p LEFT JOIN people_issuedhealthid i ON i.value = p.national_health_id
           WHERE i.value IS NULL LIMIT %s""",
        [MAX_REPORTED],
    ):
        problems.append(f"person {pid}: national health ID missing from the issued-ID registry")
    return problems


def _domain_checks() -> list[tuple[str, Check]]:
    from bienestar.clinical.checks import checks as clinical_checks
    from bienestar.inventory.checks import checks as inventory_checks
    from bienestar.prescribing.checks import checks as prescribing_checks

    return [*clinical_checks(), *inventory_checks(), *prescribing_checks()]


CHECKS: list[tuple[str, Check]] = [
    ("audit log is append-only", audit_triggers_present),
    ("audit rows unaltered", audit_digests_match),
    ("merges consistent", merges_consistent),
    ("national health IDs valid and registered", national_ids_valid),
    *_domain_checks(),
]
