"""Routers of the registry apps (and households), mounted on the JSON API."""

from __future__ import annotations

from ninja import Router


def routers() -> list[tuple[str, Router]]:
    from bienestar.clinical.api import router as clinical
    from bienestar.facilities.api import router as facilities
    from bienestar.households.api import router as households
    from bienestar.inventory.api import router as inventory
    from bienestar.inventory.supply_api import router as supply
    from bienestar.prescribing.api import router as prescriptions
    from bienestar.referrals.api import router as referrals
    from bienestar.scheduling.api import router as scheduling
    from bienestar.territories.api import router as territories
    from bienestar.workforce.api import router as workforce

    return [
        ("/territories/", territories),
        ("/facilities/", facilities),
        ("/workforce/", workforce),
        ("/households/", households),
        ("/clinical/", clinical),
        ("/inventory/", inventory),
        ("/supply/", supply),
        ("/prescriptions/", prescriptions),
        ("/scheduling/", scheduling),
        ("/referrals/", referrals),
    ]
