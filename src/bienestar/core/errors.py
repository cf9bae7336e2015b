"""Domain errors. Services raise them; the API and pages turn them into 4xx answers."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a caller can cause. `code` is stable; `message` is translated."""

    code = "invalid"
    status = 400

    def __init__(self, message: Any, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        self.field = field
        if code:
            self.code = code

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"error": self.code, "detail": str(self.message)}
        if self.field:
            data["field"] = self.field
        return data


class ValidationFailed(DomainError):
    code = "validation_failed"
    status = 422


class NotFound(DomainError):
    code = "not_found"
    status = 404


class PermissionDenied(DomainError):
    code = "forbidden"
    status = 403


class Conflict(DomainError):
    code = "conflict"
    status = 409
