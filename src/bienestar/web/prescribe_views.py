"""The prescribe form (with the catalogue search and stock at the usual pharmacy), the prescription
as issued with its verification code, and its printable version with the QR.

Writes go through `prescribing.services.prescription_create` (atomic, audited); reads through the
prescribing and clinical selectors (scoped, audited) and `clinician_selectors` (catalogue, stock).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.access.roles import Permission
from bienestar.clinical.models import Encounter
from bienestar.clinical.selectors import allergy_list
from bienestar.core.errors import Conflict, ValidationFailed
from bienestar.facilities.models import Facility
from bienestar.people.models import Person
from bienestar.prescribing import codes
from bienestar.prescribing.models import Prescription, PrescriptionStatus
from bienestar.prescribing.qr import verification_qr_svg
from bienestar.prescribing.selectors import (
    encounter_for_prescribing,
    prescription_diagnoses,
    prescription_get,
)
from bienestar.prescribing.services import MAX_LINES, LineInput, prescription_create
from bienestar.terminology.models import Medicine
from bienestar.web import clinician_selectors as sel
from bienestar.web.clinician_forms import LineForm, line_indices
from bienestar.web.http import page

LINE_FIELDS = ("medicine", "dose", "frequency", "duration_days", "quantity", "instructions")
MEDICINE_RESULTS = 12


@dataclass(frozen=True)
class Stock:
    """What the page says about a catalogue key at the usual pharmacy."""

    known: bool
    units: int = 0

    @property
    def in_stock(self) -> bool:
        return self.known and self.units > 0


def _stock(levels: dict[str, int] | None, key: str) -> Stock:
    if levels is None or key not in levels:
        return Stock(known=False)
    return Stock(known=True, units=levels[key])


@dataclass
class AddedLine:
    """A line already added to the prescription being written (it travels in hidden inputs)."""

    index: int
    medicine: Medicine
    dose: str
    frequency: str
    duration_days: int
    quantity: int
    instructions: str
    stock: Stock = Stock(known=False)

    def as_input(self) -> LineInput:
        return LineInput(
            medicine_key=self.medicine.key,
            quantity=self.quantity,
            dose=self.dose,
            frequency=self.frequency,
            duration_days=self.duration_days,
            instructions=self.instructions,
        )


def _added(form: LineForm, index: int) -> AddedLine:
    data = form.cleaned_data
    assert form.medicine_row is not None
    return AddedLine(
        index=index,
        medicine=form.medicine_row,
        dose=data["dose"],
        frequency=data["frequency"],
        duration_days=data["duration_days"],
        quantity=data["quantity"],
        instructions=data.get("instructions") or "",
    )


def _encounter(actor: Actor, person: Person, raw: str | None) -> Encounter | None:
    if not raw:
        return None
    try:
        public_id = uuid.UUID(raw)
    except ValueError as exc:
        raise ValidationFailed(
            _("Atención desconocida para esta persona."), field="encounter"
        ) from exc
    # Whether the encounter may carry a prescription of this prescriber is the service's rule.
    return encounter_for_prescribing(actor, person=person, public_id=public_id)


def _picker_context(
    actor: Actor, *, text: str, pharmacy: Facility | None, errors: list[str] | None = None
) -> dict[str, Any]:
    chosen = sel.medicine_lookup(actor, key=text) if text else None
    levels = sel.stock_at(actor, facility=pharmacy, keys=[chosen.key] if chosen else [])
    return {
        "med_text": chosen.key if chosen else text,
        "med_chosen": chosen,
        "med_stock": _stock(levels, chosen.key) if chosen else None,
        "med_errors": errors or [],
        "pharmacy": pharmacy,
    }


@page(Permission.PRESCRIBE)
def prescribe(request: HttpRequest, actor: Actor, public_id: uuid.UUID) -> HttpResponse:
    person = sel.patient_for_form(actor, public_id=public_id, permission=Permission.PRESCRIBE)
    raw_encounter = (
        request.POST.get("encounter") if request.method == "POST" else request.GET.get("atencion")
    )
    encounter = _encounter(actor, person, raw_encounter)
    pharmacy = sel.usual_pharmacy(actor)
    allergies = allergy_list(actor, person=person) if actor.can(Permission.CLINICAL_READ) else []
    errors: list[str] = []
    added: list[AddedLine] = []
    editor = LineForm(actor=actor)
    status = 200
    if request.method == "POST":
        editor = LineForm(request.POST, actor=actor)
        for index in line_indices(request.POST):
            kept = LineForm(request.POST, prefix=f"line-{index}", actor=actor)
            if kept.is_valid():
                added.append(_added(kept, len(added)))
            else:
                errors.append(_("Un renglón agregado no es válido; vuelva a escribirlo."))
        note = (request.POST.get("note") or "").strip()
        adding = request.POST.get("action") == "add_line"
        if adding or not editor.is_blank():
            if editor.is_valid():
                added.append(_added(editor, len(added)))
                editor = LineForm(actor=actor)
        elif not added:
            errors.append(_("Agregue al menos un medicamento a la receta."))
        if len(added) > MAX_LINES:
            errors.append(_("Una receta admite como máximo %(n)d renglones.") % {"n": MAX_LINES})
        if not adding and not errors and not editor.errors:
            try:
                prescription = prescription_create(
                    actor,
                    person=person,
                    encounter=encounter,
                    note=note,
                    lines=[line.as_input() for line in added],
                )
            except (ValidationFailed, Conflict) as exc:
                errors.append(str(exc.message))
            else:
                messages.success(
                    request,
                    _("Receta emitida. Código de verificación: %(code)s")
                    % {"code": codes.display(prescription.code)},
                )
                return redirect("prescription_detail", public_id=prescription.public_id)
        status = 422 if errors or editor.errors else 200
    else:
        note = ""
    levels = sel.stock_at(actor, facility=pharmacy, keys=[line.medicine.key for line in added])
    for line in added:
        line.stock = _stock(levels, line.medicine.key)
    editor_text = (editor.data.get("medicine") or "").strip() if editor.is_bound else ""
    context: dict[str, Any] = {
        "section": "people",
        "person": person,
        "encounter": encounter,
        "allergies": allergies,
        "added": added,
        "editor": editor,
        "errors": errors,
        "note": note,
        "max_lines": MAX_LINES,
        **_picker_context(
            actor,
            text=editor_text,
            pharmacy=pharmacy,
            errors=[str(e) for e in editor.errors.get("medicine", [])],
        ),
    }
    if editor.errors.get("medicine") and editor_text and not context["med_chosen"]:
        # The words typed are searched here too, so the keys are at hand without JavaScript.
        context["med_results"] = _search_rows(actor, editor_text, pharmacy)
    return render(request, "web/clinician/prescribe.html", context, status=status)


def _search_rows(actor: Actor, text: str, pharmacy: Facility | None) -> list[dict[str, Any]]:
    exact = sel.medicine_lookup(actor, key=text)
    found = (
        [exact]
        if exact is not None
        else sel.medicine_search(actor, text=text, limit=MEDICINE_RESULTS)
    )
    levels = sel.stock_at(actor, facility=pharmacy, keys=[m.key for m in found])
    return [{"medicine": m, "stock": _stock(levels, m.key)} for m in found]


@page(Permission.PRESCRIBE)
def medicine_search(request: HttpRequest, actor: Actor) -> HttpResponse:
    """Catalogue search as you type (htmx fragment), each key with its stock at the usual pharmacy."""
    text = " ".join(request.GET.get("medicine", "").split())[:100]
    pharmacy = sel.usual_pharmacy(actor)
    rows = _search_rows(actor, text, pharmacy) if len(text) >= 2 else None
    return render(
        request,
        "web/clinician/_medicine_results.html",
        {"med_results": rows, "med_query": text, "pharmacy": pharmacy},
    )


@page(Permission.PRESCRIBE)
def medicine_pick(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The medicine box again with a catalogue key chosen (htmx swaps the whole box)."""
    text = request.GET.get("medicine", "").strip()[:100]
    return render(
        request,
        "web/clinician/_medicine_picker.html",
        _picker_context(actor, text=text, pharmacy=sel.usual_pharmacy(actor)),
    )


