"""Small pieces shared by every app's JSON API: pagination and safe text constraints.

Nothing here queries the database; schemas check shape only.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Schema

# PostgreSQL text cannot hold NUL; refusing it in the schema turns what would be a driver error
# (a 500) into a 422 that names the field.
NO_NUL = r"^[^\x00]*$"
MAX_LIMIT = 100
MAX_OFFSET = 10_000


class ErrorOut(Schema):
    error: str
    detail: str
    field: str | None = None


def next_link(request: HttpRequest, *, limit: int, offset: int, has_more: bool) -> str | None:
    """Path (with query) of the next page, or None on the last page."""
    if not has_more:
        return None
    params = request.GET.copy()
    params["limit"] = str(limit)
    params["offset"] = str(offset + limit)
    return f"{request.path}?{params.urlencode()}"


def page(
    request: HttpRequest, *, items: list[Any], limit: int, offset: int, count: int | None
) -> dict[str, Any]:
    """The page envelope: `count` (None when counting would cost a second audited query),
    `limit`, `offset`, `next` and `items`."""
    has_more = (offset + len(items) < count) if count is not None else len(items) >= limit
    return {
        "count": count,
        "limit": limit,
        "offset": offset,
        "next": next_link(request, limit=limit, offset=offset, has_more=has_more),
        "items": items,
    }
