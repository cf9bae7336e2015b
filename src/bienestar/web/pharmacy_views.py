"""The pharmacist's pages: the queue of prescriptions waiting, opening one by its code, the dispense
screen and the receipt. Stock pages are in `stock_views.py`.

The pharmacy is always the pharmacist's own facility (`prescribing.services.actor_pharmacy`): the
dispensing service refuses any other, so the pages never offer one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.access.errors import Forbidden, OutOfScope
from bienestar.access.roles import Permission
from bienestar.core.errors import DomainError, ValidationFailed
from bienestar.facilities.models import Facility
from bienestar.inventory import selectors as stock
from bienestar.prescribing import codes
from bienestar.prescribing import selectors as rx
from bienestar.prescribing.models import Prescription, PrescriptionLine
from bienestar.prescribing.services import (
    DispenseLineInput,
    PrescriptionChanged,
    actor_pharmacy,
    dispense_record,
    unfilled_reasons,
)
from bienestar.web.http import page
from bienestar.web.pharmacy_forms import parse_units
from bienestar.web.selectors import (
    MonthlyFillRate,
    dispense_receipt,
    monthly_fill_rates,
)

QUEUE_PAGE_SIZE = 25
NOTE_MAX = 300


def _page_number(raw: str | None) -> int:
    try:
        return max(1, min(int(raw or 1), 1000))
    except ValueError:
        return 1


def _current_fill_rate(actor: Actor, facility: Facility) -> MonthlyFillRate | None:
    """This month's figure for the pharmacy's facility, when the actor may read indicators."""
    if not actor.can(Permission.INDICATOR_READ):
        return None
    try:
        return monthly_fill_rates(actor, facility=facility, months=1)[0]
    except Forbidden:
        return None


def _queue_context(request: HttpRequest, actor: Actor) -> dict[str, Any]:
    pharmacy = actor_pharmacy(actor)
    whole_state = request.GET.get("alcance") == "estado"
    number = _page_number(request.GET.get("page"))
    # Exactly one page is fetched, so the audit row lists only the prescriptions this page shows.
    rows = rx.prescription_queue(
        actor,
        facility=pharmacy,
        whole_territory=whole_state,
        limit=QUEUE_PAGE_SIZE,
        offset=(number - 1) * QUEUE_PAGE_SIZE,
    )
    low = [s for s in stock.stock_by_medicine(actor, facility=pharmacy) if s.low]
    return {
        "pharmacy": pharmacy,
        "prescriptions": rows,
        "whole_state": whole_state,
        "page": number,
        "has_previous": number > 1,
        "has_next": len(rows) == QUEUE_PAGE_SIZE,
        "fill_rate": _current_fill_rate(actor, pharmacy),
        "low_stock": len(low),
        "code": "",
        "code_error": None,
        "section": "pharmacy",
    }


@page(Permission.DISPENSE)
def pharmacy_home(request: HttpRequest, actor: Actor) -> HttpResponse:
    return render(request, "web/pharmacy/home.html", _queue_context(request, actor))


@page(Permission.DISPENSE)
def prescription_open(request: HttpRequest, actor: Actor) -> HttpResponse:
    """Open a prescription by the code the patient shows (typed with or without dashes, any case)."""
    typed = " ".join(request.GET.get("codigo", "").split())[:40]
    if not typed:
        return redirect("pharmacy_home")
    try:
        prescription = rx.prescription_by_code(actor, code=typed)
    except (ValidationFailed, OutOfScope) as exc:
        context = _queue_context(request, actor)
        context["code"] = typed
        if isinstance(exc, OutOfScope):
            context["code_error"] = _(
                "No hay ninguna receta que pueda surtir con el código %(code)s."
            ) % {"code": codes.display(typed)}
        else:
            context["code_error"] = str(exc.message)
        return render(request, "web/pharmacy/home.html", context, status=exc.status)
    return redirect("dispense", public_id=prescription.public_id)


@dataclass
class LineRow:
    """One prescription line on the dispense screen, with what the pharmacist typed for it."""

    line: PrescriptionLine
    available: int
    quantity: str = ""
    reason: str = ""
    note: str = ""
    error: str = ""

    @property
    def pending(self) -> int:
        return self.line.remaining

    @property
    def field(self) -> str:
        return str(self.line.public_id)

    @property
    def reasons(self) -> list[tuple[str, str]]:
        return unfilled_reasons(available=self.available, remaining=self.pending)


def _rows(actor: Actor, pharmacy: Facility, prescription: Prescription) -> list[LineRow]:
    lines = list(prescription.lines.all())
    available = stock.medicines_available(
        actor, facility=pharmacy, medicine_keys=[line.medicine_id for line in lines]
    )
    rows = []
    for line in lines:
        units = available[line.medicine_id]
        # The suggestion is what can be handed over now; the pharmacist confirms or changes it.
        suggested = min(line.remaining, units)
        rows.append(LineRow(line=line, available=units, quantity=str(suggested)))
    return rows


def _read_inputs(request: HttpRequest, rows: list[LineRow]) -> list[DispenseLineInput] | None:
    """What was typed for every pending line, or None (with `row.error` set) when a quantity is
    not a whole number. Whether the numbers make sense is the dispensing service's decision."""
    items: list[DispenseLineInput] = []
    ok = True
    for row in rows:
        if row.pending == 0:
            continue
        row.quantity = request.POST.get(f"cantidad-{row.field}", "").strip()[:12]
        row.reason = request.POST.get(f"motivo-{row.field}", "").strip()[:20]
        row.note = request.POST.get(f"nota-{row.field}", "").strip()[:NOTE_MAX]
        try:
            quantity = parse_units(row.quantity)
        except ValueError:
            row.error = _("Escriba un número entero de unidades (0 si no surte nada).")
            ok = False
            continue
        assert quantity is not None
        items.append(
            DispenseLineInput(
                line=row.line, quantity=quantity, reason_if_unfilled=row.reason, note=row.note
            )
        )
    return items if ok else None


