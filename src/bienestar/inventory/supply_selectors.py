"""Reads of the supply network: requisitions and shipments of a facility, one of each, one ledger
row, and what is in transit. A requisition or shipment is visible to whoever may read the stock of
either end (`permissions.require_stock_read`); anyone else gets 404, as for an unknown id."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from bienestar.access.actor import Actor
from bienestar.access.errors import Forbidden, OutOfScope
from bienestar.facilities.models import Facility
from bienestar.inventory.models import StockMovement
from bienestar.inventory.permissions import require_stock_read
from bienestar.inventory.supply_models import Requisition, Shipment


def _may_read_either(actor: Actor, *facilities: Facility) -> bool:
    for facility in facilities:
        try:
            require_stock_read(actor, facility)
        except Forbidden:
            continue
        return True
    return False


def _visible(actor: Actor, *facilities: Facility) -> None:
    """404 unless the actor may read the stock of one of the facilities (a role without stock
    access at all gets its 403 from `require_stock_read`)."""
    if not _may_read_either(actor, *facilities):
        raise OutOfScope()


def requisitions_of(
    actor: Actor, *, facility: Facility, incoming: bool, status: str | None = None
) -> QuerySet[Requisition]:
    """Requisitions a facility sent (`incoming=False`) or must fill (`incoming=True`), newest
    first."""
    require_stock_read(actor, facility)
    qs = Requisition.objects.filter(**{"supplier" if incoming else "requester": facility})
    if status:
        qs = qs.filter(status=status)
    return qs.select_related("requester", "supplier").prefetch_related("lines__medicine")


def requisition_get(actor: Actor, *, public_id: uuid.UUID | str) -> Requisition:
    requisition = (
        Requisition.objects.select_related("requester__territory", "supplier__territory")
        .prefetch_related("lines__medicine", "shipments")
        .filter(public_id=public_id)
        .first()
    )
    if requisition is None:
        raise OutOfScope()
    _visible(actor, requisition.requester, requisition.supplier)
    return requisition


def shipments_of(
    actor: Actor, *, facility: Facility, incoming: bool, status: str | None = None
) -> QuerySet[Shipment]:
    require_stock_read(actor, facility)
    qs = Shipment.objects.filter(**{"destination" if incoming else "origin": facility})
    if status:
        qs = qs.filter(status=status)
    return qs.select_related("origin", "destination", "requisition").prefetch_related(
        "lines__medicine", "lines__source_lot"
    )


def shipment_get(actor: Actor, *, public_id: uuid.UUID | str) -> Shipment:
    shipment = (
        Shipment.objects.select_related(
            "origin__territory", "destination__territory", "requisition"
        )
        .prefetch_related("lines__medicine", "lines__source_lot")
        .filter(public_id=public_id)
        .first()
    )
    if shipment is None:
        raise OutOfScope()
    _visible(actor, shipment.origin, shipment.destination)
    return shipment


def movement_get(actor: Actor, *, public_id: uuid.UUID | str) -> StockMovement:
    movement = (
        StockMovement.objects.select_related("lot__facility__territory", "lot__medicine")
        .filter(public_id=public_id)
        .first()
    )
    if movement is None:
        raise OutOfScope()
    _visible(actor, movement.lot.facility)
    return movement
