"""Automatic log-off after inactivity (NOM-024 asks systems to close idle sessions)."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.middleware.locale import LocaleMiddleware
from django.utils import translation
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


class LanguageMiddleware(LocaleMiddleware):
    """Pages speak Spanish unless the user chose English with the switch (the language cookie);
    the APIs follow the client's Accept-Language, as integrators expect."""

    API_PREFIXES = ("/api/", "/fhir/")

    def process_request(self, request: HttpRequest) -> None:
        if request.path.startswith(self.API_PREFIXES) or request.path == "/fhir":
            super().process_request(request)
            return
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = (
            chosen if chosen and translation.check_for_language(chosen) else settings.LANGUAGE_CODE
        )
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
