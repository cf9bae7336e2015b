"""JSON from strangers: parsed with a depth limit and no NUL characters, at the boundary.

A body nested thousands of levels deep makes the parser (and any recursive code after it) raise
RecursionError; a NUL (U+0000) cannot be stored in a PostgreSQL text column. Both are refused here,
before any door (FHIR, the JSON API) looks at the data, with a clear message."""

from __future__ import annotations

import json
from typing import Any

from django.utils.translation import gettext as _

# Deeper than any FHIR resource or API payload we accept (a Bundle of resources with contained
# resources and extensions stays under 20).
MAX_DEPTH = 64
NUL = "\x00"


class UnsafeJson(ValueError):
    """The text is JSON, but not acceptable: too deep, or a string holds NUL."""


def check_text(text: str) -> str | None:
    """A message when `text` (a parameter, a header) holds a NUL character, else None."""
    if NUL in text:
        return _("Los parámetros no pueden contener el carácter nulo (U+0000).")
    return None


def loads(raw: str | bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """`json.loads`, raising ValueError for invalid JSON and UnsafeJson for a document nested
    deeper than `max_depth` or holding a NUL character in a key or a string."""
    try:
        data = json.loads(raw)
    except RecursionError:
        raise UnsafeJson(too_deep(max_depth)) from None
    check(data, max_depth=max_depth)
    return data


def too_deep(max_depth: int) -> str:
    return _("El JSON anida más de %(n)d niveles.") % {"n": max_depth}


def check(data: Any, *, max_depth: int = MAX_DEPTH) -> None:
    """Walks a parsed document without recursion: UnsafeJson when too deep or holding NUL."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if NUL in value:
                raise UnsafeJson(_("El JSON contiene el carácter nulo (U+0000)."))
            continue
        if isinstance(value, dict):
            children: Any = value.items()
        elif isinstance(value, list):
            children = ((None, v) for v in value)
        else:
            continue
        if depth > max_depth:
            raise UnsafeJson(too_deep(max_depth))
        for key, child in children:
            if key is not None and NUL in key:
                raise UnsafeJson(_("El JSON contiene el carácter nulo (U+0000)."))
            if isinstance(child, (dict, list, str)):
                stack.append((child, depth + 1))


def body_limit_mb() -> str:
    """Django's DATA_UPLOAD_MAX_MEMORY_SIZE in MB, for the 413 messages (e.g. "2.5")."""
    from django.conf import settings

    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
    return f"{limit / (1024 * 1024):g}"
