"""Supply pages (Spanish first): the dashboard of a node (a warehouse's stock by key with months of
stock, expiring lots, requisitions to fill and shipments on the road; a unit's own requests and
incoming shipments), a unit's request form with suggested quantities, the requisition page
(approve, reject, ship) and the shipment page (receive, with a reason for each difference).

Every page goes through the same selectors and services as /api/supply/. The dashboard and the
request form are for whoever keeps the facility's stock (`require_stock_write`); a requisition or
shipment page is visible to the keepers of either end (404 otherwise) and offers each the steps
that are theirs.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.access.errors import Forbidden
from bienestar.access.roles import Permission
from bienestar.core.errors import DomainError
from bienestar.facilities.models import Facility
from bienestar.facilities.selectors import facility_get
from bienestar.inventory import selectors as stock
from bienestar.inventory import shipments, supply_selectors
from bienestar.inventory.network import supplier_of
from bienestar.inventory.permissions import may_write_stock, require_stock_write
from bienestar.inventory.replenishment import replenishment_for
from bienestar.inventory.supply_models import (
    DifferenceReason,
    RequisitionStatus,
    ShipmentStatus,
)
from bienestar.terminology.models import Medicine
from bienestar.web.http import page

LIST_SIZE = 50
EXTRA_ROWS = 3


def _keeper_facility(actor: Actor, key: str) -> Facility:
    facility = facility_get(actor, key=key, with_opening_hours=False)
    require_stock_write(actor, facility)
    return facility


def _units(raw: str | None) -> int | None:
    """A whole number of units typed in a form; None when blank; -1 when not a whole number."""
    raw = (raw or "").strip().replace(",", "")
    if not raw:
        return None
    if not raw.isdigit():
        return -1
    return int(raw)


def _refusal(exc: DomainError) -> tuple[str, int]:
    if exc.status in (401, 403, 404):
        raise exc
    return str(exc.message), exc.status


@page(Permission.STOCK_WRITE)
def supply_own(request: HttpRequest, actor: Actor) -> HttpResponse:
    """/abasto/: the dashboard of the actor's own facility."""
    facility = actor.user.facility if actor.user is not None else None
    if facility is None:
        raise Forbidden(_("Su cuenta no está asignada a un establecimiento."))
    return redirect("supply_dashboard", key=str(facility.public_id))


@page(Permission.STOCK_WRITE)
def dashboard(request: HttpRequest, actor: Actor, key: str) -> HttpResponse:
    facility = _keeper_facility(actor, key)
    items = stock.stock_by_medicine(actor, facility=facility)
    plans = replenishment_for(actor, facility=facility)
    rows = [{"stock": s, "plan": plans.get(s.medicine.key)} for s in items]
    to_fill = supply_selectors.requisitions_of(actor, facility=facility, incoming=True).filter(
        status__in=[RequisitionStatus.SUBMITTED, RequisitionStatus.APPROVED]
    )
    mine = supply_selectors.requisitions_of(actor, facility=facility, incoming=False)
    outgoing = supply_selectors.shipments_of(
        actor, facility=facility, incoming=False, status=ShipmentStatus.IN_TRANSIT
    )
    incoming = supply_selectors.shipments_of(
        actor, facility=facility, incoming=True, status=ShipmentStatus.IN_TRANSIT
    )
    expiring = list(stock.lots_expiring(actor, facility=facility)[:LIST_SIZE])
    context = {
        "facility": facility,
        "rows": rows,
        "to_fill": list(to_fill[:LIST_SIZE]),
        "mine": list(mine[:LIST_SIZE]),
        "outgoing": list(outgoing[:LIST_SIZE]),
        "incoming": list(incoming[:LIST_SIZE]),
        "expiring": expiring,
        "supplier": supplier_of(facility),
        "today": timezone.localdate(),
        "totals": {
            "keys": len(items),
            "usable": sum(s.usable for s in items),
            "to_fill": to_fill.count(),
            "in_transit": sum(line.shipped for s in list(outgoing) for line in s.lines.all()),
        },
        "section": "supply",
    }
    return render(request, "inventory/dashboard.html", context)


