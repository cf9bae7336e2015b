"""Automatic log-off after inactivity (NOM-024 asks systems to close idle sessions)."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

SESSION_KEY = "bienestar_last_activity"


class InactivityLogoutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = time.time()
            last = request.session.get(SESSION_KEY)
            if last is not None and now - float(last) > settings.INACTIVITY_LOGOUT_SECONDS:
                logout(request)
                messages.info(request, _("Su sesión se cerró por inactividad."))
            else:
                request.session[SESSION_KEY] = now
        return self.get_response(request)
