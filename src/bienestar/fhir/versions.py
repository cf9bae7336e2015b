"""Versions: ETags, If-Match, and the past versions kept for vread and _history (ADR 0006)."""

from __future__ import annotations

import re
from typing import Any

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from bienestar.fhir.errors import FhirError
from bienestar.fhir.models import ResourceVersion

_ETAG_RE = re.compile(r'^\s*(?:W/)?"?([A-Za-z0-9\-.]{1,64})"?\s*$')


def version_of(resource: dict[str, Any]) -> str:
    return str((resource.get("meta") or {}).get("versionId", "1"))


def etag(resource: dict[str, Any]) -> str:
    return f'W/"{version_of(resource)}"'


def parse_if_match(header: str) -> str:
    """The version an If-Match names (`W/"3"`, `"3"` or `3`); 400 when unreadable."""
    match = _ETAG_RE.match(header or "")
    if match is None:
        raise FhirError(400, _('If-Match debe nombrar una versión, p. ej. W/"3".'), code="invalid")
    return match.group(1)


def check_if_match(header: str, current_version: Any) -> None:
    """412 when the client's version is not the current one (someone changed the record since it
    was read). Called with the row locked, so the comparison cannot race with another update."""
    if not header:
        return
    wanted = parse_if_match(header)
    if wanted != str(current_version):
        raise FhirError(
            412,
            _(
                "La versión %(wanted)s ya no es la vigente (%(current)s): vuelva a leer el "
                "recurso y aplique su cambio sobre la versión actual."
            )
            % {"wanted": wanted, "current": current_version},
            code="conflict",
        )


def keep(resource: dict[str, Any], *, origin: str, person_id: int | None) -> None:
    """Keep this state of a resource (idempotent: a version is stored once)."""
    meta = resource.get("meta") or {}
    last_updated = parse_datetime(meta["lastUpdated"]) if meta.get("lastUpdated") else None
    # One INSERT … ON CONFLICT DO NOTHING (the unique constraint on type, id and version) rather
    # than get_or_create's SELECT, SAVEPOINT, INSERT and RELEASE: every FHIR write runs this.
    ResourceVersion.objects.bulk_create(
        [
            ResourceVersion(
                resource_type=resource["resourceType"],
                resource_id=resource["id"],
                version_id=version_of(resource),
                last_updated=last_updated,
                person_id=person_id,
                origin=origin,
                resource=resource,
            )
        ],
        ignore_conflicts=True,
    )


def past_version(resource_type: str, resource_id: str, version_id: str) -> dict[str, Any] | None:
    row = ResourceVersion.objects.filter(
        resource_type=resource_type, resource_id=resource_id, version_id=version_id
    ).first()
    return row.resource if row is not None else None


def past_versions(resource_type: str, resource_id: str) -> list[tuple[dict[str, Any], str]]:
    """Every kept version (resource, origin), newest first."""
    rows = ResourceVersion.objects.filter(
        resource_type=resource_type, resource_id=resource_id
    ).order_by("-recorded_at", "-id")
    out = [(r.resource, r.origin) for r in rows]
    out.sort(key=lambda item: _version_key(version_of(item[0])), reverse=True)
    return out


def _version_key(version_id: str) -> tuple[int, str]:
    return (int(version_id), "") if version_id.isdigit() else (0, version_id)
