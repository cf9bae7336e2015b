"""The facility page: what the establishment is, its capacity and opening hours, and its prescription
fill rate month by month (for those who may read indicators of it)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.access.errors import Forbidden
from bienestar.access.roles import Permission
from bienestar.facilities.selectors import facility_get
from bienestar.inventory.permissions import may_write_stock
from bienestar.web.http import page
from bienestar.web.selectors import monthly_fill_rates

FILL_RATE_MONTHS = 6


def _weekday_names() -> list[str]:
    return [
        _("Lunes"),
        _("Martes"),
        _("Miércoles"),
        _("Jueves"),
        _("Viernes"),
        _("Sábado"),
        _("Domingo"),
    ]


@page(Permission.REGISTRY_READ)
def facility_detail(request: HttpRequest, actor: Actor, key: str) -> HttpResponse:
    facility = facility_get(actor, key=key)
    names = _weekday_names()
    hours = [
        {"day": names[h.weekday], "opens": h.opens, "closes": h.closes}
        for h in facility.opening_hours.all()
    ]
    fill_rates = None
    if actor.can(Permission.INDICATOR_READ):
        try:
            fill_rates = monthly_fill_rates(actor, facility=facility, months=FILL_RATE_MONTHS)
        except Forbidden:
            fill_rates = None  # a facility outside the actor's territory: no indicators shown
    context: dict[str, Any] = {
        "facility": facility,
        "hours": hours,
        "fill_rates": fill_rates,
        "current": fill_rates[0] if fill_rates else None,
        "keeps_stock": may_write_stock(actor, facility),
        "pharmacy_link": actor.can(Permission.DISPENSE)
        and actor.user is not None
        and actor.user.facility_id == facility.id,
        "section": "facility",
    }
    return render(request, "web/facilities/detail.html", context)
