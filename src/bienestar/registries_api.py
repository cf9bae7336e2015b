"""Routers of the registry apps (and households), mounted on the JSON API."""

from __future__ import annotations

from ninja import Router


def routers() -> list[tuple[str, Router]]:
    from bienestar.facilities.api import router as facilities
    from bienestar.households.api import router as households
    from bienestar.territories.api import router as territories
    from bienestar.workforce.api import router as workforce

    return [
        ("/territories/", territories),
        ("/facilities/", facilities),
        ("/workforce/", workforce),
        ("/households/", households),
    ]
