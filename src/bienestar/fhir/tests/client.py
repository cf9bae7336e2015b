"""A FHIR test client over Django's: bearer token, application/fhir+json, and a check that every
resource the server returns is valid R4 (fhir.resources R4B models)."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client
from django.utils import timezone

from bienestar.access.models import ApiToken, User
from bienestar.access.tokens import token_create
from bienestar.fhir.validation import problems

FHIR_JSON = "application/fhir+json"


def token_for(user: User, scopes: str = "") -> str:
    row, plain = token_create(user=user, name="fhir-test", scopes=scopes)
    # Authentication then costs one query per request (no last_used_at update in the window).
    ApiToken.objects.filter(pk=row.pk).update(last_used_at=timezone.now())
    return plain


def assert_valid(resource: dict[str, Any]) -> None:
    found = problems(resource)
    assert not found, found


class FhirClient:
    def __init__(self, user: User | None, *, scopes: str = "", language: str = "es") -> None:
        self.client = Client()
        self.token = token_for(user, scopes) if user is not None else None
        self.language = language

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        out = {"Accept": FHIR_JSON, "Accept-Language": self.language}
        if self.token:
            out["Authorization"] = f"Bearer {self.token}"
        out.update(extra or {})
        return out

    def get(self, path: str, params: Any = None, **headers: str) -> Any:
        return self._checked(
            self.client.get(f"/fhir/{path}", params or {}, headers=self.headers(headers))
        )

    def post(self, path: str, resource: Any, **headers: str) -> Any:
        return self._checked(
            self.client.post(
                f"/fhir/{path}",
                json.dumps(resource),
                content_type=FHIR_JSON,
                headers=self.headers(headers),
            )
        )

    def post_form(self, path: str, data: dict[str, str], **headers: str) -> Any:
        return self._checked(self.client.post(f"/fhir/{path}", data, headers=self.headers(headers)))

    def put(self, path: str, resource: Any, **headers: str) -> Any:
        return self._checked(
            self.client.put(
                f"/fhir/{path}",
                json.dumps(resource),
                content_type=FHIR_JSON,
                headers=self.headers(headers),
            )
        )

    @staticmethod
    def _checked(response: Any) -> Any:
        """Every answer is FHIR JSON; every error an OperationOutcome; every resource valid."""
        assert response["Content-Type"].startswith(FHIR_JSON), response["Content-Type"]
        if response.content:
            body = response.json()
            assert_valid(body)
            if response.status_code >= 400:
                assert body["resourceType"] == "OperationOutcome", body
        return response
