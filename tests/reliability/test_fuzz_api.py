"""Fuzzing the JSON API: nothing a client sends may produce a 5xx; every refusal is a 4xx with a
JSON body that says what was wrong.

1. schemathesis reads `/api/openapi.json` from a real `bienestar serve` and, for every operation,
   sends FUZZ_EXAMPLES generated requests that follow the schema (positive) and half as many that
   break it (negative), with a bearer token of the `integrator` role (the widest API role).
2. hypothesis builds arbitrary query strings (known parameter names with hostile values, and
   unknown names) for the list and search endpoints, sent in-process as several roles.

Bounded: BIENESTAR_FUZZ_EXAMPLES (default 6) examples per operation and mode; no shrinking (a
failing example is reported as generated, with the response).
"""

from __future__ import annotations

import collections
import os
from typing import Any
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from .helpers import build_world, http_session, path_value, server_errors_in_log

pytestmark = pytest.mark.reliability

FUZZ_EXAMPLES = int(os.environ.get("BIENESTAR_FUZZ_EXAMPLES", "6"))
NO_SHRINK = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


# Refusals by the HTTP server (gunicorn) before the request reaches Django: a request line or headers
# beyond its limits, or bytes that are not HTTP. Proper 4xx, with gunicorn's short HTML body.
PROTOCOL_REFUSALS = {400, 413, 414, 431}


def _refusal_problem(status: int, body: bytes, content_type: str) -> str | None:
    if status >= 500:
        return f"{status}"
    if status in PROTOCOL_REFUSALS and b"<title>" in body[:200]:
        return None
    if 400 <= status < 500 and status != 405:
        if "json" not in content_type:
            return f"{status} with content type {content_type!r}"
        if not body.strip().startswith(b"{"):
            return f"{status} without a JSON object"
    return None


@pytest.mark.django_db(transaction=True)
def test_schemathesis_finds_no_5xx(geo, users, serve):
    import schemathesis
    from schemathesis import GenerationMode

    world = build_world(geo, users)
    token = world.token("integrator")
    connection.close()
    srv = serve()
    session = http_session(token)
    raw = session.get(f"{srv.url}/api/openapi.json", timeout=30).json()
    schema = schemathesis.openapi.from_dict(raw)
    problems: list[str] = []
    seen: collections.Counter[tuple[str, int]] = collections.Counter()

    def fuzz(operation: Any, mode: Any, examples: int, path_parameters: dict[str, str]) -> None:
        label = f"{operation.method.upper()} {operation.path} ({mode.value}"
        label += ", real ids)" if path_parameters else ")"
        strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

        @settings(NO_SHRINK, max_examples=examples)
        @given(case=strategy)
        def run(case: Any) -> None:
            response = case.call(base_url=srv.url, session=session, timeout=30)
            seen[(operation.method.upper(), response.status_code)] += 1
            content_type = response.headers.get("content-type", "")
            if isinstance(content_type, list):
                content_type = content_type[0] if content_type else ""
            problem = _refusal_problem(response.status_code, response.content or b"", content_type)
            if problem:
                problems.append(
                    f"{label}: {problem}: {case.as_curl_command()[:300]} -> "
                    f"{(response.content or b'')[:300]!r}"
                )

        run()

    for result in schema.get_all_operations():
        operation = result.ok()
        fuzz(operation, GenerationMode.POSITIVE, FUZZ_EXAMPLES, {})
        fuzz(operation, GenerationMode.NEGATIVE, max(1, FUZZ_EXAMPLES // 2), {})
        names = [p.name for p in operation.path_parameters]
        if names:
            # The marked patient's own records: the schema-valid bodies reach the services.
            real = {name: path_value(world, operation.path, name) for name in names}
            fuzz(operation, GenerationMode.POSITIVE, FUZZ_EXAMPLES, real)
    calls = sum(seen.values())
    print(f"schemathesis: {calls} calls, {dict(sorted(seen.items()))}")
    assert calls > 0
    assert problems == [], "\n".join(problems[:20]) + "\n" + server_errors_in_log(srv)


# --- Query strings -------------------------------------------------------------------------------

HOSTILE = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "' OR 1=1--",
            '" OR ""="',
            "%",
            "_",
            "\\",
            "\x00",
            "<script>alert(1)</script>",
            "-1",
            "99999999999999999999",
            "1e309",
            "NaN",
            "true",
            "null",
            "[]",
            "{}",
            "../../etc/passwd",
            "MX.20.%",
            "2024-02-30",
            "0000-00-00",
            "9999-12-31",
            "é" * 300,
        ]
    ),
)
PARAMS = [
    "q",
    "limit",
    "offset",
    "include_merged",
    "territory",
    "type",
    "level",
    "person",
    "date_from",
    "date_to",
    "facility",
    "whole_territory",
    "medicine",
    "within_days",
    "low_stock_threshold",
    "kind",
    "system",
    "value",
    "specialty",
    "code",
    "status",
    "zzz",
]
LIST_ENDPOINTS = [
    "/api/people/",
    "/api/people/by-identifier",
    "/api/facilities/",
    "/api/territories/",
    "/api/workforce/practitioners",
    "/api/workforce/specialties",
    "/api/households/",
    "/api/clinical/icd10",
    "/api/prescriptions/",
    "/api/prescriptions/queue",
    "/api/prescriptions/fill-rate",
    "/api/prescriptions/fill-rate/by-facility",
    "/api/access/tokens",
]
QUERY = st.lists(st.tuples(st.sampled_from(PARAMS), HOSTILE), max_size=5)


@pytest.mark.django_db
def test_hostile_query_strings_on_list_endpoints_are_never_a_5xx(geo, users):
    world = build_world(geo, users)
    facility = str(world.net.centre.public_id)
    endpoints = [
        *LIST_ENDPOINTS,
        f"/api/inventory/facilities/{facility}/stock",
        f"/api/inventory/facilities/{facility}/lots",
        f"/api/inventory/facilities/{facility}/ledger",
        f"/api/inventory/facilities/{facility}/expiring",
        f"/api/inventory/facilities/{facility}/availability",
        f"/api/clinical/persons/{world.patient.public_id}/observations",
        f"/api/clinical/persons/{world.patient.public_id}/vitals/bp",
    ]
    clients = {
        who: Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {world.token(who)}")
        for who in ("clinician", "pharmacist", "national_coordinator")
    }
    problems: list[str] = []

    @settings(NO_SHRINK, max_examples=FUZZ_EXAMPLES * 10)
    @given(
        path=st.sampled_from(endpoints),
        who=st.sampled_from(sorted(clients)),
        query=QUERY,
    )
    def run(path: str, who: str, query: list[tuple[str, str]]) -> None:
        qs = urlencode(query)
        response = clients[who].get(f"{path}?{qs}")
        problem = _refusal_problem(
            response.status_code, response.content, response.get("Content-Type", "")
        )
        if problem:
            problems.append(f"GET {path}?{qs} as {who}: {problem}: {response.content[:300]!r}")

    run()
    assert problems == [], "\n".join(problems[:20])
