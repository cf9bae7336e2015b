"""Workforce API: specialties, practitioners, and positions and staffing goals per facility."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import HttpRequest
from ninja import Path, Query, Router

from bienestar.access.api_auth import request_actor
from bienestar.access.scopes import reads
from bienestar.core.api import MAX_LIMIT, MAX_OFFSET, NO_NUL, page
from bienestar.facilities.schemas import facility_ref
from bienestar.workforce import selectors
from bienestar.workforce.schemas import (
    PositionOut,
    PractitionerOut,
    PractitionerPage,
    SpecialtyOut,
    StaffingOut,
    position_out,
    practitioner_out,
    specialty_out,
    staffing_line_out,
)

router = Router(tags=["workforce"])


@router.get(
    "/specialties",
    response=list[SpecialtyOut],
    summary="Specialties",
    openapi_extra=reads("PractitionerRole"),
)
def specialty_list(
    request: HttpRequest,
    core: bool | None = Query(None, description="Only the six core specialties"),
) -> list[dict[str, Any]]:
    return [specialty_out(s) for s in selectors.specialties_list(request_actor(request), core=core)]


@router.get(
    "/practitioners",
    response=PractitionerPage,
    summary="Practitioners",
    openapi_extra=reads("Practitioner"),
)
def practitioner_list(
    request: HttpRequest,
    q: str | None = Query(
        None,
        max_length=100,
        pattern=NO_NUL,
        description="Surname or given name contains, or exact licence",
    ),
    specialty: str | None = Query(
        None, max_length=40, pattern=NO_NUL, description="Specialty code"
    ),
    active: bool | None = None,
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> dict[str, Any]:
    qs = selectors.practitioners_list(
        request_actor(request), q=(q or "").strip() or None, specialty_code=specialty, active=active
    )
    items = [practitioner_out(p) for p in qs[offset : offset + limit]]
    return page(request, items=items, limit=limit, offset=offset, count=qs.count())


@router.get(
    "/practitioners/{public_id}",
    response=PractitionerOut,
    summary="One practitioner",
    openapi_extra=reads("Practitioner"),
)
def practitioner_detail(request: HttpRequest, public_id: UUID) -> dict[str, Any]:
    return practitioner_out(selectors.practitioner_get(request_actor(request), public_id=public_id))


@router.get(
    "/facilities/{key}/positions",
    response=list[PositionOut],
    summary="Positions at a facility",
    openapi_extra=reads("PractitionerRole"),
)
def facility_position_list(
    request: HttpRequest,
    key: str = Path(..., max_length=36, pattern=NO_NUL, description="public_id or CLUES"),
) -> list[dict[str, Any]]:
    _facility, positions = selectors.facility_positions(request_actor(request), facility_key=key)
    return [position_out(p) for p in positions]


@router.get(
    "/facilities/{key}/staffing",
    response=StaffingOut,
    summary="Staffing goals vs filled positions",
    openapi_extra=reads("PractitionerRole"),
)
def facility_staffing(
    request: HttpRequest,
    key: str = Path(..., max_length=36, pattern=NO_NUL, description="public_id or CLUES"),
) -> dict[str, Any]:
    facility, lines = selectors.facility_staffing(request_actor(request), facility_key=key)
    return {
        "facility": facility_ref(facility),
        "goal": sum(line.goal or 0 for line in lines),
        "filled": sum(line.filled for line in lines),
        "lines": [staffing_line_out(line) for line in lines],
    }
