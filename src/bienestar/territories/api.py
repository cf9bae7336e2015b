"""Territories API: the INEGI/Bogotá hierarchy and population denominators."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Path, Query, Router

from bienestar.access.api_auth import request_actor
from bienestar.access.scopes import reads
from bienestar.core.api import MAX_LIMIT, MAX_OFFSET, NO_NUL, page
from bienestar.territories import selectors
from bienestar.territories.models import TerritoryKind
from bienestar.territories.schemas import (
    PopulationOut,
    TerritoryDetailOut,
    TerritoryPage,
    population_out,
    territory_out,
)

router = Router(tags=["territories"])

PATH_PATTERN = r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$"


@router.get(
    "/", response=TerritoryPage, summary="List territories", openapi_extra=reads("Location")
)
def territory_list(
    request: HttpRequest,
    kind: TerritoryKind | None = None,
    parent: str | None = Query(
        None, max_length=120, pattern=PATH_PATTERN, description="Direct children of this path"
    ),
    within: str | None = Query(
        None, max_length=120, pattern=PATH_PATTERN, description="This path and everything inside"
    ),
    q: str | None = Query(
        None, max_length=100, pattern=NO_NUL, description="Name contains, or exact code"
    ),
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> dict[str, Any]:
    qs = selectors.territories_list(
        request_actor(request),
        kind=kind,
        parent_path=parent,
        within_path=within,
        q=(q or "").strip() or None,
    )
    items = [territory_out(t) for t in qs[offset : offset + limit]]
    return page(request, items=items, limit=limit, offset=offset, count=qs.count())


@router.get(
    "/{path}",
    response=TerritoryDetailOut,
    summary="One territory by path, with its populations",
    openapi_extra=reads("Location"),
)
def territory_detail(
    request: HttpRequest,
    path: str = Path(..., max_length=120, pattern=PATH_PATTERN, examples=["MX.20.067"]),
) -> dict[str, Any]:
    actor = request_actor(request)
    territory = selectors.territory_get(actor, path=path)
    populations = selectors.territory_populations(actor, territory=territory)
    return {
        **territory_out(territory),
        "updated_at": territory.updated_at,
        "populations": [population_out(p) for p in populations],
    }


@router.get(
    "/{path}/populations",
    response=list[PopulationOut],
    summary="Population denominators of a territory",
    openapi_extra=reads("Location"),
)
def territory_population_list(
    request: HttpRequest,
    path: str = Path(..., max_length=120, pattern=PATH_PATTERN),
    year: int | None = Query(None, ge=1900, le=2100),
) -> list[dict[str, Any]]:
    actor = request_actor(request)
    territory = selectors.territory_get(actor, path=path)
    return [
        population_out(p)
        for p in selectors.territory_populations(actor, territory=territory, year=year)
    ]
