"""Stock pages for the people who keep a facility's stock (pharmacists, warehouse managers): balances
by medicine, the ledger, receiving a delivery and a physical count.

Each page names its facility in the URL (public id or CLUES) and is open to whoever may write that
facility's stock (`inventory.permissions.may_write_stock`: the actor's own facility; an actor with no
facility, anywhere in its territory). Everyone else gets 403, before anything is read.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from bienestar.access.actor import Actor
from bienestar.access.errors import Forbidden, OutOfScope
from bienestar.access.roles import Permission
from bienestar.core.errors import DomainError
from bienestar.facilities.models import Facility
from bienestar.facilities.selectors import facility_get
from bienestar.inventory import selectors as stock
from bienestar.inventory.models import MovementKind
from bienestar.inventory.permissions import require_stock_write
from bienestar.inventory.services import CountLine, stock_count, stock_receive
from bienestar.terminology.models import Medicine
from bienestar.web.http import page
from bienestar.web.pharmacy_forms import (
    RECEIPT_ROWS,
    RECEIPT_ROWS_MAX,
    ReceiptForm,
    parse_units,
    receipt_formset,
)

LEDGER_PAGE_SIZE = 50
NOTE_MAX = 300


def _facility(actor: Actor, key: str) -> Facility:
    """The facility named in the URL, if the actor keeps its stock (else 403 / 404)."""
    facility = facility_get(actor, key=key, with_opening_hours=False)
    require_stock_write(actor, facility)
    return facility


def _key(facility: Facility) -> str:
    return str(facility.public_id)


@page(Permission.STOCK_WRITE)
def stock_own(request: HttpRequest, actor: Actor) -> HttpResponse:
    """/farmacia/existencias/: the stock page of the actor's own facility."""
    facility = actor.user.facility if actor.user is not None else None
    if facility is None:
        raise Forbidden(_("Su cuenta no está asignada a un establecimiento."))
    return redirect("stock", key=_key(facility))


@page(Permission.STOCK_WRITE)
def stock_page(request: HttpRequest, actor: Actor, key: str) -> HttpResponse:
    facility = _facility(actor, key)
    only_low = request.GET.get("bajo") == "1"
    items = stock.stock_by_medicine(actor, facility=facility)
    expiring = list(stock.lots_expiring(actor, facility=facility))
    shown = [s for s in items if s.low] if only_low else items
    context = {
        "facility": facility,
        "items": shown,
        "only_low": only_low,
        "totals": {
            "keys": len(items),
            "usable": sum(s.usable for s in items),
            "expired": sum(s.expired for s in items),
            "low": sum(1 for s in items if s.low),
            "expiring_lots": len(expiring),
        },
        "expiring": expiring,
        "low_threshold": stock.DEFAULT_LOW_STOCK_UNITS,
        "expiring_days": stock.DEFAULT_EXPIRING_DAYS,
        "today": timezone.localdate(),
        "section": "stock",
    }
    return render(request, "web/pharmacy/stock.html", context)


def _page_number(raw: str | None) -> int:
    try:
        return max(1, int(raw or 1))
    except ValueError:
        return 1


@page(Permission.STOCK_WRITE)
def ledger(request: HttpRequest, actor: Actor, key: str) -> HttpResponse:
    """The ledger of the facility, or of one catalogue key (`?clave=`) with its lots on top."""
    facility = _facility(actor, key)
    medicine_key = request.GET.get("clave", "").strip()[:20]
    kind = request.GET.get("tipo", "")
    kind = kind if kind in MovementKind.values else ""
    medicine = None
    lots: list[Any] = []
    if medicine_key:
        medicine = Medicine.objects.filter(key=medicine_key).first()
        if medicine is None:
            raise OutOfScope()
        lots = list(
            stock.lots_at(actor, facility=facility, medicine_key=medicine_key, include_empty=True)
        )
    movements = stock.stock_ledger(
        actor,
        facility=facility,
        medicine_key=medicine_key or None,
        kinds=[kind] if kind else None,
    )
    paginator = Paginator(movements, LEDGER_PAGE_SIZE)
    current = paginator.get_page(_page_number(request.GET.get("page")))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "facility": facility,
        "medicine": medicine,
        "lots": lots,
        "movements": current,
        "kinds": MovementKind.choices,
        "kind": kind,
        "filter_query": query.urlencode(),
        "section": "stock",
    }
    return render(request, "web/pharmacy/ledger.html", context)


def _rows_requested(raw: str | None) -> int:
    try:
        return max(1, min(int(raw or RECEIPT_ROWS), RECEIPT_ROWS_MAX))
    except ValueError:
        return RECEIPT_ROWS


