"""Routers of the registry apps, mounted on the JSON API."""

from __future__ import annotations

from ninja import Router


def routers() -> list[tuple[str, Router]]:
    return []
