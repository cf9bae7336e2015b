"""The FHIR interactions' own request and response, independent of Django's.

Views turn an HttpRequest into a `FhirRequest` and render the `FhirResponse`; a batch or transaction
Bundle (phase 2) builds one `FhirRequest` per entry and runs the same interaction functions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.core import safejson
from bienestar.fhir.errors import FhirError
from bienestar.fhir.mappers.common import number

FHIR_JSON = "application/fhir+json"
_JSON_TYPES = ("application/fhir+json", "application/json", "application/json+fhir")


@dataclass
class FhirRequest:
    actor: Actor
    method: str
    base_url: str  # e.g. "https://host/fhir" (no trailing slash)
    resource_type: str = ""
    resource_id: str = ""
    version_id: str = ""
    params: list[tuple[str, str]] = field(default_factory=list)
    body: dict[str, Any] | None = None
    if_match: str = ""
    if_none_exist: str = ""
    prefer: dict[str, str] = field(default_factory=dict)

    @property
    def strict(self) -> bool:
        return self.prefer.get("handling") == "strict"

    @property
    def return_preference(self) -> str:
        return self.prefer.get("return", "representation")


@dataclass
class FhirResponse:
    status: int
    resource: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


def parse_prefer(header: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in header.split(","):
        for item in part.split(";"):
            key, _sep, value = item.strip().partition("=")
            if key:
                out[key.strip().lower()] = value.strip().strip('"').lower()
    return out


def base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/fhir").rstrip("/")


def read_body(request: HttpRequest) -> dict[str, Any]:
    """The JSON resource in the body; 415 for another media type, 400 for bad JSON."""
    content_type = (request.content_type or "").lower()
    if content_type and content_type not in _JSON_TYPES:
        raise FhirError(
            415,
            _("Envíe el recurso como application/fhir+json."),
            code="not-supported",
        )
    data = parse_json(request.body)
    if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
        raise FhirError(
            400, _("El cuerpo debe ser un recurso FHIR con resourceType."), code="structure"
        )
    return data


def parse_json(raw: bytes) -> Any:
    """The body's JSON, through the boundary's depth and NUL limits (core.safejson): 400 with an
    OperationOutcome for invalid, too deep or NUL-holding JSON. Every FHIR body is read here."""
    try:
        return safejson.loads(raw.decode("utf-8") or "null")
    except safejson.UnsafeJson as exc:
        raise FhirError(400, str(exc), code="structure") from None
    except (UnicodeDecodeError, ValueError):
        raise FhirError(400, _("El cuerpo no es JSON válido."), code="structure") from None


def checked_params(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Parameters (query, form, a Bundle entry's URL) refused with 400 when one holds NUL."""
    for name, value in pairs:
        message = safejson.check_text(name) or safejson.check_text(value)
        if message:
            raise FhirError(400, message, code="value")
    return pairs


def check_accept(request: HttpRequest) -> None:
    """JSON only: an Accept or _format asking for XML (and nothing JSON) gets 406."""
    fmt = request.GET.get("_format", "")
    if fmt and "json" not in fmt.lower():
        raise FhirError(406, _("Este servidor solo habla JSON (application/fhir+json)."))
    accept = request.headers.get("Accept", "")
    if accept and "json" not in accept and "*/*" not in accept and "application/*" not in accept:
        raise FhirError(406, _("Este servidor solo habla JSON (application/fhir+json)."))


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return number(value)
    raise TypeError(f"not serialisable: {type(value).__name__}")


def render(response: FhirResponse) -> HttpResponse:
    body = b""
    if response.resource is not None:
        body = json.dumps(response.resource, ensure_ascii=False, default=_json_default).encode()
    out = HttpResponse(body, status=response.status, content_type=f"{FHIR_JSON}; charset=utf-8")
    for key, value in response.headers.items():
        out[key] = value
    return out


def http_date(value: Any) -> str:
    return format_datetime(value, usegmt=True)


def query_string(params: list[tuple[str, str]]) -> str:
    return urlencode(params, safe="|:,/$*")
