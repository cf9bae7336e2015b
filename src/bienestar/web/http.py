"""What every page view shares: log-in (htmx-aware), the permission check, and DomainError → page.

Views stay thin: they build an Actor, call selectors, and let `page` turn a DomainError into the
answer a person expects (401 → log-in page, 403/404 → an explanation with that status).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render, resolve_url
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.access.roles import Permission
from bienestar.core.errors import DomainError

View = Callable[..., HttpResponseBase]


def is_htmx(request: HttpRequest) -> bool:
    """A fragment request from htmx (not a boosted page, not a history restore, which need the whole page)."""
    headers = request.headers
    return (
        headers.get("HX-Request") == "true"
        and headers.get("HX-Boosted") != "true"
        and headers.get("HX-History-Restore-Request") != "true"
    )


def login_redirect(request: HttpRequest) -> HttpResponse:
    """To the log-in page, coming back here afterwards. htmx follows HX-Redirect with a full page load,
    so an expired session never paints the log-in form inside a results box."""
    if is_htmx(request):
        response = HttpResponse(status=401)
        response["HX-Redirect"] = resolve_url(settings.LOGIN_URL)
        return response
    return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)


def error_page(request: HttpRequest, status: int, message: Any = None) -> HttpResponse:
    """The 403/404 (or other 4xx) page with a translated explanation."""
    template = {403: "403.html", 404: "404.html"}.get(status, "web/error.html")
    return render(request, template, {"message": message, "status": status}, status=status)


def domain_error_response(request: HttpRequest, exc: DomainError) -> HttpResponse:
    if exc.status == 401:
        return login_redirect(request)
    return error_page(request, exc.status, exc.message)


def page(permission: Permission | None = None) -> Callable[[View], View]:
    """Decorate a page view: requires a signed-in user, optionally a permission, and renders any
    DomainError the selectors raise. The view receives the Actor as its second argument."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            actor = Actor.from_request(request)
            if not actor.is_authenticated:
                return login_redirect(request)
            if permission is not None and not actor.can(permission):
                return error_page(request, 403, _("Su función no permite consultar esta página."))
            try:
                response: HttpResponseBase = view(request, actor, *args, **kwargs)
            except DomainError as exc:
                response = domain_error_response(request, exc)
            # The same URL answers a fragment to htmx and a whole page otherwise.
            patch_vary_headers(response, ("HX-Request",))
            return response

        return wrapper

    return decorate
