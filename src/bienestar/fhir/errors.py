"""OperationOutcome: the body of every FHIR error (4xx and 5xx), in Spanish or English.

Diagnostics are translated with Django's i18n; the FHIR views follow the request's Accept-Language
(see access.middleware.LanguageMiddleware). Domain errors raised by services and selectors become
the status they carry (401, 403, 404, 409, 422) with the issue code that FHIR clients expect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from bienestar.core.errors import DomainError

# DomainError status → FHIR issue type (http://hl7.org/fhir/issue-type).
_ISSUE_BY_STATUS = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    410: "deleted",
    412: "conflict",
    415: "not-supported",
    422: "processing",
}


@dataclass
class Issue:
    code: str
    diagnostics: str
    severity: str = "error"
    expression: Sequence[str] = ()

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "severity": self.severity,
            "code": self.code,
            "diagnostics": self.diagnostics,
        }
        if self.expression:
            out["expression"] = list(self.expression)
        return out


class FhirError(Exception):
    """An error answered as an OperationOutcome with `status`."""

    def __init__(
        self,
        status: int,
        diagnostics: Any,
        *,
        code: str | None = None,
        expression: Sequence[str] = (),
        issues: Sequence[Issue] = (),
    ) -> None:
        super().__init__(str(diagnostics))
        self.status = status
        self.issues: list[Issue] = list(issues) or [
            Issue(
                code=code or _ISSUE_BY_STATUS.get(status, "exception"),
                diagnostics=str(diagnostics),
                expression=expression,
            )
        ]

    def outcome(self) -> dict[str, Any]:
        return operation_outcome(self.issues)


@dataclass
class MappingError(Exception):
    """A resource that is valid FHIR but cannot become a Bienestar record (422), with the path of
    the element at fault, e.g. `Patient.identifier[0].system`."""

    message: Any
    path: str = ""
    status: int = 422
    extra: list[Issue] = field(default_factory=list)

    def __str__(self) -> str:
        return str(self.message)

    def as_fhir_error(self) -> FhirError:
        return FhirError(
            self.status,
            self.message,
            code="invalid" if self.status == 400 else "processing",
            expression=[self.path] if self.path else (),
        )


def operation_outcome(issues: Sequence[Issue]) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": [i.as_dict() for i in issues]}


def information(message: Any) -> dict[str, Any]:
    """An OperationOutcome that reports success (Prefer: return=OperationOutcome)."""
    return operation_outcome(
        [Issue(code="informational", diagnostics=str(message), severity="information")]
    )


def from_domain_error(
    exc: DomainError, *, resource_type: str = "", paths: dict[str, str] | None = None
) -> FhirError:
    """A service's refusal as a FHIR error. `paths` maps domain field names to FHIR element paths
    so that the OperationOutcome points at the element to fix."""
    expression: list[str] = []
    if exc.field:
        path = (paths or {}).get(exc.field)
        if path:
            expression.append(path)
        elif resource_type:
            expression.append(f"{resource_type}")
    code = _ISSUE_BY_STATUS.get(exc.status, "processing")
    if exc.status == 409 and exc.field == "identifiers":
        code = "duplicate"
    return FhirError(exc.status, exc.message, code=code, expression=expression)


def not_found(resource_type: str, resource_id: str) -> FhirError:
    return FhirError(
        404,
        _("No existe el recurso %(type)s/%(id)s o está fuera de su ámbito.")
        % {"type": resource_type, "id": resource_id},
    )


def pydantic_issues(resource_type: str, exc: Any) -> list[Issue]:
    """The problems fhir.resources found in a resource, each with its FHIRPath-like location."""
    issues = []
    for error in exc.errors()[:20]:
        path = resource_type
        for part in error.get("loc", ()):
            if isinstance(part, int):
                path += f"[{part}]"
            elif part not in ("__root__",):
                path += f".{str(part).removesuffix('__ext')}"
        message = error.get("msg", "")
        issues.append(
            Issue(
                code="structure" if error.get("type") == "extra_forbidden" else "value",
                diagnostics=_("%(path)s: el recurso no es FHIR R4 válido (%(problem)s).")
                % {"path": path, "problem": message},
                expression=[path],
            )
        )
    return issues
