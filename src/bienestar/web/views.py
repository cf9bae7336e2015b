"""Home page (one per role), log-in and log-out."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.access.roles import Permission, Role
from bienestar.indicators.dashboard import dashboard
from bienestar.outreach.field_selectors import worklist as outreach_worklist
from bienestar.web.http import page
from bienestar.web.selectors import territory_summary

# Roles whose home page puts the person search first: they meet people face to face.
SEARCH_FIRST = {Role.CLINICIAN, Role.PHARMACIST, Role.OUTREACH_MANAGER, Role.FACILITY_DIRECTOR}


@page()
def home(request: HttpRequest, actor: Actor) -> HttpResponse:
    user = actor.user
    role = actor.role
    if role == Role.PHARMACIST and actor.can(Permission.DISPENSE) and user and user.facility_id:
        # The pharmacist's work is the queue of prescriptions to fill, the code box on top.
        return redirect("pharmacy_home")
    context: dict[str, Any] = {
        "role": role if role in Role.values else "",
        "search_first": role in SEARCH_FIRST and actor.can(Permission.PERSON_READ),
        "can_search": actor.can(Permission.PERSON_READ),
        "facility": user.facility if user is not None and user.facility_id else None,
        "territory": user.territory if user is not None and user.territory_id else None,
    }
    if role in (Role.NATIONAL_COORDINATOR, Role.STATE_COORDINATOR):
        context["summary"] = territory_summary(actor)
        if actor.can(Permission.INDICATOR_READ) and actor.scope_path:
            context["tiles"] = dashboard(actor)
    if role == Role.OUTREACH_MANAGER and actor.can(Permission.OUTREACH_FIELD):
        context["work"] = outreach_worklist(actor)  # the gestor starts from the day's work
    return render(request, "web/home.html", context)


class LoginView(auth_views.LoginView):
    template_name = "access/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["idle_minutes"] = max(1, settings.INACTIVITY_LOGOUT_SECONDS // 60)
        context["failure_limit"] = settings.AXES_FAILURE_LIMIT
        return context


class LogoutView(auth_views.LogoutView):
    """POST only (Django refuses GET), so a link or a prefetch cannot sign anyone out."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        was_signed_in = request.user.is_authenticated
        response = super().post(request, *args, **kwargs)
        if was_signed_in:
            messages.success(request, _("Cerró su sesión."))
        return response
