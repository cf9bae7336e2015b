"""Requisitions and shipments between nodes of the supply network.

A unit asks its supplier for units (`requisition_create`, a pull, with suggested quantities from the
replenishment run) or its warehouse sends a scheduled kit (`requisition_push`, approved as sent);
the warehouse approves what it will send (`requisition_approve`) or rejects it; `requisition_ship`
picks the approved units first-expiring-first-out and dispatches one shipment; the destination
receives it (`shipment_receive`), in full or with a difference per line, which needs a reason
(damaged, short, expired).

Double entry: dispatch writes one `transfer_out` per picked lot at the origin, receipt one
`transfer_in` at the destination (same lot number and expiry), both referencing their shipment line
(`shipline:<id>`). Between the two the units are in transit: shipped - received - declared
differences, per line, which is zero once the shipment is received. `checks.shipments_balance`
verifies that the ledger and the lines agree.

Who: the requester's stock keeper creates and receives; the supplier's approves, rejects, pushes and
ships (`inventory.permissions.require_stock_write` on the facility concerned), and the supplier must
be the requester's supplier in the network (`network.may_supply`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.core.errors import Conflict, ValidationFailed
from bienestar.facilities.models import Facility
from bienestar.inventory.dating import checked_at
from bienestar.inventory.errors import InsufficientStock
from bienestar.inventory.models import MovementKind
from bienestar.inventory.network import may_supply, supplier_of
from bienestar.inventory.permissions import require_stock_write
from bienestar.inventory.services import (
    MAX_LINES,
    _append,
    _Ctx,
    _lock,
    _lock_usable_lots,
    _lot_for,
    _medicines,
    _save,
    validate_units,
)
from bienestar.inventory.supply_models import (
    DifferenceReason,
    Requisition,
    RequisitionKind,
    RequisitionLine,
    RequisitionStatus,
    Shipment,
    ShipmentLine,
    ShipmentStatus,
)


@dataclass(frozen=True)
class Wanted:
    """A line of a requisition or a kit: so many units of a catalogue key."""

    medicine_key: str
    quantity: int
    suggested: int = 0


@dataclass(frozen=True)
class Received:
    """What arrived of one shipment line; fewer than shipped needs a `reason`."""

    line_id: int
    received: int
    reason: str = ""


def _check_lines(lines: Sequence[Wanted]) -> None:
    if not lines:
        raise ValidationFailed(_("La requisición no tiene renglones."), field="lines")
    if len(lines) > MAX_LINES:
        raise ValidationFailed(_("Demasiados renglones en una requisición."), field="lines")
    keys = [line.medicine_key for line in lines]
    if len(set(keys)) != len(keys):
        raise ValidationFailed(_("Una clave aparece dos veces en la requisición."), field="lines")
    for line in lines:
        validate_units(line.quantity, field="quantity")
        validate_units(line.suggested, field="suggested", allow_zero=True)
    _medicines(keys)


def _require_supplier(supplier: Facility, requester: Facility) -> None:
    if not may_supply(supplier, requester):
        raise ValidationFailed(
            _("%(supplier)s no abastece a %(requester)s en la red de abasto.")
            % {"supplier": supplier.name, "requester": requester.name},
            field="supplier",
        )


def _create(
    actor: Actor,
    *,
    requester: Facility,
    supplier: Facility,
    kind: str,
    status: str,
    lines: Sequence[Wanted],
    note: str,
) -> Requisition:
    now = timezone.now()
    with transaction.atomic():
        requisition = Requisition.objects.create(
            requester=requester,
            supplier=supplier,
            kind=kind,
            status=status,
            note=note.strip()[:300],
            created_by=actor.username,
            decided_by=actor.username if status == RequisitionStatus.APPROVED else "",
            decided_at=now if status == RequisitionStatus.APPROVED else None,
        )
        RequisitionLine.objects.bulk_create(
            RequisitionLine(
                requisition=requisition,
                medicine_id=line.medicine_key,
                suggested=line.suggested,
                requested=line.quantity,
                approved=line.quantity if status == RequisitionStatus.APPROVED else None,
            )
            for line in lines
        )
        return requisition


def requisition_create(
    actor: Actor, *, requester: Facility, lines: Sequence[Wanted], note: str = ""
) -> Requisition:
    """A unit asks its supplier in the network for units (status submitted)."""
    require_stock_write(actor, requester)
    supplier = supplier_of(requester)
    if supplier is None:
        raise ValidationFailed(
            _("Este establecimiento no tiene proveedor asignado en la red de abasto."),
            field="requester",
        )
    _check_lines(lines)
    return _create(
        actor,
        requester=requester,
        supplier=supplier,
        kind=RequisitionKind.PULL,
        status=RequisitionStatus.SUBMITTED,
        lines=lines,
        note=note,
    )


def requisition_push(
    actor: Actor,
    *,
    supplier: Facility,
    requester: Facility,
    lines: Sequence[Wanted],
    note: str = "",
) -> Requisition:
    """The warehouse schedules a kit for one of its units (approved as sent; ship it next)."""
    require_stock_write(actor, supplier)
    _require_supplier(supplier, requester)
    _check_lines(lines)
    return _create(
        actor,
        requester=requester,
        supplier=supplier,
        kind=RequisitionKind.PUSH,
        status=RequisitionStatus.APPROVED,
        lines=lines,
        note=note,
    )


def _locked_requisition(requisition: Requisition, *expected: str) -> Requisition:
    locked = (
        Requisition.objects.select_for_update(of=("self",))
        .select_related("requester", "supplier")
        .get(pk=requisition.pk)
    )
    if locked.status not in expected:
        raise Conflict(
            _("La requisición está «%(status)s»: ya no admite este paso.")
            % {"status": RequisitionStatus(locked.status).label.lower()},
            field="status",
        )
    return locked


def requisition_approve(
    actor: Actor, *, requisition: Requisition, approved: Mapping[str, int] | None = None
) -> Requisition:
    """Approve a submitted requisition: `approved` per key (default: what was asked; 0 drops a
    key). At least one unit must be approved (otherwise reject it)."""
    require_stock_write(actor, requisition.supplier)
    approved = dict(approved or {})
    for value in approved.values():
        validate_units(value, field="approved", allow_zero=True)
    with transaction.atomic():
        locked = _locked_requisition(requisition, RequisitionStatus.SUBMITTED)
        lines = list(locked.lines.all())
        unknown = set(approved) - {line.medicine_id for line in lines}
        if unknown:
            raise ValidationFailed(
                _("Clave que no está en la requisición: %(keys)s")
                % {"keys": ", ".join(sorted(unknown))},
                field="approved",
            )
        for line in lines:
            line.approved = approved.get(line.medicine_id, line.requested)
        if not any(line.approved for line in lines):
            raise ValidationFailed(
                _("No se aprobó ninguna unidad: rechace la requisición."), field="approved"
            )
        RequisitionLine.objects.bulk_update(lines, ["approved"])
        locked.status = RequisitionStatus.APPROVED
        locked.decided_by = actor.username
        locked.decided_at = timezone.now()
        locked.save(update_fields=["status", "decided_by", "decided_at", "updated_at"])
        return locked


def requisition_reject(actor: Actor, *, requisition: Requisition, note: str) -> Requisition:
    require_stock_write(actor, requisition.supplier)
    note = note.strip()
    if not note:
        raise ValidationFailed(_("Indique el motivo del rechazo."), field="note")
    with transaction.atomic():
        locked = _locked_requisition(requisition, RequisitionStatus.SUBMITTED)
        locked.status = RequisitionStatus.REJECTED
        locked.decided_by = actor.username
        locked.decided_at = timezone.now()
        locked.note = (locked.note + " · " + note).strip(" ·")[:300]
        locked.save(update_fields=["status", "decided_by", "decided_at", "note", "updated_at"])
        return locked


def shipment_dispatch(
    actor: Actor,
    *,
    origin: Facility,
    destination: Facility,
    lines: Sequence[Wanted],
    requisition: Requisition | None = None,
    at: dt.datetime | None = None,
) -> Shipment:
    """Pick the units first-expiring-first-out at the origin (usable lots only) and dispatch them:
    one `transfer_out` per picked lot. Refused whole (`InsufficientStock`) if a key lacks units."""
    require_stock_write(actor, origin)
    _require_supplier(origin, destination)
    _check_lines(lines)
    at = checked_at(at)
    today = timezone.localdate(at)
    demand = {line.medicine_key: line.quantity for line in lines}
    ctx = _Ctx(actor=actor, at=at, operation=uuid.uuid4())
    with transaction.atomic():
        locked = _lock_usable_lots(origin.id, sorted(demand), today)
        by_key: dict[str, list] = defaultdict(list)
        for lot in sorted(locked, key=lambda lot: (lot.expiry, lot.id)):
            by_key[lot.medicine_id].append(lot)
        for key, wanted in sorted(demand.items()):
            available = sum(lot.quantity for lot in by_key[key])
            if available < wanted:
                raise InsufficientStock(medicine_key=key, requested=wanted, available=available)
        shipment = Shipment.objects.create(
            requisition=requisition,
            origin=origin,
            destination=destination,
            status=ShipmentStatus.IN_TRANSIT,
            operation=ctx.operation,
            dispatched_at=at,
            dispatched_by=actor.username,
        )
        picks = []
        for key, wanted in sorted(demand.items()):
            remaining = wanted
            for lot in by_key[key]:
                if remaining == 0:
                    break
                take = min(remaining, lot.quantity)
                if take:
                    picks.append((lot, take))
                    remaining -= take
        rows = ShipmentLine.objects.bulk_create(
            ShipmentLine(shipment=shipment, medicine_id=lot.medicine_id, source_lot=lot, shipped=n)
            for lot, n in picks
        )
        _save(
            [
                _append(
                    ctx,
                    lot,
                    kind=MovementKind.TRANSFER_OUT,
                    quantity=-n,
                    reference=row.reference,
                )
                for (lot, n), row in zip(picks, rows, strict=True)
            ]
        )
        return shipment


def requisition_ship(
    actor: Actor, *, requisition: Requisition, at: dt.datetime | None = None
) -> Shipment:
    """Dispatch the approved units of a requisition (FEFO at the supplier)."""
    require_stock_write(actor, requisition.supplier)
    with transaction.atomic():
        locked = _locked_requisition(requisition, RequisitionStatus.APPROVED)
        lines = [
            Wanted(medicine_key=line.medicine_id, quantity=line.approved)
            for line in locked.lines.all()
            if line.approved
        ]
        shipment = shipment_dispatch(
            actor,
            origin=locked.supplier,
            destination=locked.requester,
            lines=lines,
            requisition=locked,
            at=at,
        )
        locked.status = RequisitionStatus.SHIPPED
        locked.save(update_fields=["status", "updated_at"])
        return shipment


def shipment_receive(
    actor: Actor,
    *,
    shipment: Shipment,
    lines: Iterable[Received] = (),
    at: dt.datetime | None = None,
) -> Shipment:
    """Receive a shipment at its destination. Lines not listed arrived in full; a line with fewer
    units than shipped needs a reason (damaged, short, expired). One `transfer_in` per line that
    brought units, into the destination's lot of the same number and expiry."""
    require_stock_write(actor, shipment.destination)
    at = checked_at(at)
    given: dict[int, Received] = {}
    for item in lines:
        if item.line_id in given:
            raise ValidationFailed(_("Un renglón aparece dos veces."), field="lines")
        validate_units(item.received, field="received", allow_zero=True)
        given[item.line_id] = item
    ctx = _Ctx(actor=actor, at=at, operation=uuid.uuid4())
    with transaction.atomic():
        locked = (
            Shipment.objects.select_for_update(of=("self",))
            .select_related("destination", "requisition")
            .get(pk=shipment.pk)
        )
        if locked.status != ShipmentStatus.IN_TRANSIT:
            raise Conflict(_("Este envío ya fue recibido."), field="status")
        if at < locked.dispatched_at:
            raise ValidationFailed(_("La recepción no puede ser anterior al despacho."), field="at")
        ship_lines = list(locked.lines.select_related("source_lot", "medicine"))
        unknown = set(given) - {line.id for line in ship_lines}
        if unknown:
            raise ValidationFailed(_("Renglón que no es de este envío."), field="lines")
        for line in ship_lines:
            got = given.get(line.id)
            line.received = line.shipped if got is None else got.received
            line.difference_reason = "" if got is None else got.reason.strip()
            if line.received > line.shipped:
                raise ValidationFailed(
                    _("Se recibieron más unidades (%(received)d) de las enviadas (%(shipped)d).")
                    % {"received": line.received, "shipped": line.shipped},
                    field="received",
                )
            if line.received < line.shipped:
                if line.difference_reason not in DifferenceReason.values:
                    raise ValidationFailed(
                        _(
                            "Indique el motivo de la diferencia del lote %(lot)s: dañado, "
                            "faltante o caducado."
                        )
                        % {"lot": line.source_lot.lot_number},
                        field="reason",
                    )
            else:
                line.difference_reason = ""
        arriving = [line for line in ship_lines if line.received]
        for line in arriving:
            line.destination_lot = _lot_for(
                locked.destination,
                line.medicine,
                line.source_lot.lot_number,
                line.source_lot.expiry,
            )
        held = _lock([line.destination_lot.id for line in arriving])  # type: ignore[union-attr]
        _save(
            [
                _append(
                    ctx,
                    held[line.destination_lot.id],  # type: ignore[union-attr]
                    kind=MovementKind.TRANSFER_IN,
                    quantity=line.received or 0,
                    reference=line.reference,
                )
                for line in arriving
            ]
        )
        ShipmentLine.objects.bulk_update(
            ship_lines, ["received", "difference_reason", "destination_lot"]
        )
        locked.status = ShipmentStatus.RECEIVED
        locked.received_at = at
        locked.received_by = actor.username
        locked.save(update_fields=["status", "received_at", "received_by", "updated_at"])
        if locked.requisition_id is not None:
            Requisition.objects.filter(pk=locked.requisition_id).update(
                status=RequisitionStatus.RECEIVED, updated_at=timezone.now()
            )
        return locked


def in_transit(*, destination_ids: Iterable[int], keys: Iterable[str] | None = None) -> dict:
    """Units in transit to each destination per key: shipped on lines of shipments not yet
    received. Internal (no actor): callers scope it."""
    qs = ShipmentLine.objects.filter(
        shipment__destination_id__in=list(destination_ids),
        shipment__status=ShipmentStatus.IN_TRANSIT,
    )
    if keys is not None:
        qs = qs.filter(medicine_id__in=list(keys))
    rows = qs.values("shipment__destination_id", "medicine_id").annotate(units=Sum(F("shipped")))
    return {(r["shipment__destination_id"], r["medicine_id"]): r["units"] for r in rows}
