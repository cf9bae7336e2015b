"""Structural validation of resources with fhir.resources' R4B models (ADR 0002)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from pydantic import ValidationError

from bienestar.fhir.errors import FhirError, pydantic_issues


def model_class(resource_type: str) -> Any:
    from fhir.resources.R4B import get_fhir_model_class

    try:
        return get_fhir_model_class(resource_type)
    except (KeyError, ValueError):
        return None


def problems(resource: dict[str, Any]) -> list[str]:
    """What is wrong with a resource, as FHIRPath-like messages (empty when it is valid R4B)."""
    cls = model_class(str(resource.get("resourceType", "")))
    if cls is None:
        return [f"unknown resourceType {resource.get('resourceType')!r}"]
    try:
        cls.model_validate(resource)
    except ValidationError as exc:
        return [i.diagnostics for i in pydantic_issues(resource["resourceType"], exc)]
    return []


def validate_incoming(resource: dict[str, Any], expected_type: str) -> None:
    """400 with the path of each problem when the body is not a valid `expected_type`."""
    if resource.get("resourceType") != expected_type:
        raise FhirError(
            400,
            _("Se esperaba un recurso %(expected)s y llegó %(got)s.")
            % {"expected": expected_type, "got": resource.get("resourceType")},
            code="invalid",
            expression=[f"{expected_type}.resourceType"],
        )
    cls = model_class(expected_type)
    if cls is None:
        raise FhirError(400, _("Tipo de recurso desconocido."), code="not-supported")
    try:
        cls.model_validate(resource)
    except ValidationError as exc:
        raise FhirError(400, "", issues=pydantic_issues(expected_type, exc)) from None
