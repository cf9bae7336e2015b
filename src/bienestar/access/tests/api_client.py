"""A test client for the JSON API that authenticates with a real bearer token."""

from __future__ import annotations

import json
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bienestar.access.models import ApiToken, User
from bienestar.access.tokens import token_create


class ApiClient:
    """`ApiClient(user)` sends `Authorization: Bearer <token>`; `ApiClient(None)` is anonymous.

    The token's `last_used_at` is set at creation so that authentication costs exactly one query per
    request (the once-a-minute `last_used_at` update would otherwise make query counts flaky).
    """

    def __init__(self, user: User | None, *, token: str | None = None) -> None:
        self.client = Client()
        self.token = token
        if user is not None and token is None:
            row, self.token = token_create(user=user, name="test")
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=timezone.now())

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.client.get(path, params or {}, headers=self._headers())

    def post(self, path: str, data: Any) -> Any:
        return self.client.post(
            path,
            json.dumps(data, default=str),
            content_type="application/json",
            headers=self._headers(),
        )

    def patch(self, path: str, data: Any) -> Any:
        return self.client.patch(
            path,
            json.dumps(data, default=str),
            content_type="application/json",
            headers=self._headers(),
        )

    def delete(self, path: str) -> Any:
        return self.client.delete(path, headers=self._headers())


def count_queries(fn: Any) -> int:
    """How many SQL statements `fn()` runs."""
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)
