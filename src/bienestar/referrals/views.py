"""Referral pages: send one from the chart, the receiving unit's list with its actions, one
referral with its history and the counter-referral form, and the chart's referral section (loaded
by htmx). Thin: the services and selectors decide sides, scope and audit."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from bienestar.access.actor import Actor
from bienestar.access.roles import Permission
from bienestar.core.errors import DomainError
from bienestar.facilities.models import Facility
from bienestar.people.selectors import person_get
from bienestar.referrals import selectors, services
from bienestar.referrals.models import CareRoute, Priority, ReferralStatus
from bienestar.scheduling import selectors as scheduling_selectors
from bienestar.scheduling.timezones import facility_zone
from bienestar.web.http import page

R = ReferralStatus
# Buttons the receiving unit sees for each state: (target state, label, needs a reason).
DESTINATION_ACTIONS = {
    R.REQUESTED: [(R.RECEIVED, _("Recibir"), False), (R.REJECTED, _("Rechazar"), True)],
    R.RECEIVED: [(R.ACCEPTED, _("Aceptar"), False), (R.REJECTED, _("Rechazar"), True)],
    R.ACCEPTED: [(R.FAILED, _("No se pudo atender"), True)],
    R.SCHEDULED: [(R.ATTENDED, _("Atendida"), False), (R.FAILED, _("No acudió"), True)],
}


def _destinations(actor: Actor) -> Any:
    """Units a referral may go to: those in operation in the actor's state, hospitals first."""
    own = actor.user.facility if actor.user is not None else None
    if own is None:
        return Facility.objects.none()
    state_path = ".".join(own.territory.path.split(".")[:2])
    return (
        Facility.objects.filter(in_operation=True, territory__path__startswith=state_path)
        .exclude(pk=own.pk)
        .order_by("-level_of_care", "name")[:300]
    )


@page(Permission.CLINICAL_WRITE)
def referral_new(request: HttpRequest, actor: Actor, public_id: str) -> HttpResponse:
    person = person_get(actor, public_id=public_id)
    form: dict[str, Any] = {"priority": Priority.ROUTINE}
    error = None
    if request.method == "POST":
        form = request.POST.dict()
        try:
            services.referral_create(
                actor,
                person=person.public_id,
                destination=form.get("destination", ""),
                priority=form.get("priority", ""),
                care_route=form.get("care_route", ""),
                reason=form.get("reason", ""),
                diagnosis_code=form.get("diagnosis_code", ""),
                clinical_summary=form.get("clinical_summary", ""),
            )
        except DomainError as exc:
            if exc.status in (401, 403, 404):
                raise
            error = exc
        else:
            messages.success(request, _("Referencia enviada."))
            return redirect("patient_chart", public_id=person.public_id)
    context = {
        "person": person,
        "destinations": _destinations(actor),
        "priorities": Priority.choices,
        "routes": CareRoute.choices,
        "form": form,
        "error": error,
        "section": "people",
    }
    return render(request, "referrals/new.html", context, status=422 if error else 200)


@page(Permission.CLINICAL_READ)
def received(request: HttpRequest, actor: Actor) -> HttpResponse:
    rows = selectors.referrals_received(actor)
    return render(
        request,
        "referrals/received.html",
        {"rows": rows, "now": timezone.now(), "section": "referrals"},
    )


@page(Permission.CLINICAL_READ)
def detail(request: HttpRequest, actor: Actor, public_id: str) -> HttpResponse:
    referral = selectors.referral_get(actor, referral=public_id)
    own = actor.user.facility_id if actor.user is not None else None
    receiving = own == referral.destination_facility_id and actor.can(Permission.CLINICAL_WRITE)
    slots: list[dict[str, Any]] = []
    day = None
    if receiving and referral.status in (R.REQUESTED, R.RECEIVED, R.ACCEPTED):
        zone = facility_zone(referral.destination_facility)
        try:
            day = dt.date.fromisoformat(request.GET.get("dia", ""))
        except ValueError:
            day = timezone.now().astimezone(zone).date() + dt.timedelta(days=1)
        found = scheduling_selectors.slots_search(
            actor,
            scheduling_selectors.SlotSearch(
                facility=referral.destination_facility, first_day=day, last_day=day
            ),
        )
        slots = [{"id": s.slot_id, "time": s.start.astimezone(found.zone)} for s in found.slots]
    context = {
        "r": referral,
        "history": referral.changes.all(),
        "receiving": receiving,
        "actions": DESTINATION_ACTIONS.get(R(referral.status), []) if receiving else [],
        "slots": slots,
        "day": day,
        "can_answer": receiving
        and referral.status in (R.RECEIVED, R.ACCEPTED, R.SCHEDULED, R.ATTENDED),
        "section": "referrals",
    }
    return render(request, "referrals/detail.html", context)


def _back(public_id: str) -> HttpResponse:
    return redirect(reverse("referral_detail", args=[public_id]))


@require_POST
@page(Permission.CLINICAL_WRITE)
def change(request: HttpRequest, actor: Actor, public_id: str) -> HttpResponse:
    try:
        services.referral_transition(
            actor,
            referral=public_id,
            to=request.POST.get("status", ""),
            reason=request.POST.get("reason", ""),
            expected_status=request.POST.get("expected_status") or None,
        )
    except DomainError as exc:
        if exc.status in (401, 403, 404):
            raise
        messages.error(request, exc.message)
    return _back(public_id)


@require_POST
@page(Permission.CLINICAL_WRITE)
def book(request: HttpRequest, actor: Actor, public_id: str) -> HttpResponse:
    try:
        services.referral_book(actor, referral=public_id, slot=request.POST.get("slot", ""))
    except DomainError as exc:
        if exc.status in (401, 403, 404):
            raise
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Cita agendada."))
    return _back(public_id)


@require_POST
@page(Permission.CLINICAL_WRITE)
def answer(request: HttpRequest, actor: Actor, public_id: str) -> HttpResponse:
    attended = request.POST.get("attended") == "yes"
    try:
        services.counter_referral_record(
            actor,
            referral=public_id,
            attended=attended,
            not_attended_reason=request.POST.get("not_attended_reason", ""),
            diagnosis_code=request.POST.get("diagnosis_code", ""),
            plan=request.POST.get("plan", ""),
            return_instructions=request.POST.get("return_instructions", ""),
        )
    except DomainError as exc:
        if exc.status in (401, 403, 404):
            raise
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Contrarreferencia registrada."))
    return _back(public_id)


@page(Permission.CLINICAL_READ)
def chart_section(request: HttpRequest, actor: Actor, public_id: str) -> HttpResponse:
    rows = selectors.referrals_of_person(actor, person=public_id)
    return render(
        request,
        "referrals/_chart_section.html",
        {
            "rows": rows,
            "person_public_id": public_id,
            "can_refer": actor.can(Permission.CLINICAL_WRITE),
        },
    )
