"""Supply API at /api/supply/: requisitions (pull and pushed kits), approval, FEFO shipment,
receipt with differences, lot status, reversals, replenishment. Thin: the services and selectors
check permissions and rules (the pages go through the same ones).

Facilities are named by public_id (UUID) or CLUES; requisitions, shipments, lots and ledger rows by
public_id. Quantities are strict JSON integers.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import StrictInt

from bienestar.access.api_auth import request_actor
from bienestar.access.scopes import reads, writes
from bienestar.core.api import MAX_LIMIT, MAX_OFFSET, NO_NUL, page
from bienestar.core.errors import ValidationFailed
from bienestar.facilities.selectors import facility_get
from bienestar.inventory import network, services, shipments, supply_selectors
from bienestar.inventory.api import FACILITY_KEY, MEDICINE_KEY, MovementOut, _movement
from bienestar.inventory.corrections import stock_reverse
from bienestar.inventory.models import LotStatus
from bienestar.inventory.selectors import lot_get
from bienestar.inventory.supply_models import (
    DifferenceReason,
    Requisition,
    RequisitionStatus,
    Shipment,
    ShipmentStatus,
)

router = Router(tags=["supply"])


class FacilityRef(Schema):
    public_id: UUID
    clues: str
    name: str


class RequisitionLineOut(Schema):
    medicine: str
    generic_name: str
    suggested: int
    requested: int
    approved: int | None


class RequisitionOut(Schema):
    public_id: UUID
    kind: str
    status: RequisitionStatus
    requester: FacilityRef
    supplier: FacilityRef
    note: str
    created_at: dt.datetime
    created_by: str
    decided_by: str
    decided_at: dt.datetime | None
    lines: list[RequisitionLineOut]
    shipments: list[UUID]


class RequisitionPage(Schema):
    count: int
    limit: int
    offset: int
    next: str | None
    items: list[RequisitionOut]


class ShipmentLineOut(Schema):
    number: int = Field(..., description="The line's number within its shipment (1, 2, 3...)")
    medicine: str
    generic_name: str
    lot_number: str
    expiry: dt.date
    shipped: int
    received: int | None
    difference_reason: str


class ShipmentOut(Schema):
    public_id: UUID
    status: ShipmentStatus
    origin: FacilityRef
    destination: FacilityRef
    requisition: UUID | None
    dispatched_at: dt.datetime
    dispatched_by: str
    received_at: dt.datetime | None
    received_by: str
    in_transit: int
    lines: list[ShipmentLineOut]


class ShipmentPage(Schema):
    count: int
    limit: int
    offset: int
    next: str | None
    items: list[ShipmentOut]


class WantedIn(Schema):
    medicine: str = Field(..., pattern=MEDICINE_KEY)
    quantity: StrictInt = Field(..., gt=0)
    suggested: StrictInt = Field(0, ge=0)


class RequisitionIn(Schema):
    note: str = Field("", max_length=300, pattern=NO_NUL)
    lines: list[WantedIn] = Field(..., min_length=1, max_length=services.MAX_LINES)


class KitIn(RequisitionIn):
    to_facility: str = Field(..., max_length=36, pattern=NO_NUL, description="UUID or CLUES")


class ApprovedIn(Schema):
    medicine: str = Field(..., pattern=MEDICINE_KEY)
    approved: StrictInt = Field(..., ge=0)


class ApprovalIn(Schema):
    lines: list[ApprovedIn] = Field(
        default_factory=list,
        max_length=services.MAX_LINES,
        description="Per key; keys not listed are approved as requested",
    )


class RejectionIn(Schema):
    note: str = Field(..., min_length=1, max_length=300, pattern=NO_NUL)


class ReceivedIn(Schema):
    line: int = Field(..., ge=1, description="The line's number within the shipment")
    received: StrictInt = Field(..., ge=0)
    reason: DifferenceReason | None = None


class ReceiptIn(Schema):
    lines: list[ReceivedIn] = Field(
        default_factory=list,
        max_length=services.MAX_LINES,
        description="Lines not listed arrived in full",
    )


class LotStatusIn(Schema):
    status: LotStatus
    note: str = Field("", max_length=300, pattern=NO_NUL)


class LotStatusOut(Schema):
    public_id: UUID
    status: LotStatus


class ReversalIn(Schema):
    reason: str = Field(..., min_length=1, max_length=300, pattern=NO_NUL)


def _facility_ref(f: Any) -> dict[str, Any]:
    return {"public_id": f.public_id, "clues": f.clues, "name": f.name}


def requisition_out(r: Requisition) -> dict[str, Any]:
    return {
        "public_id": r.public_id,
        "kind": r.kind,
        "status": r.status,
        "requester": _facility_ref(r.requester),
        "supplier": _facility_ref(r.supplier),
        "note": r.note,
        "created_at": r.created_at,
        "created_by": r.created_by,
        "decided_by": r.decided_by,
        "decided_at": r.decided_at,
        "lines": [
            {
                "medicine": line.medicine_id,
                "generic_name": line.medicine.generic_name,
                "suggested": line.suggested,
                "requested": line.requested,
                "approved": line.approved,
            }
            for line in r.lines.all()
        ],
        "shipments": [s.public_id for s in r.shipments.all()],
    }


def _lines(s: Shipment) -> list[Any]:
    """A shipment's lines in their order: the API names a line by its number (internal ids never
    leave the system)."""
    return sorted(s.lines.all(), key=lambda line: line.pk)


def shipment_out(s: Shipment) -> dict[str, Any]:
    lines = _lines(s)
    return {
        "public_id": s.public_id,
        "status": s.status,
        "origin": _facility_ref(s.origin),
        "destination": _facility_ref(s.destination),
        "requisition": s.requisition.public_id if s.requisition is not None else None,
        "dispatched_at": s.dispatched_at,
        "dispatched_by": s.dispatched_by,
        "received_at": s.received_at,
        "received_by": s.received_by,
        "in_transit": sum(line.shipped for line in lines)
        if s.status == ShipmentStatus.IN_TRANSIT
        else 0,
        "lines": [
            {
                "number": number,
                "medicine": line.medicine_id,
                "generic_name": line.medicine.generic_name,
                "lot_number": line.source_lot.lot_number,
                "expiry": line.source_lot.expiry,
                "shipped": line.shipped,
                "received": line.received,
                "difference_reason": line.difference_reason,
            }
            for number, line in enumerate(lines, start=1)
        ],
    }


def _wanted(lines: list[WantedIn]) -> list[shipments.Wanted]:
    return [shipments.Wanted(li.medicine, li.quantity, li.suggested) for li in lines]


# --- Requisitions -------------------------------------------------------------------------------


@router.get(
    "/facilities/{key}/requisitions",
    response=RequisitionPage,
    summary="Requisitions a facility sent, or must fill (incoming=true)",
    openapi_extra=reads("Inventory"),
)
def requisitions(
    request: HttpRequest,
    key: str = FACILITY_KEY,
    incoming: bool = False,
    status: RequisitionStatus | None = None,
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> dict[str, Any]:
    actor = request_actor(request)
    facility = facility_get(actor, key=key, with_opening_hours=False)
    qs = supply_selectors.requisitions_of(
        actor, facility=facility, incoming=incoming, status=status
    )
    items = [requisition_out(r) for r in qs[offset : offset + limit]]
    return page(request, items=items, limit=limit, offset=offset, count=qs.count())


@router.post(
    "/facilities/{key}/requisitions",
    response={201: RequisitionOut},
    summary="A unit asks its supplier for units (pull)",
    openapi_extra=writes("Inventory"),
)
def requisition_create(
    request: HttpRequest, payload: RequisitionIn, key: str = FACILITY_KEY
) -> Status[dict[str, Any]]:
    actor = request_actor(request)
    r = shipments.requisition_create(
        actor,
        requester=facility_get(actor, key=key, with_opening_hours=False),
        lines=_wanted(payload.lines),
        note=payload.note,
    )
    return Status(
        201, requisition_out(supply_selectors.requisition_get(actor, public_id=r.public_id))
    )


@router.post(
    "/facilities/{key}/kits",
    response={201: RequisitionOut},
    summary="A warehouse schedules a kit for one of its units (push, approved as sent)",
    openapi_extra=writes("Inventory"),
)
def kit_push(
    request: HttpRequest, payload: KitIn, key: str = FACILITY_KEY
) -> Status[dict[str, Any]]:
    actor = request_actor(request)
    r = shipments.requisition_push(
        actor,
        supplier=facility_get(actor, key=key, with_opening_hours=False),
        requester=facility_get(actor, key=payload.to_facility, with_opening_hours=False),
        lines=_wanted(payload.lines),
        note=payload.note,
    )
    return Status(
        201, requisition_out(supply_selectors.requisition_get(actor, public_id=r.public_id))
    )


@router.get(
    "/requisitions/{public_id}",
    response=RequisitionOut,
    summary="One requisition",
    openapi_extra=reads("Inventory"),
)
def requisition_detail(request: HttpRequest, public_id: UUID) -> dict[str, Any]:
    return requisition_out(
        supply_selectors.requisition_get(request_actor(request), public_id=public_id)
    )


@router.post(
    "/requisitions/{public_id}/approve",
    response=RequisitionOut,
    summary="The supplier approves (per key; 0 drops a key)",
    openapi_extra=writes("Inventory"),
)
def requisition_approve(
    request: HttpRequest, public_id: UUID, payload: ApprovalIn
) -> dict[str, Any]:
    actor = request_actor(request)
    r = supply_selectors.requisition_get(actor, public_id=public_id)
    shipments.requisition_approve(
        actor, requisition=r, approved={li.medicine: li.approved for li in payload.lines}
    )
    return requisition_out(supply_selectors.requisition_get(actor, public_id=public_id))


@router.post(
    "/requisitions/{public_id}/reject",
    response=RequisitionOut,
    summary="The supplier rejects, with a reason",
    openapi_extra=writes("Inventory"),
)
def requisition_reject(
    request: HttpRequest, public_id: UUID, payload: RejectionIn
) -> dict[str, Any]:
    actor = request_actor(request)
    r = supply_selectors.requisition_get(actor, public_id=public_id)
    shipments.requisition_reject(actor, requisition=r, note=payload.note)
    return requisition_out(supply_selectors.requisition_get(actor, public_id=public_id))


@router.post(
    "/requisitions/{public_id}/ship",
    response={201: ShipmentOut},
    summary="Pick the approved units first-expiring-first-out and dispatch them",
    openapi_extra=writes("Inventory"),
)
def requisition_ship(request: HttpRequest, public_id: UUID) -> Status[dict[str, Any]]:
    actor = request_actor(request)
    r = supply_selectors.requisition_get(actor, public_id=public_id)
    s = shipments.requisition_ship(actor, requisition=r)
    return Status(201, shipment_out(supply_selectors.shipment_get(actor, public_id=s.public_id)))


# --- Shipments ----------------------------------------------------------------------------------


@router.get(
    "/facilities/{key}/shipments",
    response=ShipmentPage,
    summary="Shipments a facility dispatched, or receives (incoming=true)",
    openapi_extra=reads("Inventory"),
)
def shipment_list(
    request: HttpRequest,
    key: str = FACILITY_KEY,
    incoming: bool = False,
    status: ShipmentStatus | None = None,
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> dict[str, Any]:
    actor = request_actor(request)
    facility = facility_get(actor, key=key, with_opening_hours=False)
    qs = supply_selectors.shipments_of(actor, facility=facility, incoming=incoming, status=status)
    items = [shipment_out(s) for s in qs[offset : offset + limit]]
    return page(request, items=items, limit=limit, offset=offset, count=qs.count())


@router.get(
    "/shipments/{public_id}",
    response=ShipmentOut,
    summary="One shipment",
    openapi_extra=reads("Inventory"),
)
def shipment_detail(request: HttpRequest, public_id: UUID) -> dict[str, Any]:
    return shipment_out(supply_selectors.shipment_get(request_actor(request), public_id=public_id))


@router.post(
    "/shipments/{public_id}/receive",
    response=ShipmentOut,
    summary="Receive a shipment (lines not listed arrived in full; a difference needs a reason)",
    openapi_extra=writes("Inventory"),
)
def shipment_receive(request: HttpRequest, public_id: UUID, payload: ReceiptIn) -> dict[str, Any]:
    actor = request_actor(request)
    s = supply_selectors.shipment_get(actor, public_id=public_id)
    ids = [line.pk for line in _lines(s)]
    if any(li.line > len(ids) for li in payload.lines):
        raise ValidationFailed(_("El envío no tiene esa línea."), field="lines")
    shipments.shipment_receive(
        actor,
        shipment=s,
        lines=[
            shipments.Received(ids[li.line - 1], li.received, li.reason or "")
            for li in payload.lines
        ],
    )
    return shipment_out(supply_selectors.shipment_get(actor, public_id=public_id))


# --- Lots and the ledger ------------------------------------------------------------------------


@router.post(
    "/lots/{public_id}/status",
    response=LotStatusOut,
    summary="Quarantine, release or recall a lot",
    openapi_extra=writes("Inventory"),
)
def lot_status(request: HttpRequest, public_id: UUID, payload: LotStatusIn) -> dict[str, Any]:
    actor = request_actor(request)
    lot = network.lot_set_status(
        actor, lot=lot_get(actor, public_id=public_id), status=payload.status, note=payload.note
    )
    return {"public_id": lot.public_id, "status": lot.status}


@router.post(
    "/movements/{public_id}/reversal",
    response={201: MovementOut},
    summary="Cancel a ledger row (a reversal dated on it)",
    openapi_extra=writes("Inventory"),
)
def reversal(request: HttpRequest, public_id: UUID, payload: ReversalIn) -> Status[dict[str, Any]]:
    actor = request_actor(request)
    movement = supply_selectors.movement_get(actor, public_id=public_id)
    row = stock_reverse(actor, movement=movement, reason=payload.reason)
    row.lot = movement.lot
    return Status(201, _movement(row))


# --- Replenishment ------------------------------------------------------------------------------


class PlanOut(Schema):
    medicine: str
    consumption: int
    prescribed: int
    days_in_period: int
    days_stocked: int
    amc: float | None
    low_confidence: bool
    stocked_out: bool
    on_hand: int
    in_transit: int
    months_of_stock: float | None
    min_qty: float | None
    max_qty: float | None
    suggested: int
    below_min: bool = Field(..., description="Projected stock-out: on hand + in transit < min")


@router.get(
    "/facilities/{key}/replenishment",
    response=list[PlanOut],
    summary="AMC adjusted for stock-out days, months of stock, min/max and suggested order per key",
    openapi_extra=reads("Inventory"),
)
def replenishment(
    request: HttpRequest,
    key: str = FACILITY_KEY,
    period_days: int = Query(90, ge=7, le=365),
) -> list[dict[str, Any]]:
    from bienestar.inventory.replenishment import replenishment_for

    actor = request_actor(request)
    plans = replenishment_for(
        actor,
        facility=facility_get(actor, key=key, with_opening_hours=False),
        period_days=period_days,
    )
    return [
        {
            "medicine": medicine,
            **{
                f: getattr(p, f) for f in PlanOut.model_fields if f not in ("medicine", "below_min")
            },
            "below_min": p.min_qty is not None and p.on_hand + p.in_transit < p.min_qty,
        }
        for medicine, p in plans.items()
    ]
