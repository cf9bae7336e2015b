"""Facilities API: health centres, hospitals, pharmacies and warehouses, by filters, UUID or CLUES."""

from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Path, Query, Router

from bienestar.access.api_auth import request_actor
from bienestar.access.scopes import reads
from bienestar.core.api import MAX_LIMIT, MAX_OFFSET, NO_NUL, page
from bienestar.facilities import selectors
from bienestar.facilities.models import FacilityType, Institution
from bienestar.facilities.schemas import (
    FacilityDetailOut,
    FacilityPage,
    facility_detail_out,
    facility_out,
)
from bienestar.territories.api import PATH_PATTERN

router = Router(tags=["facilities"])


@router.get(
    "/", response=FacilityPage, summary="List facilities", openapi_extra=reads("Organization")
)
def facility_list(
    request: HttpRequest,
    institution: Institution | None = None,
    facility_type: Annotated[
        FacilityType | None, Query(alias="type", description="Facility type")
    ] = None,
    territory: str | None = Query(
        None,
        max_length=120,
        pattern=PATH_PATTERN,
        description="Territory path; includes everything inside it",
    ),
    level: int | None = Query(None, ge=1, le=3, description="Level of care"),
    in_operation: bool | None = None,
    q: str | None = Query(
        None, max_length=100, pattern=NO_NUL, description="Name contains, or exact CLUES"
    ),
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> dict[str, Any]:
    qs = selectors.facilities_list(
        request_actor(request),
        institution=institution,
        facility_type=facility_type,
        territory_path=territory,
        level_of_care=level,
        in_operation=in_operation,
        q=(q or "").strip() or None,
    )
    items = [facility_out(f) for f in qs[offset : offset + limit]]
    return page(request, items=items, limit=limit, offset=offset, count=qs.count())


@router.get(
    "/{key}",
    response=FacilityDetailOut,
    summary="One facility by public_id (UUID) or CLUES",
    openapi_extra=reads("Organization"),
)
def facility_detail(
    request: HttpRequest,
    key: str = Path(..., max_length=36, pattern=NO_NUL, examples=["HGIMB000011"]),
) -> dict[str, Any]:
    return facility_detail_out(selectors.facility_get(request_actor(request), key=key))
