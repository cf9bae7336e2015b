"""The gestor's pages, phone first: work list, household file, visit, characterisation and
screening forms. Thin: selectors read, services write, DomainErrors become answers."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.access.roles import Permission
from bienestar.core.errors import DomainError, ValidationFailed
from bienestar.outreach import field as services
from bienestar.outreach import field_selectors as selectors
from bienestar.outreach import scoring
from bienestar.outreach.models import ScreeningKind, VisitOutcome, VisitSetting
from bienestar.outreach.rules import TASK_KINDS
from bienestar.outreach.scope import field_household
from bienestar.web.http import page


@page(Permission.OUTREACH_FIELD)
def worklist(request: HttpRequest, actor: Actor) -> HttpResponse:
    sector = request.GET.get("sector", "")[:10]
    kind = request.GET.get("tipo", "")
    kind = kind if kind in TASK_KINDS else ""
    route = request.GET.get("orden") == "ruta"
    work = selectors.worklist(actor, sector_code=sector, kind=kind, route=route)
    return render(
        request,
        "outreach/worklist.html",
        {
            "work": work,
            "sector": sector,
            "kind": kind,
            "route": route,
            "today": timezone.localdate(),
        },
    )


def _device_time(raw: str | None) -> dt.datetime:
    """The phone's clock when the form was filled (set by outreach/device_time.js); the server's
    when the page ran without script."""
    if raw:
        try:
            value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
            if timezone.is_aware(value):
                return value
        except ValueError:
            pass
    return timezone.now()


def _uuid(raw: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw) if raw else None
    except ValueError:
        return None


@page(Permission.OUTREACH_FIELD)
def household(request: HttpRequest, actor: Actor, public_id: uuid.UUID) -> HttpResponse:
    view = selectors.household_file(actor, public_id=public_id)
    return render(
        request,
        "outreach/household.html",
        {
            "x": view,
            "settings": VisitSetting.choices,
            "outcomes": VisitOutcome.choices,
            "kinds": ScreeningKind.choices,
            "task_kinds": TASK_KINDS,
            "new_uuid": uuid.uuid4(),
        },
    )


@page(Permission.OUTREACH_FIELD)
def visit_new(request: HttpRequest, actor: Actor, public_id: uuid.UUID) -> HttpResponse:
    if request.method != "POST":
        return redirect("outreach:household", public_id=public_id)
    target = field_household(actor, public_id=public_id)
    services.visit_record(
        actor,
        household=target,
        setting=request.POST.get("setting", ""),
        outcome=request.POST.get("outcome", ""),
        device_time=_device_time(request.POST.get("device_time")),
        public_id=_uuid(request.POST.get("uuid")),
    )
    messages.success(request, _("Visita registrada."))
    return redirect("outreach:household", public_id=public_id)


def _bool(raw: str | None) -> bool | None:
    return {"1": True, "0": False}.get(raw or "")


@page(Permission.OUTREACH_FIELD)
def characterise(request: HttpRequest, actor: Actor, public_id: uuid.UUID) -> HttpResponse:
    if request.method != "POST":
        return redirect("outreach:household", public_id=public_id)
    target = field_household(actor, public_id=public_id)
    form = request.POST
    data = services.ProfileInput()
    for name in ("ventilation_light", "overcrowding", "wellbeing_plan_agreed"):
        if form.get(name):
            setattr(data, name, _bool(form.get(name)))
            data.fields_sent.add(name)
    for name in ("water_source", "excreta_disposal", "waste_disposal", "cooking_fuel"):
        if form.get(name):
            setattr(data, name, form[name])
            data.fields_sent.add(name)
    if form.get("family_apgar"):
        try:
            data.family_apgar = int(form["family_apgar"])
        except ValueError:
            raise ValidationFailed(
                _("El APGAR familiar va de 0 a 20."), field="family_apgar"
            ) from None
        data.fields_sent.add("family_apgar")
    if form.get("consent"):
        data.consent = form["consent"]
        data.fields_sent.add("consent")
    services.household_profile_record(actor, household=target, data=data)
    messages.success(request, _("Caracterización guardada."))
    return redirect("outreach:household", public_id=public_id)


def _decimal(raw: str | None) -> Decimal | None:
    try:
        return Decimal(raw.replace(",", ".")) if raw else None
    except InvalidOperation:
        return None


def _inputs(kind: str, form: Any) -> dict[str, Any]:
    """The instrument's inputs from the form (shape only; the scoring validates ranges)."""
    if kind == ScreeningKind.FINDRISC:
        return {
            "bmi": _decimal(form.get("bmi")),
            "waist_cm": _decimal(form.get("waist_cm")),
            "active_30min_daily": form.get("active_30min_daily") == "1",
            "vegetables_daily": form.get("vegetables_daily") == "1",
            "bp_medication": form.get("bp_medication") == "1",
            "high_glucose_history": form.get("high_glucose_history") == "1",
            "family_history": form.get("family_history", "none"),
        }
    if kind == ScreeningKind.BLOOD_PRESSURE:
        return {
            "systolic": form.get("systolic") or "0",
            "diastolic": form.get("diastolic") or "0",
            "pregnant": form.get("pregnant") == "1",
            "symptoms": form.get("symptoms") == "1",
        }
    if kind == ScreeningKind.PHQ2:
        return {"interest": form.get("interest") or "0", "mood": form.get("mood") or "0"}
    if kind == ScreeningKind.CHILD_GROWTH:
        return {
            "weight_kg": _decimal(form.get("weight_kg")),
            "height_cm": _decimal(form.get("height_cm")),
            "muac_cm": _decimal(form.get("muac_cm")),
        }
    return {"signs": form.getlist("signs")}


@page(Permission.OUTREACH_FIELD)
def screening_new(
    request: HttpRequest, actor: Actor, public_id: uuid.UUID, kind: str
) -> HttpResponse:
    if kind not in ScreeningKind.values:
        raise ValidationFailed(_("Tamizaje desconocido."), field="kind")
    view = selectors.household_file(actor, public_id=public_id)
    person_id = _uuid(request.POST.get("person") or request.GET.get("persona"))
    members = {m.person.public_id: m.person for m in view.members}
    context: dict[str, Any] = {
        "x": view,
        "kind": kind,
        "kind_label": ScreeningKind(kind).label,
        "person_id": person_id,
        "danger_signs": scoring.DANGER_SIGNS,
        "new_uuid": uuid.uuid4(),
        "form": request.POST,
        "cutoff": scoring.findrisc_referral_cutoff(),
    }
    if request.method == "POST":
        person = members.get(person_id) if person_id else None
        try:
            if person is None:
                raise ValidationFailed(_("Elija a la persona."), field="person")
            screening = services.screening_record(
                actor,
                household=view.household,
                person=person,
                kind=kind,
                inputs=_inputs(kind, request.POST),
                device_time=_device_time(request.POST.get("device_time")),
                public_id=_uuid(request.POST.get("uuid")),
            )
        except DomainError as exc:
            if exc.status not in (409, 422):
                raise
            context["error"] = str(exc.message)
            return render(request, "outreach/screening_form.html", context, status=exc.status)
        messages.success(
            request,
            _("Tamizaje registrado: %(flag)s.")
            % {
                "flag": {"urgent": _("urgente"), "priority": _("prioritario")}.get(
                    screening.flag, _("rutinario")
                )
            },
        )
        return redirect(
            reverse("outreach:household", args=[public_id]) + f"#s-{screening.public_id}"
        )
    return render(request, "outreach/screening_form.html", context)
