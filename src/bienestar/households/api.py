"""Households API: scoped to the caller's territory and audited like persons."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import HttpRequest
from ninja import Query, Router, Status

from bienestar.access.api_auth import request_actor
from bienestar.access.errors import OutOfScope
from bienestar.access.scopes import reads, writes
from bienestar.core.api import MAX_LIMIT, MAX_OFFSET, page
from bienestar.households import selectors, services
from bienestar.households.schemas import (
    HouseholdDetailOut,
    HouseholdIn,
    HouseholdOut,
    HouseholdPage,
    MemberEndIn,
    MemberIn,
    MemberOut,
    household_out,
    member_out,
)
from bienestar.people.selectors import persons_visible_to
from bienestar.territories.api import PATH_PATTERN

router = Router(tags=["households"])


@router.get(
    "/",
    response=HouseholdPage,
    summary="Households visible to the caller",
    openapi_extra=reads("Group"),
)
def household_list(
    request: HttpRequest,
    territory: str | None = Query(
        None,
        max_length=120,
        pattern=PATH_PATTERN,
        description="Territory path; includes everything inside it",
    ),
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> dict[str, Any]:
    rows, total = selectors.household_list(
        request_actor(request), territory_path=territory, limit=limit, offset=offset
    )
    return page(
        request, items=[household_out(h) for h in rows], limit=limit, offset=offset, count=total
    )


@router.get(
    "/{public_id}",
    response=HouseholdDetailOut,
    summary="One household with its members",
    openapi_extra=reads("Group"),
)
def household_detail(
    request: HttpRequest, public_id: UUID, include_past: bool = False
) -> dict[str, Any]:
    view = selectors.household_get(
        request_actor(request), public_id=public_id, include_past=include_past
    )
    h = view.household
    return {
        **household_out(h),
        "created_at": h.created_at,
        "updated_at": h.updated_at,
        "members": [member_out(m) for m in view.members],
    }


@router.post(
    "/", response={201: HouseholdOut}, summary="Register a household", openapi_extra=writes("Group")
)
def household_create(request: HttpRequest, payload: HouseholdIn) -> Status[dict[str, Any]]:
    data = payload.model_dump()
    territory_path = data.pop("territory")
    household = services.household_register(
        request_actor(request), data=services.HouseholdInput(territory_path=territory_path, **data)
    )
    return Status(201, household_out(household))


@router.post(
    "/{public_id}/members",
    response={201: MemberOut},
    summary="Add a member",
    openapi_extra=writes("Group"),
)
def household_member_add(
    request: HttpRequest, public_id: UUID, payload: MemberIn
) -> Status[dict[str, Any]]:
    actor = request_actor(request)
    household = selectors.household_for_write(actor, public_id=public_id)
    person = persons_visible_to(actor).filter(public_id=payload.person).first()
    if person is None:
        raise OutOfScope()
    member = services.household_member_add(
        actor,
        household=household,
        person=person,
        relationship=payload.relationship,
        since=payload.since,
    )
    return Status(201, member_out(member))


@router.post(
    "/{public_id}/members/{member_id}/end",
    response=MemberOut,
    summary="End a membership",
    openapi_extra=writes("Group"),
)
def household_member_end(
    request: HttpRequest, public_id: UUID, member_id: UUID, payload: MemberEndIn
) -> dict[str, Any]:
    actor = request_actor(request)
    household = selectors.household_for_write(actor, public_id=public_id)
    member = selectors.household_member_for_write(actor, household=household, public_id=member_id)
    return member_out(services.household_member_end(actor, member=member, until=payload.until))