@page(Permission.DISPENSE)
def dispense(request: HttpRequest, actor: Actor, public_id: uuid.UUID) -> HttpResponse:
    pharmacy = actor_pharmacy(actor)
    prescription = rx.prescription_open_for_dispensing(
        actor, public_id=public_id, via="dispense_page"
    )
    rows = _rows(actor, pharmacy, prescription)
    error: str | None = None
    status = 200
    if request.method == "POST":
        items = _read_inputs(request, rows)
        # The version the form was drawn with: a form sent twice (back button, double tap, two
        # pharmacists) is refused by the service, which compares it under the row lock.
        version = request.POST.get("version", "")[:64]
        if version != prescription.version:
            error, status = str(PrescriptionChanged().message), 409
            for row in rows:
                row.quantity = str(min(row.pending, row.available))
        elif items is None:
            error, status = _("Revise las cantidades marcadas."), 422
        elif not items:
            error, status = _("Esta receta no tiene renglones pendientes."), 409
        else:
            try:
                done = dispense_record(
                    actor,
                    prescription=prescription,
                    pharmacy=pharmacy,
                    lines=items,
                    expected_version=version,
                )
            except DomainError as exc:
                if exc.status in (401, 403, 404):
                    raise
                # Nothing was written; the page shows why, keeps what was typed and the fresh stock.
                error, status = str(exc.message), exc.status
                if isinstance(exc, PrescriptionChanged):
                    prescription = rx.prescription_open_for_dispensing(
                        actor, public_id=public_id, via="dispense_page"
                    )
                    rows = _rows(actor, pharmacy, prescription)
                else:
                    fresh = {r.line.pk: r.available for r in _rows(actor, pharmacy, prescription)}
                    for row in rows:
                        row.available = fresh.get(row.line.pk, row.available)
            else:
                return redirect("dispense_receipt", public_id=done.public_id)
    today = timezone.localdate()
    context = {
        "pharmacy": pharmacy,
        "prescription": prescription,
        "code": codes.display(prescription.code),
        "version": prescription.version,
        "status_now": prescription.status_on(today),
        "dispensable": prescription.is_dispensable_on(today),
        "rows": rows,
        "pending_rows": [row for row in rows if row.pending],
        "history": rx.prescription_dispenses(actor, prescription=prescription),
        "error": error,
        "section": "pharmacy",
    }
    return render(request, "web/pharmacy/dispense.html", context, status=status)


@page(Permission.PRESCRIPTION_READ)
def receipt(request: HttpRequest, actor: Actor, public_id: uuid.UUID) -> HttpResponse:
    found = dispense_receipt(actor, public_id=public_id)
    prescription = found.prescription
    context = {
        "receipt": found,
        "prescription": prescription,
        "dispense": found.dispense.dispense,
        "lines": found.dispense.lines,
        "code": codes.display(prescription.code),
        "pending_units": found.pending_units,
        "dispense_url": reverse("dispense", args=[prescription.public_id]),
        "can_dispense_more": actor.can(Permission.DISPENSE)
        and found.pending_units > 0
        and prescription.is_dispensable_on(timezone.localdate()),
        "section": "pharmacy",
    }
    return render(request, "web/pharmacy/receipt.html", context)
