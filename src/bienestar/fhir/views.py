"""Thin Django views: authenticate, turn the HTTP request into a FhirRequest, run the interaction,
render the FhirResponse (application/fhir+json). Every error becomes an OperationOutcome."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from bienestar.access.actor import Actor
from bienestar.core.errors import DomainError
from bienestar.core.safejson import body_limit_mb
from bienestar.fhir import interactions
from bienestar.fhir.auth import authenticate
from bienestar.fhir.capability import capability_statement
from bienestar.fhir.errors import FhirError, from_domain_error
from bienestar.fhir.http import (
    FhirRequest,
    FhirResponse,
    base_url,
    check_accept,
    checked_params,
    parse_prefer,
    read_body,
    render,
)

logger = logging.getLogger(__name__)

Handler = Callable[[FhirRequest], FhirResponse]


def _params(request: HttpRequest, *, form: bool = False) -> list[tuple[str, str]]:
    pairs = [(k, v) for k in request.GET for v in request.GET.getlist(k)]
    if form:
        pairs += [(k, v) for k in request.POST for v in request.POST.getlist(k)]
    return checked_params(pairs)


def _actor(request: HttpRequest) -> Actor:
    """The caller, authenticated once per request (`_answer` does it before reading anything)."""
    actor = getattr(request, "_fhir_actor", None)
    if actor is None:
        actor = authenticate(request)
        request._fhir_actor = actor  # type: ignore[attr-defined]
    return actor


def _request(request: HttpRequest, **kwargs: Any) -> FhirRequest:
    return FhirRequest(
        actor=_actor(request),
        method=request.method or "GET",
        base_url=base_url(request),
        if_match=request.headers.get("If-Match", ""),
        if_none_exist=request.headers.get("If-None-Exist", ""),
        prefer=parse_prefer(request.headers.get("Prefer", "")),
        **kwargs,
    )


def _answer(
    request: HttpRequest, run: Callable[[], FhirResponse], *, public: bool = False
) -> HttpResponse:
    """Runs the interaction and renders its answer or its error as an OperationOutcome. The caller
    is authenticated first (except for public endpoints), so that an anonymous request gets 401
    whatever its body or media type, and learns nothing else about the server."""
    try:
        if not public:
            _actor(request)
        check_accept(request)
        return render(run())
    except FhirError as exc:
        return render(FhirResponse(exc.status, exc.outcome()))
    except RequestDataTooBig:
        error = FhirError(
            413,
            _("El cuerpo excede %(mb)s MB.") % {"mb": body_limit_mb()},
            code="too-costly",
        )
        return render(FhirResponse(413, error.outcome()))
    except (TooManyFieldsSent, SuspiciousOperation):
        error = FhirError(400, _("La petición no es válida."), code="structure")
        return render(FhirResponse(400, error.outcome()))
    except DomainError as exc:
        error = from_domain_error(exc)
        return render(FhirResponse(error.status, error.outcome()))
    except Exception as exc:
        # No personal data in the log: an exception's message can quote the values of the row
        # (a database error repeats the key), so only its type and the frames where it was raised.
        frames = "".join(traceback.format_tb(exc.__traceback__))
        logger.error("FHIR %s failed: %s\n%s", request.method, type(exc).__name__, frames)
        error = FhirError(500, _("Error interno del servidor."), code="exception")
        return render(FhirResponse(500, error.outcome()))


def _method_not_allowed(method: str) -> FhirResponse:
    raise FhirError(405, _("Método %(m)s no admitido aquí.") % {"m": method}, code="not-supported")


@csrf_exempt
def metadata(request: HttpRequest) -> HttpResponse:
    """The CapabilityStatement; public, as FHIR clients read it before authenticating."""

    def run() -> FhirResponse:
        if request.method != "GET":
            return _method_not_allowed(request.method or "")
        return FhirResponse(200, capability_statement(base_url(request)))

    return _answer(request, run, public=True)


@csrf_exempt
def type_level(request: HttpRequest, resource_type: str) -> HttpResponse:
    """GET search, POST create, PUT conditional update."""

    def run() -> FhirResponse:
        method = request.method or ""
        if method == "GET":
            req = _request(request, resource_type=resource_type, params=_params(request))
            return interactions.search_type(req)
        if method == "POST":
            body = read_body(request)
            return interactions.create(_request(request, resource_type=resource_type, body=body))
        if method == "PUT":
            body = read_body(request)
            req = _request(request, resource_type=resource_type, body=body, params=_params(request))
            return interactions.conditional_update(req)
        return _method_not_allowed(method)

    return _answer(request, run)


@csrf_exempt
def search_post(request: HttpRequest, resource_type: str) -> HttpResponse:
    """POST Type/_search with application/x-www-form-urlencoded parameters."""

    def run() -> FhirResponse:
        if request.method != "POST":
            return _method_not_allowed(request.method or "")
        req = _request(request, resource_type=resource_type, params=_params(request, form=True))
        return interactions.search_type(req)

    return _answer(request, run)


@csrf_exempt
def instance(request: HttpRequest, resource_type: str, resource_id: str) -> HttpResponse:
    """GET read, PUT update."""

    def run() -> FhirResponse:
        method = request.method or ""
        if method == "GET":
            return interactions.read(
                _request(request, resource_type=resource_type, resource_id=resource_id)
            )
        if method == "PUT":
            body = read_body(request)
            req = _request(request, resource_type=resource_type, resource_id=resource_id, body=body)
            return interactions.update(req)
        return _method_not_allowed(method)

    return _answer(request, run)


@csrf_exempt
def instance_history(request: HttpRequest, resource_type: str, resource_id: str) -> HttpResponse:
    def run() -> FhirResponse:
        if request.method != "GET":
            return _method_not_allowed(request.method or "")
        return interactions.history(
            _request(request, resource_type=resource_type, resource_id=resource_id)
        )

    return _answer(request, run)


@csrf_exempt
def vread(
    request: HttpRequest, resource_type: str, resource_id: str, version_id: str
) -> HttpResponse:
    def run() -> FhirResponse:
        if request.method != "GET":
            return _method_not_allowed(request.method or "")
        req = _request(
            request, resource_type=resource_type, resource_id=resource_id, version_id=version_id
        )
        return interactions.vread(req)

    return _answer(request, run)


@csrf_exempt
def patient_everything(request: HttpRequest, resource_id: str) -> HttpResponse:
    def run() -> FhirResponse:
        if request.method not in ("GET", "POST"):
            return _method_not_allowed(request.method or "")
        req = _request(
            request, resource_type="Patient", resource_id=resource_id, params=_params(request)
        )
        return interactions.everything(req)

    return _answer(request, run)


@csrf_exempt
def not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    def run() -> FhirResponse:
        raise FhirError(404, _("No existe esa ruta FHIR."), code="not-found")

    return _answer(request, run)
