"""Agenda pages: the unit's list of the day (booked and walk-in, in order, with waiting time), the
state buttons, the walk-in form, and booking a person into a free slot. Thin: the selectors and
services decide scope, permissions and audit."""

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
from bienestar.people.selectors import person_by_national_id, person_get
from bienestar.scheduling import metrics, selectors, services
from bienestar.scheduling.models import AppointmentStatus, Service, TriageLevel
from bienestar.scheduling.timezones import facility_zone
from bienestar.web.http import page

S = AppointmentStatus
# The next step offered on the day's list for each state.
NEXT_STEP = {
    S.BOOKED: (S.ARRIVED, _("Llegó")),
    S.ARRIVED: (S.IN_CONSULTATION, _("Pasar a consulta")),
    S.IN_CONSULTATION: (S.FULFILLED, _("Terminar")),
}


def _day(request: HttpRequest, actor: Actor) -> dt.date:
    unit = actor.user.facility if actor.user is not None else None
    today = timezone.now().astimezone(facility_zone(unit)).date() if unit else timezone.localdate()
    try:
        return dt.date.fromisoformat(request.GET.get("dia", ""))
    except ValueError:
        return today


def _own_unit(actor: Actor) -> Any:
    unit = actor.user.facility if actor.user is not None else None
    if unit is None:
        raise DomainError(_("Su usuario no tiene un establecimiento asignado."))
    return unit


@page(Permission.APPOINTMENT_READ)
def day_page(request: HttpRequest, actor: Actor) -> HttpResponse:
    unit = _own_unit(actor)
    day = _day(request, actor)
    rows = selectors.day_list(actor, facility=unit, day=day)
    context = {
        "unit": unit,
        "day": day,
        "previous": day - dt.timedelta(days=1),
        "next": day + dt.timedelta(days=1),
        "zone": facility_zone(unit),
        "rows": [{"row": r, "next": NEXT_STEP.get(S(r.appointment.status))} for r in rows],
        "waiting": sum(1 for r in rows if r.appointment.status == S.ARRIVED),
        "figures": metrics.wait_figures(actor, facility=unit, first_day=day, last_day=day),
        "services": Service.objects.filter(facility=unit, active=True),
        "triage_levels": TriageLevel.choices,
        "section": "agenda",
    }
    return render(request, "scheduling/day.html", context)


@require_POST
@page(Permission.APPOINTMENT_WRITE)
def status_change(request: HttpRequest, actor: Actor, public_id: str) -> HttpResponse:
    target = request.POST.get("status", "")
    services.appointment_transition(
        actor,
        appointment=public_id,
        to=target,
        reason=request.POST.get("reason", ""),
        expected_status=request.POST.get("expected_status") or None,
    )
    return redirect(f"{reverse('agenda_day')}?dia={request.POST.get('dia', '')}")


@require_POST
@page(Permission.APPOINTMENT_WRITE)
def walk_in(request: HttpRequest, actor: Actor) -> HttpResponse:
    value = request.POST.get("national_id", "").replace("-", "").strip()
    try:
        person = person_by_national_id(actor, value=value)
        triage = int(request.POST.get("triage", "0"))
        appointment = services.walk_in_register(
            actor,
            person=person.public_id,
            service=request.POST.get("service", ""),
            triage=triage,
            reason=request.POST.get("reason", ""),
        )
    except (DomainError, ValueError) as exc:
        message = exc.message if isinstance(exc, DomainError) else _("Nivel de triaje inválido.")
        if isinstance(exc, DomainError) and exc.status == 404:
            message = _("No se encontró a la persona con ese ID en su territorio.")
        messages.error(request, message)
        return redirect("agenda_day")
    messages.success(
        request,
        _("%(name)s quedó en espera (%(time)s).")
        % {"name": person.full_name, "time": appointment.local_start.strftime("%H:%M")},
    )
    return redirect("agenda_day")


@page(Permission.APPOINTMENT_WRITE)
def book_page(request: HttpRequest, actor: Actor, public_id: str) -> HttpResponse:
    person = person_get(actor, public_id=public_id)
    unit = _own_unit(actor)
    if request.method == "POST":
        try:
            appointment = services.appointment_book(
                actor,
                person=person.public_id,
                slot=request.POST.get("slot", ""),
                reason=request.POST.get("reason", ""),
            )
        except DomainError as exc:
            if exc.status in (401, 403, 404):
                raise
            messages.error(request, exc.message)
            return redirect(request.get_full_path())
        local = appointment.local_start
        messages.success(
            request,
            _("Cita agendada para %(name)s el %(day)s a las %(time)s.")
            % {
                "name": person.full_name,
                "day": local.strftime("%d/%m/%Y"),
                "time": local.strftime("%H:%M"),
            },
        )
        return redirect(f"{reverse('agenda_day')}?dia={local.date().isoformat()}")
    day = _day(request, actor)
    service = request.GET.get("servicio") or None
    found = selectors.slots_search(
        actor,
        selectors.SlotSearch(facility=unit, first_day=day, last_day=day, service=service),
    )
    context = {
        "person": person,
        "unit": unit,
        "day": day,
        "previous": day - dt.timedelta(days=1),
        "next": day + dt.timedelta(days=1),
        "slots": [
            {"id": s.slot_id, "time": s.start.astimezone(found.zone), "free": s.free}
            for s in found.slots
        ],
        "services": Service.objects.filter(facility=unit, active=True),
        "service": service,
        "zone": found.zone,
        "section": "agenda",
    }
    return render(request, "scheduling/book.html", context)
