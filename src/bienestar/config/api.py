"""The JSON API: one NinjaAPI, each domain app contributes a router."""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, ValidationError

from bienestar.access.api_auth import BearerOrSession, declared_access
from bienestar.core.errors import DomainError

api = NinjaAPI(
    title="Bienestar API",
    version="1",
    description="Registries of the health network: territories, facilities, workforce, people, households.",
    auth=BearerOrSession(),
    urls_namespace="api",
)
# Every operation declares what it touches (openapi_extra=reads(...)/writes(...), access.scopes);
# bearer tokens are checked against it. See docs/adr/0004, addendum on the JSON API.
api.add_decorator(declared_access, mode="view")


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return api.create_response(request, exc.as_dict(), status=exc.status)


@api.exception_handler(AuthenticationError)
def _auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    from django.utils.translation import gettext as _

    return api.create_response(
        request,
        {"error": "not_authenticated", "detail": _("Inicie sesión o envíe un token válido.")},
        status=401,
    )


@api.exception_handler(RequestDataTooBig)
def _too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    from django.utils.translation import gettext as _

    from bienestar.core.safejson import body_limit_mb

    return api.create_response(
        request,
        {
            "error": "too_large",
            "detail": _("El cuerpo excede %(mb)s MB.") % {"mb": body_limit_mb()},
        },
        status=413,
    )


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    from django.utils.translation import gettext as _

    return api.create_response(
        request,
        {"error": "validation_failed", "detail": _("Datos inválidos."), "errors": exc.errors},
        status=422,
    )


def _register_routers() -> None:
    from bienestar.access.api import router as access_router
    from bienestar.outreach.api import router as outreach_router
    from bienestar.people.api import router as people_router
    from bienestar.registries_api import routers

    api.add_router("/people/", people_router)
    api.add_router("/access/", access_router)
    api.add_router("/outreach/", outreach_router)
    from bienestar.jobs.api import router as jobs_router

    api.add_router("/jobs/", jobs_router)
    from bienestar.fhir.bulk.api import router as bulk_import_router

    api.add_router("/fhir-import/", bulk_import_router)
    for prefix, router in routers():
        api.add_router(prefix, router)


_register_routers()