# --- The prescription as issued, and printed ------------------------------------------------------


def _prescription_context(prescription: Prescription) -> dict[str, Any]:
    today = timezone.localdate()
    status = prescription.status_on(today)
    return {
        "rx": prescription,
        "lines": list(prescription.lines.all()),
        "status": status,
        "status_label": dict(PrescriptionStatus.choices).get(status, status),
        "code_display": codes.display(prescription.code),
        "diagnoses": prescription_diagnoses(prescription),
    }


@page(Permission.PRESCRIPTION_READ)
def prescription_detail(request: HttpRequest, actor: Actor, public_id: uuid.UUID) -> HttpResponse:
    prescription = prescription_get(actor, public_id=public_id)
    context = _prescription_context(prescription)
    context.update(
        section="people",
        person=prescription.person,
        can_see_chart=actor.can(Permission.CLINICAL_READ),
        can_prescribe=actor.can(Permission.PRESCRIBE),
    )
    return render(request, "web/clinician/prescription.html", context)


_SVG_START = re.compile(r"<svg\b")


def _inline_svg(svg: str) -> str:
    """The QR's <svg> element without the XML declaration that precedes it in a file."""
    match = _SVG_START.search(svg)
    return svg[match.start() :] if match else ""


@page(Permission.PRESCRIPTION_READ)
def prescription_print(request: HttpRequest, actor: Actor, public_id: uuid.UUID) -> HttpResponse:
    prescription = prescription_get(actor, public_id=public_id)
    context = _prescription_context(prescription)
    # The SVG is produced by the qrcode library from the verification code alone (its alphabet has
    # no markup characters), so it is safe to embed as is.
    context["qr_svg"] = mark_safe(_inline_svg(verification_qr_svg(prescription.code)))  # noqa: S308
    context["person"] = prescription.person
    context["chart_url"] = reverse("patient_chart", args=[prescription.person.public_id])
    return render(request, "web/clinician/prescription_print.html", context)
