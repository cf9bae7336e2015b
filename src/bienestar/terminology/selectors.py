"""Reads of the code systems. These are public reference data, not personal data: no actor, no audit."""

from __future__ import annotations

from django.db.models import QuerySet

from bienestar.terminology.models import CluesKey, Medicine


def clues_key_get(clues: str) -> CluesKey | None:
    """The national catalogue's entry for a CLUES key (any institution), or None if unknown."""
    return CluesKey.objects.filter(clues=(clues or "").strip().upper()).first()


def clues_key_exists(clues: str) -> bool:
    """True when the key is in the national CLUES catalogue loaded by `bienestar load-reference`."""
    return CluesKey.objects.filter(clues=(clues or "").strip().upper()).exists()


def medicines() -> QuerySet[Medicine]:
    """The national medicine catalogue (public reference data)."""
    return Medicine.objects.order_by("key")
