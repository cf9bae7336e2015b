"""Referrals API, mounted at /api/referrals/: send, follow and answer referrals between units.
Thin: scope, sides, permissions and audit live in the services and selectors."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from bienestar.access.api_auth import request_actor
from bienestar.access.scopes import reads, writes
from bienestar.core.api import NO_NUL
from bienestar.referrals import selectors, services
from bienestar.referrals.models import Referral

router = Router(tags=["referrals"])
REFERRAL = ("ServiceRequest", "Task")


class ReferralIn(Schema):
    person: UUID
    destination: UUID
    priority: str = Field(..., pattern=r"^(routine|urgent|emergency)$")
    reason: str = Field(..., min_length=1, max_length=500, pattern=NO_NUL)
    diagnosis_code: str = Field(..., min_length=3, max_length=10, pattern=NO_NUL)
    clinical_summary: str = Field("", max_length=5000, pattern=NO_NUL)
    care_route: str = Field("", max_length=30, pattern=NO_NUL)
    facility: UUID | None = None
    send: bool = True


class StatusIn(Schema):
    status: str = Field(..., max_length=12, pattern=NO_NUL)
    reason: str = Field("", max_length=300, pattern=NO_NUL)
    expected_status: str | None = Field(None, max_length=12, pattern=NO_NUL)


class BookIn(Schema):
    slot: str = Field(..., max_length=64, pattern=NO_NUL)


class CounterIn(Schema):
    attended: bool
    not_attended_reason: str = Field("", max_length=300, pattern=NO_NUL)
    diagnosis_code: str = Field("", max_length=10, pattern=NO_NUL)
    plan: str = Field("", max_length=5000, pattern=NO_NUL)
    return_instructions: str = Field("", max_length=5000, pattern=NO_NUL)


class CounterOut(Schema):
    attended: bool
    not_attended_reason: str
    diagnosis_code: str
    diagnosis_text: str
    plan: str
    return_instructions: str


class ReferralOut(Schema):
    public_id: UUID
    person: UUID
    origin_facility: UUID
    destination_facility: UUID
    priority: str
    care_route: str
    reason: str
    diagnosis_code: str
    diagnosis_text: str
    clinical_summary: str
    vitals: list[dict[str, Any]]
    status: str
    status_reason: str
    requested_at: dt.datetime | None
    due_by: dt.datetime | None
    appointment: UUID | None
    counter_referral: CounterOut | None


def _out(r: Referral) -> dict[str, Any]:
    counter = getattr(r, "counter_referral", None)
    return {
        "public_id": r.public_id,
        "person": r.person.public_id,
        "origin_facility": r.origin_facility.public_id,
        "destination_facility": r.destination_facility.public_id,
        "priority": r.priority,
        "care_route": r.care_route,
        "reason": r.reason,
        "diagnosis_code": r.diagnosis_code,
        "diagnosis_text": r.diagnosis_text,
        "clinical_summary": r.clinical_summary,
        "vitals": r.vitals,
        "status": r.status,
        "status_reason": r.status_reason,
        "requested_at": r.requested_at,
        "due_by": r.due_by,
        "appointment": r.appointment.public_id if r.appointment_id and r.appointment else None,
        "counter_referral": (
            {
                "attended": counter.attended,
                "not_attended_reason": counter.not_attended_reason,
                "diagnosis_code": counter.diagnosis_code,
                "diagnosis_text": counter.diagnosis_text,
                "plan": counter.plan,
                "return_instructions": counter.return_instructions,
            }
            if counter is not None
            else None
        ),
    }


def _fresh(request: HttpRequest, referral: Referral) -> dict[str, Any]:
    return _out(
        selectors.referral_get(request_actor(request), referral=referral.public_id, audit=False)
    )


@router.post(
    "/", response={201: ReferralOut}, summary="Send a referral", openapi_extra=writes(*REFERRAL)
)
def referral_create(request: HttpRequest, payload: ReferralIn) -> Status[dict[str, Any]]:
    r = services.referral_create(
        request_actor(request),
        person=payload.person,
        destination=payload.destination,
        priority=payload.priority,
        reason=payload.reason,
        diagnosis_code=payload.diagnosis_code,
        clinical_summary=payload.clinical_summary,
        care_route=payload.care_route,
        facility=payload.facility,
        send=payload.send,
    )
    return Status(201, _fresh(request, r))


@router.get(
    "/received",
    response=list[ReferralOut],
    summary="Open referrals to my unit",
    openapi_extra=reads(*REFERRAL),
)
def referrals_received(request: HttpRequest) -> list[dict[str, Any]]:
    return [_out(r) for r in selectors.referrals_received(request_actor(request))]


@router.get(
    "/persons/{person}",
    response=list[ReferralOut],
    summary="A person's referrals",
    openapi_extra=reads(*REFERRAL),
)
def referrals_of_person(request: HttpRequest, person: UUID) -> list[dict[str, Any]]:
    return [_out(r) for r in selectors.referrals_of_person(request_actor(request), person=person)]


@router.get(
    "/{public_id}", response=ReferralOut, summary="One referral", openapi_extra=reads(*REFERRAL)
)
def referral_detail(request: HttpRequest, public_id: UUID) -> dict[str, Any]:
    return _out(selectors.referral_get(request_actor(request), referral=public_id))


@router.post(
    "/{public_id}/status",
    response=ReferralOut,
    summary="Receive, accept, reject, cancel, attend",
    openapi_extra=writes(*REFERRAL),
)
def referral_status(request: HttpRequest, public_id: UUID, payload: StatusIn) -> dict[str, Any]:
    r = services.referral_transition(
        request_actor(request),
        referral=public_id,
        to=payload.status,
        reason=payload.reason,
        expected_status=payload.expected_status,
    )
    return _fresh(request, r)


@router.post(
    "/{public_id}/book",
    response=ReferralOut,
    summary="Book the person at the receiving unit",
    openapi_extra=writes(*REFERRAL, "Appointment"),
)
def referral_book(request: HttpRequest, public_id: UUID, payload: BookIn) -> dict[str, Any]:
    r = services.referral_book(request_actor(request), referral=public_id, slot=payload.slot)
    return _fresh(request, r)


@router.post(
    "/{public_id}/counter-referral",
    response=ReferralOut,
    summary="Answer with a counter-referral",
    openapi_extra=writes(*REFERRAL),
)
def counter_referral(request: HttpRequest, public_id: UUID, payload: CounterIn) -> dict[str, Any]:
    answer = services.counter_referral_record(
        request_actor(request),
        referral=public_id,
        attended=payload.attended,
        not_attended_reason=payload.not_attended_reason,
        diagnosis_code=payload.diagnosis_code,
        plan=payload.plan,
        return_instructions=payload.return_instructions,
    )
    return _fresh(request, answer.referral)
