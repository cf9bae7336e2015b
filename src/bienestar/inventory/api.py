"""Stock API at /api/inventory/: balances, lots, the ledger, and the writes (receipt, adjustment,
transfer, expiry write-off, physical count). Thin: selectors and services check permissions.

Facilities are named by public_id (UUID) or CLUES, lots by public_id. Quantities are strict JSON
integers: 5.0 or "5" is a 422, never rounded.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from uuid import UUID

from django.http import HttpRequest
from ninja import Field, Path, Query, Router, Schema, Status
from pydantic import StrictInt

from bienestar.access.api_auth import request_actor
from bienestar.access.scopes import reads, writes
from bienestar.core.api import MAX_LIMIT, MAX_OFFSET, NO_NUL, page
from bienestar.facilities.models import Facility
from bienestar.facilities.selectors import facility_get
from bienestar.inventory import selectors, services
from bienestar.inventory.models import AdjustmentReason, Lot, MovementKind, StockMovement

router = Router(tags=["inventory"])

FACILITY_KEY = Path(..., max_length=36, pattern=NO_NUL, examples=["HGIMB000011"])
MEDICINE_KEY = r"^[0-9A-Za-z.\-]{1,20}$"


# --- Schemas (shape only) -----------------------------------------------------------------------


class MedicineRef(Schema):
    key: str
    generic_name: str
    form: str
    strength: str


class LotOut(Schema):
    public_id: UUID
    medicine: MedicineRef
    lot_number: str
    expiry: dt.date
    quantity: int


class MedicineStockOut(Schema):
    medicine: MedicineRef
    usable: int
    expired: int
    total: int
    expiring_soon: int
    lots: int
    next_expiry: dt.date | None
    low: bool


class LotRef(Schema):
    public_id: UUID
    lot_number: str
    expiry: dt.date


class MovementOut(Schema):
    public_id: UUID
    at: dt.datetime
    kind: MovementKind
    medicine: str
    lot: LotRef
    quantity: int
    balance_after: int
    reason: str
    note: str
    reference: str
    operation: UUID
    actor: str


class MovementPage(Schema):
    count: int
    limit: int
    offset: int
    next: str | None
    items: list[MovementOut]


class ReceiptLineIn(Schema):
    medicine: str = Field(..., pattern=MEDICINE_KEY, examples=["010.000.5165.00"])
    lot_number: str = Field(..., min_length=1, max_length=40, pattern=NO_NUL)
    expiry: dt.date
    quantity: StrictInt = Field(..., gt=0)


class ReceiptIn(Schema):
    reference: str = Field("", max_length=80, pattern=NO_NUL, description="Delivery note number")
    lines: list[ReceiptLineIn] = Field(..., min_length=1, max_length=services.MAX_LINES)


class AdjustmentIn(Schema):
    quantity: StrictInt = Field(..., description="Signed units: + adds, - removes")
    reason: AdjustmentReason
    note: str = Field("", max_length=300, pattern=NO_NUL)


class TransferIn(Schema):
    to_facility: str = Field(..., max_length=36, pattern=NO_NUL, description="UUID or CLUES")
    quantity: StrictInt = Field(..., gt=0)
    reference: str = Field("", max_length=80, pattern=NO_NUL)


class TransferOut(Schema):
    out: MovementOut
    inbound: MovementOut


class WriteOffIn(Schema):
    as_of: dt.date | None = None


class CountLineIn(Schema):
    lot: UUID
    counted: StrictInt = Field(..., ge=0)


class CountIn(Schema):
    note: str = Field("", max_length=300, pattern=NO_NUL)
    lines: list[CountLineIn] = Field(..., min_length=1, max_length=services.MAX_LINES)


class AvailabilityOut(Schema):
    medicine: str
    available: int
    in_stock: bool


# --- Mapping ------------------------------------------------------------------------------------


def _medicine(m: Any) -> dict[str, Any]:
    return {"key": m.key, "generic_name": m.generic_name, "form": m.form, "strength": m.strength}


def _lot(lot: Lot) -> dict[str, Any]:
    return {
        "public_id": lot.public_id,
        "medicine": _medicine(lot.medicine),
        "lot_number": lot.lot_number,
        "expiry": lot.expiry,
        "quantity": lot.quantity,
    }


def _movement(m: StockMovement) -> dict[str, Any]:
    return {
        "public_id": m.public_id,
        "at": m.at,
        "kind": m.kind,
        "medicine": m.medicine_id,
        "lot": {
            "public_id": m.lot.public_id,
            "lot_number": m.lot.lot_number,
            "expiry": m.lot.expiry,
        },
        "quantity": m.quantity,
        "balance_after": m.balance_after,
        "reason": m.reason,
        "note": m.note,
        "reference": m.reference,
        "operation": m.operation,
        "actor": m.actor_username,
    }


def _facility(request: HttpRequest, key: str) -> Facility:
    return facility_get(request_actor(request), key=key, with_opening_hours=False)


# --- Reads --------------------------------------------------------------------------------------


@router.get(
    "/facilities/{key}/stock",
    response=list[MedicineStockOut],
    summary="Stock of a facility by catalogue key",
    openapi_extra=reads("Inventory"),
)
def stock(
    request: HttpRequest,
    key: str = FACILITY_KEY,
    low_stock_threshold: int = Query(selectors.DEFAULT_LOW_STOCK_UNITS, ge=0, le=1_000_000),
    expiring_within_days: int = Query(selectors.DEFAULT_EXPIRING_DAYS, ge=0, le=3650),
    only_low: bool = False,
) -> list[dict[str, Any]]:
    rows = selectors.stock_by_medicine(
        request_actor(request),
        facility=_facility(request, key),
        low_stock_threshold=low_stock_threshold,
        expiring_within_days=expiring_within_days,
        only_low=only_low,
    )
    return [
        {
            "medicine": _medicine(r.medicine),
            "usable": r.usable,
            "expired": r.expired,
            "total": r.total,
            "expiring_soon": r.expiring_soon,
            "lots": r.lots,
            "next_expiry": r.next_expiry,
            "low": r.low,
        }
        for r in rows
    ]


@router.get(
    "/facilities/{key}/lots",
    response=list[LotOut],
    summary="Lots held at a facility",
    openapi_extra=reads("Inventory"),
)
def lots(
    request: HttpRequest,
    key: str = FACILITY_KEY,
    medicine: str | None = Query(None, pattern=MEDICINE_KEY),
    include_empty: bool = False,
) -> list[dict[str, Any]]:
    qs = selectors.lots_at(
        request_actor(request),
        facility=_facility(request, key),
        medicine_key=medicine,
        include_empty=include_empty,
    )
    return [_lot(lot) for lot in qs[:2000]]


@router.get(
    "/facilities/{key}/expiring",
    response=list[LotOut],
    summary="Lots expiring within N days (expired ones included)",
    openapi_extra=reads("Inventory"),
)
def expiring(
    request: HttpRequest,
    key: str = FACILITY_KEY,
    within_days: int = Query(selectors.DEFAULT_EXPIRING_DAYS, ge=0, le=3650),
) -> list[dict[str, Any]]:
    qs = selectors.lots_expiring(
        request_actor(request), facility=_facility(request, key), within_days=within_days
    )
    return [_lot(lot) for lot in qs[:2000]]


@router.get(
    "/facilities/{key}/availability",
    response=list[AvailabilityOut],
    summary="Usable units of catalogue keys at a facility",
    openapi_extra=reads("Inventory"),
)
def availability(
    request: HttpRequest,
    medicine: Annotated[list[str], Query(max_length=50, description="Catalogue keys")],
    key: str = FACILITY_KEY,
) -> list[dict[str, Any]]:
    units = selectors.medicines_available(
        request_actor(request), facility=_facility(request, key), medicine_keys=medicine
    )
    return [{"medicine": k, "available": v, "in_stock": v > 0} for k, v in units.items()]


@router.get(
    "/facilities/{key}/ledger",
    response=MovementPage,
    summary="Ledger of a facility",
    openapi_extra=reads("Inventory"),
)
def ledger(
    request: HttpRequest,
    key: str = FACILITY_KEY,
    lot: UUID | None = None,
    medicine: str | None = Query(None, pattern=MEDICINE_KEY),
    kind: MovementKind | None = None,
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> dict[str, Any]:
    actor = request_actor(request)
    facility = _facility(request, key)
    lot_row = None
    if lot is not None:
        lot_row = selectors.lots_by_public_id(actor, facility=facility, public_ids=[lot])[lot]
    qs = selectors.stock_ledger(
        actor,
        facility=facility,
        lot=lot_row,
        medicine_key=medicine,
        kinds=[kind] if kind else None,
    )
    items = [_movement(m) for m in qs[offset : offset + limit]]
    return page(request, items=items, limit=limit, offset=offset, count=qs.count())


@router.get(
    "/lots/{public_id}", response=LotOut, summary="One lot", openapi_extra=reads("Inventory")
)
def lot_detail(request: HttpRequest, public_id: UUID) -> dict[str, Any]:
    return _lot(selectors.lot_get(request_actor(request), public_id=public_id))


# --- Writes -------------------------------------------------------------------------------------


@router.post(
    "/facilities/{key}/receipts",
    response={201: list[MovementOut]},
    summary="Receive a delivery (several lots)",
    openapi_extra=writes("Inventory"),
)
def receive(
    request: HttpRequest, payload: ReceiptIn, key: str = FACILITY_KEY
) -> Status[list[dict[str, Any]]]:
    movements = services.stock_receive(
        request_actor(request),
        facility=_facility(request, key),
        reference=payload.reference,
        lines=[
            services.ReceiptLine(
                medicine_key=line.medicine,
                lot_number=line.lot_number,
                expiry=line.expiry,
                quantity=line.quantity,
            )
            for line in payload.lines
        ],
    )
    return Status(201, [_movement(m) for m in movements])


@router.post(
    "/lots/{public_id}/adjustments",
    response={201: MovementOut},
    summary="Adjust a lot's balance",
    openapi_extra=writes("Inventory"),
)
def adjust(request: HttpRequest, public_id: UUID, payload: AdjustmentIn) -> Status[dict[str, Any]]:
    actor = request_actor(request)
    movement = services.stock_adjust(
        actor,
        lot=selectors.lot_get(actor, public_id=public_id),
        quantity=payload.quantity,
        reason=payload.reason,
        note=payload.note,
    )
    return Status(201, _movement(movement))


@router.post(
    "/lots/{public_id}/transfers",
    response={201: TransferOut},
    summary="Transfer units of a lot to another facility",
    openapi_extra=writes("Inventory"),
)
def transfer(request: HttpRequest, public_id: UUID, payload: TransferIn) -> Status[dict[str, Any]]:
    actor = request_actor(request)
    out, inbound = services.stock_transfer(
        actor,
        lot=selectors.lot_get(actor, public_id=public_id),
        to_facility=_facility(request, payload.to_facility),
        quantity=payload.quantity,
        reference=payload.reference,
    )
    return Status(201, {"out": _movement(out), "inbound": _movement(inbound)})


@router.post(
    "/facilities/{key}/expiry-write-offs",
    response={201: list[MovementOut]},
    summary="Write off every expired lot",
    openapi_extra=writes("Inventory"),
)
def write_off(
    request: HttpRequest, payload: WriteOffIn, key: str = FACILITY_KEY
) -> Status[list[dict[str, Any]]]:
    movements = services.stock_write_off_expired(
        request_actor(request), facility=_facility(request, key), as_of=payload.as_of
    )
    return Status(201, [_movement(m) for m in movements])


@router.post(
    "/facilities/{key}/counts",
    response={201: list[MovementOut]},
    summary="Reconcile a physical count",
    openapi_extra=writes("Inventory"),
)
def count(
    request: HttpRequest, payload: CountIn, key: str = FACILITY_KEY
) -> Status[list[dict[str, Any]]]:
    actor = request_actor(request)
    facility = _facility(request, key)
    by_id = selectors.lots_by_public_id(
        actor, facility=facility, public_ids=[line.lot for line in payload.lines]
    )
    movements = services.stock_count(
        actor,
        facility=facility,
        note=payload.note,
        lines=[
            services.CountLine(lot=by_id[line.lot], counted=line.counted) for line in payload.lines
        ],
    )
    return Status(201, [_movement(m) for m in movements])