@page(Permission.STOCK_WRITE)
def receive(request: HttpRequest, actor: Actor, key: str) -> HttpResponse:
    """Receive a delivery: several lines (key, lot, expiry, units), recorded whole or not at all."""
    facility = _facility(actor, key)
    error: str | None = None
    status = 200
    if request.method == "POST":
        form = ReceiptForm(request.POST)
        formset = receipt_formset(request.POST)
        if form.is_valid() and formset.is_valid():
            lines = [f.receipt_line() for f in formset.forms if not f.is_blank()]
            if not lines:
                error, status = _("Escriba al menos un renglón de la entrega."), 422
            else:
                try:
                    done = stock_receive(
                        actor,
                        facility=facility,
                        lines=lines,
                        reference=form.cleaned_data["reference"],
                    )
                except DomainError as exc:
                    if exc.status in (401, 403, 404):
                        raise
                    error, status = str(exc.message), exc.status
                else:
                    units = sum(m.quantity for m in done)
                    messages.success(
                        request,
                        ngettext(
                            "Entrada registrada: %(lines)d renglón, %(units)d unidades.",
                            "Entrada registrada: %(lines)d renglones, %(units)d unidades.",
                            len(done),
                        )
                        % {"lines": len(done), "units": units},
                    )
                    return redirect("stock", key=_key(facility))
        else:
            error, status = _("Revise los datos marcados."), 422
    else:
        form = ReceiptForm()
        formset = receipt_formset(rows=_rows_requested(request.GET.get("renglones")))
    known = stock.stock_by_medicine(actor, facility=facility)
    context = {
        "facility": facility,
        "form": form,
        "formset": formset,
        "error": error,
        "known_medicines": [s.medicine for s in known],
        "more_rows": min(len(formset.forms) + RECEIPT_ROWS, RECEIPT_ROWS_MAX),
        "can_add_rows": len(formset.forms) < RECEIPT_ROWS_MAX,
        "section": "stock",
    }
    return render(request, "web/pharmacy/receive.html", context, status=status)


@page(Permission.STOCK_WRITE)
def count(request: HttpRequest, actor: Actor, key: str) -> HttpResponse:
    """A physical count: the units on the shelf per lot; each difference becomes a `count`
    movement (blank boxes leave a lot unchanged). Shows the reconciliation afterwards."""
    facility = _facility(actor, key)
    medicine_key = request.GET.get("clave", "").strip()[:20] or None
    lots = list(stock.lots_at(actor, facility=facility, medicine_key=medicine_key))
    typed: dict[str, str] = {}
    errors: dict[str, str] = {}
    error: str | None = None
    status = 200
    note = ""
    if request.method == "POST":
        note = request.POST.get("nota", "").strip()[:NOTE_MAX]
        # A lot listed when the form was opened may have been emptied since (a dispense): it is
        # still counted. Ids that are not lots of this facility are refused by `lots_by_public_id`.
        listed = {lot.public_id for lot in lots}
        extra = _posted_lot_ids(request) - listed
        if extra:
            more = stock.lots_by_public_id(actor, facility=facility, public_ids=extra)
            lots += sorted(more.values(), key=lambda lot: (lot.medicine_id, lot.expiry, lot.id))
        counted: dict[uuid.UUID, int] = {}
        for lot in lots:
            raw = request.POST.get(f"contado-{lot.public_id}", "").strip()[:12]
            typed[str(lot.public_id)] = raw
            try:
                value = parse_units(raw, allow_blank=True)
            except ValueError:
                errors[str(lot.public_id)] = _("Escriba un número entero (0 si no hay ninguna).")
                continue
            if value is not None:
                counted[lot.public_id] = value
        if errors:
            error, status = _("Revise las cantidades marcadas."), 422
        elif not counted:
            error, status = _("Escriba lo contado en al menos un lote."), 422
        else:
            # The lots come from `lots_at` above (this facility's, read with its scope check).
            found = {lot.public_id: lot for lot in lots}
            try:
                movements = stock_count(
                    actor,
                    facility=facility,
                    lines=[CountLine(lot=found[pid], counted=n) for pid, n in counted.items()],
                    note=note,
                )
            except DomainError as exc:
                if exc.status in (401, 403, 404):
                    raise
                error, status = str(exc.message), exc.status
            else:
                return _reconciliation(request, facility, found, counted, movements)
    context = {
        "facility": facility,
        "lots": [
            {
                "lot": lot,
                "field": f"contado-{lot.public_id}",
                "typed": typed.get(str(lot.public_id), ""),
                "error": errors.get(str(lot.public_id), ""),
            }
            for lot in lots
        ],
        "medicine_key": medicine_key or "",
        "note": note,
        "error": error,
        "section": "stock",
    }
    return render(request, "web/pharmacy/count.html", context, status=status)


def _posted_lot_ids(request: HttpRequest) -> set[uuid.UUID]:
    ids = set()
    for name in request.POST:
        if name.startswith("contado-"):
            try:
                ids.add(uuid.UUID(name.removeprefix("contado-")))
            except ValueError:
                continue
    return ids


def _reconciliation(
    request: HttpRequest,
    facility: Facility,
    lots: dict[uuid.UUID, Any],
    counted: dict[uuid.UUID, int],
    movements: list[Any],
) -> HttpResponse:
    """The result of a count, rendered directly: re-sending the form changes nothing (a count sets
    balances to what was counted), so there is no need to redirect."""
    by_lot = {m.lot_id: m for m in movements}
    rows = []
    for public_id, units in counted.items():
        lot = lots[public_id]
        movement = by_lot.get(lot.id)
        difference = movement.quantity if movement is not None else 0
        rows.append(
            {"lot": lot, "book": units - difference, "counted": units, "difference": difference}
        )
    rows.sort(key=lambda r: (r["lot"].medicine.generic_name.lower(), r["lot"].expiry))
    context = {
        "facility": facility,
        "rows": rows,
        "differences": sum(1 for r in rows if r["difference"]),
        "ledger_url": reverse("stock_ledger", args=[_key(facility)])
        + f"?tipo={MovementKind.COUNT}",
        "section": "stock",
    }
    return render(request, "web/pharmacy/count_result.html", context)