@page(Permission.STOCK_WRITE)
def request_new(request: HttpRequest, actor: Actor, key: str) -> HttpResponse:
    """A unit asks its supplier: one row per key it holds or consumes, with the suggested
    quantity from the replenishment run; extra rows for other keys."""
    facility = _keeper_facility(actor, key)
    supplier = supplier_of(facility)
    plans = replenishment_for(actor, facility=facility)
    medicines = Medicine.objects.in_bulk(list(plans))
    rows: list[dict[str, Any]] = [
        {"key": k, "medicine": medicines.get(k), "plan": p, "typed": ""}
        for k, p in sorted(plans.items(), key=lambda kv: -kv[1].suggested)
    ]
    extra: list[dict[str, Any]] = [{"key": "", "typed": ""} for _ in range(EXTRA_ROWS)]
    error, status = None, 200
    note = ""
    if request.method == "POST":
        note = request.POST.get("nota", "")[:300]
        wanted: list[shipments.Wanted] = []
        bad = False
        for row in rows:
            row["typed"] = request.POST.get(f"qty-{row['key']}", "")
            n = _units(row["typed"])
            if n == -1:
                bad = True
            elif n:
                wanted.append(shipments.Wanted(row["key"], n, row["plan"].suggested))
        for i, row in enumerate(extra):
            row["key"] = request.POST.get(f"extra-key-{i}", "").strip()[:20]
            row["typed"] = request.POST.get(f"extra-qty-{i}", "")
            n = _units(row["typed"])
            if n == -1:
                bad = True
            elif n and row["key"]:
                wanted.append(shipments.Wanted(row["key"], n))
        if bad:
            error, status = _("Las cantidades son unidades enteras."), 422
        elif not wanted:
            error, status = _("Escriba la cantidad de al menos una clave."), 422
        else:
            try:
                req = shipments.requisition_create(
                    actor, requester=facility, lines=wanted, note=note
                )
            except DomainError as exc:
                error, status = _refusal(exc)
            else:
                messages.success(request, _("Requisición enviada a su almacén."))
                return redirect("supply_requisition", public_id=str(req.public_id))
    context = {
        "facility": facility,
        "supplier": supplier,
        "rows": rows,
        "extra": extra,
        "note": note,
        "error": error,
        "section": "supply",
    }
    return render(request, "inventory/request.html", context, status=status)


@page(Permission.STOCK_READ)
def requisition(request: HttpRequest, actor: Actor, public_id: str) -> HttpResponse:
    req = supply_selectors.requisition_get(actor, public_id=public_id)
    supplier_side = may_write_stock(actor, req.supplier)
    error, status = None, 200
    lines = list(req.lines.all())
    typed = {line.id: "" for line in lines}
    if request.method == "POST":
        action = request.POST.get("accion", "")
        try:
            if action == "aprobar":
                approved: dict[str, int] = {}
                for line in lines:
                    typed[line.id] = request.POST.get(f"approved-{line.id}", "")
                    n = _units(typed[line.id])
                    if n == -1:
                        raise_invalid()
                    if n is not None:
                        approved[line.medicine_id] = n
                shipments.requisition_approve(actor, requisition=req, approved=approved)
                messages.success(request, _("Requisición aprobada. Ya puede surtirla."))
            elif action == "rechazar":
                shipments.requisition_reject(
                    actor, requisition=req, note=request.POST.get("motivo", "")[:300]
                )
                messages.success(request, _("Requisición rechazada."))
            elif action == "surtir":
                shipment = shipments.requisition_ship(actor, requisition=req)
                messages.success(request, _("Envío despachado: las unidades van en tránsito."))
                return redirect("supply_shipment", public_id=str(shipment.public_id))
            else:
                raise Forbidden()
        except DomainError as exc:
            error, status = _refusal(exc)
        else:
            return redirect("supply_requisition", public_id=str(req.public_id))
    available = (
        stock.medicines_available(
            actor, facility=req.supplier, medicine_keys=[line.medicine_id for line in lines]
        )
        if supplier_side
        else {}
    )
    context = {
        "req": req,
        "lines": [
            {"line": line, "typed": typed[line.id], "available": available.get(line.medicine_id)}
            for line in lines
        ],
        "supplier_side": supplier_side,
        "shipments": list(req.shipments.all()),
        "error": error,
        "section": "supply",
    }
    return render(request, "inventory/requisition.html", context, status=status)


def raise_invalid() -> None:
    from bienestar.core.errors import ValidationFailed

    raise ValidationFailed(_("Las cantidades son unidades enteras."), field="approved")


@page(Permission.STOCK_READ)
def shipment(request: HttpRequest, actor: Actor, public_id: str) -> HttpResponse:
    s = supply_selectors.shipment_get(actor, public_id=public_id)
    receiver = may_write_stock(actor, s.destination) and s.status == ShipmentStatus.IN_TRANSIT
    lines = list(s.lines.all())
    typed: dict[int, dict[str, Any]] = {
        line.id: {"received": str(line.shipped), "reason": ""} for line in lines
    }
    error, status = None, 200
    if request.method == "POST":
        got: list[shipments.Received] = []
        try:
            for line in lines:
                typed[line.id] = {
                    "received": request.POST.get(f"received-{line.id}", ""),
                    "reason": request.POST.get(f"reason-{line.id}", ""),
                }
                n = _units(typed[line.id]["received"])
                if n is None or n == -1:
                    raise_invalid()
                got.append(shipments.Received(line.id, n or 0, typed[line.id]["reason"]))
            shipments.shipment_receive(actor, shipment=s, lines=got)
        except DomainError as exc:
            error, status = _refusal(exc)
        else:
            messages.success(request, _("Envío recibido: las existencias se actualizaron."))
            return redirect("supply_shipment", public_id=str(s.public_id))
    context = {
        "shipment": s,
        "lines": [{"line": line, **typed[line.id]} for line in lines],
        "receiver": receiver,
        "reasons": DifferenceReason.choices,
        "error": error,
        "section": "supply",
    }
    return render(request, "inventory/shipment.html", context, status=status)
