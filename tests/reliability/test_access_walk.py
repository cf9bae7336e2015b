"""Walk every URL the project serves and prove, for each, who may get personal data out of it.

Every route of the URL configuration (includes expanded: pages, JSON API, FHIR, admin) is filled
with real ids — the marked patient's own records in Oaxaca, from `helpers.build_world` — and called:

1. anonymously (GET and POST): refused (401/403/404/405, or a redirect to a log-in page) unless the
   route is in PUBLIC, and no personal data in any answer;
2. by callers of another territory (Hidalgo: a clinician, a pharmacist, a state coordinator): no
   answer carries the marked patient's data, and a route that names one of the patient's records
   is refused;
3. by every role of Oaxaca: whenever an answer carries the patient's data, an audit row was
   written by that call (audit completeness);
4. with SQL- and script-injection probes in search parameters and in every field of every form
   of the pages: never a 5xx, never the script reflected unescaped, never data of another
   territory.

"Carries the patient's data" = the body contains the patient's unique surname or national health ID
(see `World.markers`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from bienestar.access.models import AuditEvent
from bienestar.access.roles import Role
from bienestar.access.tests.factories import UserFactory

from .helpers import MARK_GIVEN, PARAM, World, build_world, fill_route

pytestmark = [pytest.mark.reliability, pytest.mark.django_db]

# Routes an anonymous caller may open: health checks, the API's description, FHIR's capability
# statement, language switch and log-in/out. None of them carries personal data (checked below).
PUBLIC = {
    "healthz",
    "readyz",
    "api/openapi.json",
    "api/docs",
    "fhir/metadata",
    "i18n/setlang/",
    "entrar/",
    "salir/",
    "admin/login/",
    "admin/logout/",
}
# Routes whose path names one of the marked patient's records (a caller of another territory must be
# refused there). Keyed by the path parameter names that point at personal records.
PERSONAL_PARAMS = {"public_id", "value", "code", "member_id", "resource_id", "object_id"}
# Objects not tied to a person: reference data, staff, stock.
NOT_PERSONAL = re.compile(r"practitioners|/lots/|territor|facilities/<key>|unidades/")
# The search text is the patient's given name: it finds the patient, and an echo of it in a search box
# or a log-in link is not a marker (the surname and the health ID are).
QUERY = {
    "q": MARK_GIVEN,
    "person": "",
    "date_from": "2020-01-01",
    "date_to": "2030-12-31",
    "medicine": "010.000.5165.00",
    "system": "curp",
    "value": "",
}
SQLI = "' OR 1=1--"
XSS = '<script>alert("bnst")</script>'


def walk(resolver: URLResolver | None = None, prefix: str = "") -> Iterator[tuple[str, Any]]:
    resolver = resolver or get_resolver()
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            yield from walk(p, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p


def routes() -> list[str]:
    seen: dict[str, None] = {}
    for route, _pattern in walk():
        seen.setdefault(route, None)
    return list(seen)


def _query(world: World) -> dict[str, str]:
    return {**QUERY, "person": str(world.patient.public_id), "value": "x"}


def _body(response: Any) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return bytes(response.content)


def _has_marker(world: World, body: bytes) -> bool:
    text = body.decode(errors="replace")
    return any(m in text for m in world.markers)


def _refused(response: Any) -> bool:
    if response.status_code in (401, 403, 404, 405):
        return True
    if response.status_code in (301, 302):
        location = response.get("Location", "")
        return "/entrar/" in location or "/admin/login/" in location
    return False


def _client(world: World, who: str | None) -> Client:
    if who is None:
        return Client(raise_request_exception=False)
    client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {world.token(who)}")
    client.force_login(world.users[who])
    return client


@pytest.fixture
def world(geo, users) -> World:  # type: ignore[no-untyped-def]
    w = build_world(geo, users)
    users["hidalgo_state"] = UserFactory(
        username="hgo_estatal", role=Role.STATE_COORDINATOR, territory=geo["hidalgo"]
    )
    users["hidalgo_pharmacist"] = w.net.users["hidalgo_pharmacist"]
    return w


def test_every_route_refuses_anonymous_callers(world):
    client = _client(world, None)
    problems = []
    for route in routes():
        url = fill_route(world, route)
        for method in ("get", "post"):
            response = getattr(client, method)(url, _query(world) if method == "get" else {})
            if response.status_code >= 500:
                problems.append(f"{method.upper()} {url}: {response.status_code}")
            elif _has_marker(world, _body(response)):
                problems.append(f"{method.upper()} {url}: personal data to an anonymous caller")
            elif not _refused(response) and route not in PUBLIC:
                problems.append(f"{method.upper()} {url}: {response.status_code} to anonymous")
    assert problems == [], "\n".join(problems)


# A prescription is a voucher redeemable at any pharmacy of the network (prescribing.services,
# dispense_record): a pharmacist of another state opens it by its code, and then its dispense page.
# Allowed by design, and audited (checked here).
VOUCHER_ROUTES = {"api/prescriptions/by-code/<code>", "farmacia/recetas/<uuid:public_id>/"}


@pytest.mark.parametrize("who", ["other_state_clinician", "hidalgo_pharmacist", "hidalgo_state"])
def test_callers_of_another_territory_get_nothing_of_the_patient(world, who):
    client = _client(world, who)
    problems = []
    for route in routes():
        url = fill_route(world, route)
        before = AuditEvent.objects.count()
        response = client.get(url, _query(world))
        if who == "hidalgo_pharmacist" and route in VOUCHER_ROUTES:
            if response.status_code != 200 or AuditEvent.objects.count() == before:
                problems.append(f"GET {url}: the voucher did not open, or was not audited")
            continue
        names = {
            m.group("name") or m.group("oname") or m.group("rname") for m in PARAM.finditer(route)
        }
        if response.status_code >= 500:
            problems.append(f"GET {url}: {response.status_code}")
        elif _has_marker(world, _body(response)):
            problems.append(f"GET {url}: the patient's data to {who}")
        elif (
            names & PERSONAL_PARAMS
            and not NOT_PERSONAL.search(route)
            and route not in PUBLIC
            and not _refused(response)
            and response.status_code != 422
        ):
            problems.append(f"GET {url}: {response.status_code} to {who} (expected a refusal)")
    assert problems == [], "\n".join(problems)


OAXACA_ROLES = [r.value for r in Role]


def test_every_answer_with_personal_data_leaves_an_audit_row(world):
    problems = []
    served: set[str] = set()
    for who in OAXACA_ROLES:
        client = _client(world, who)
        for route in routes():
            if route.startswith("admin/"):
                continue  # the admin is for staff; these users are not staff (refused above)
            url = fill_route(world, route)
            before = AuditEvent.objects.count()
            response = client.get(url, _query(world))
            if response.status_code >= 500:
                problems.append(f"GET {url} as {who}: {response.status_code}")
                continue
            if response.status_code == 200 and _has_marker(world, _body(response)):
                served.add(route)
                if AuditEvent.objects.count() == before:
                    problems.append(f"GET {url} as {who}: personal data without an audit row")
    assert problems == [], "\n".join(problems)
    # The walk reached the patient's data through the main kinds of reads.
    assert any("api/people" in r for r in served)
    assert any("api/clinical" in r for r in served)
    assert any("api/prescriptions" in r for r in served)
    assert any("personas/" in r for r in served)


# --- Injection probes ----------------------------------------------------------------------------

SEARCH_PAGES = [
    ("/personas/", "q"),
    ("/cie10/buscar/", "q"),
    ("/medicamentos/buscar/", "q"),
    ("/farmacia/abrir/", "code"),
    ("/auditoria/", "q"),
    ("/api/people/", "q"),
    ("/api/facilities/", "q"),
    ("/api/clinical/icd10", "q"),
    ("/api/workforce/practitioners", "q"),
]


@pytest.mark.parametrize("probe", [SQLI, XSS, "%' OR '1'='1", "'; DROP TABLE people_person; --"])
def test_injection_in_search_parameters(world, probe):
    problems = []
    for who in ("clinician", "pharmacist", "auditor", "other_state_clinician"):
        client = _client(world, who)
        for path, param in SEARCH_PAGES:
            response = client.get(path, {param: probe})
            body = response.content.decode(errors="replace")
            if response.status_code >= 500:
                problems.append(f"GET {path}?{param}=… as {who}: {response.status_code}")
            if XSS in body:
                problems.append(f"GET {path} as {who}: the script came back unescaped")
            if who == "other_state_clinician" and _has_marker(world, _body(response)):
                problems.append(f"GET {path} as {who}: injection returned the patient's data")
    assert problems == [], "\n".join(problems)


FORM = re.compile(r"<form\b(?P<attrs>[^>]*)>(?P<body>.*?)</form>", re.I | re.S)
FIELD = re.compile(r"<(?P<tag>input|textarea|select)\b(?P<attrs>[^>]*)>", re.I)
FORM_ROUTES = [
    ("clinician", "personas/<uuid:public_id>/consulta/nueva/"),
    ("clinician", "personas/<uuid:public_id>/receta/nueva/"),
    ("clinician", "personas/"),
    ("pharmacist", "farmacia/recetas/<uuid:public_id>/"),
    ("pharmacist", "farmacia/"),
    ("pharmacist", "unidades/<str:key>/existencias/entrada/"),
    ("pharmacist", "unidades/<str:key>/existencias/conteo/"),
    ("auditor", "auditoria/"),
    (None, "entrar/"),
]


def _attr(attrs: str, name: str) -> str | None:
    found = re.search(rf"\b{name}=\"([^\"]*)\"", attrs)
    return html.unescape(found.group(1)) if found else None


def _forms(page_url: str, text: str) -> list[tuple[str, str, dict[str, str]]]:
    """(method, action, fields) of every form of a page; text fields get the probe later."""
    out = []
    for form in FORM.finditer(text):
        method = (_attr(form.group("attrs"), "method") or "get").lower()
        action = _attr(form.group("attrs"), "action") or page_url
        fields: dict[str, str] = {}
        for field in FIELD.finditer(form.group("body")):
            attrs = field.group("attrs")
            name = _attr(attrs, "name")
            if not name or name == "csrfmiddlewaretoken":
                continue
            kind = (_attr(attrs, "type") or "text").lower()
            if field.group("tag").lower() == "select" or kind in (
                "hidden",
                "checkbox",
                "radio",
                "submit",
            ):
                fields.setdefault(name, _attr(attrs, "value") or "")
            else:
                fields[name] = "\x00probe"  # replaced by the probe
        out.append((method, action, fields))
    return out


@pytest.mark.parametrize("probe", [SQLI, XSS])
def test_injection_in_every_form_field(world, probe):
    """Each form of each page is sent with the probe in every text field (hidden fields, choices
    and version tokens keep what the page offered): never a 5xx, never the script unescaped, and
    the data's invariants (`bienestar verify`'s checks) still hold afterwards."""
    problems = []
    sent = 0
    for who, route in FORM_ROUTES:
        client = _client(world, who)
        url = fill_route(world, route)
        page = client.get(url)
        assert page.status_code == 200, (url, page.status_code)
        for method, action, fields in _forms(url, page.content.decode()):
            if action.rstrip("/").endswith("/salir"):
                continue  # logging out would send the remaining forms as an anonymous caller
            data = {k: probe if v == "\x00probe" else v for k, v in fields.items()}
            response = getattr(client, method)(action, data)
            sent += 1
            body = _body(response).decode(errors="replace")
            if response.status_code >= 500:
                problems.append(f"{method.upper()} {action} as {who}: {response.status_code}")
            if XSS in body:
                problems.append(
                    f"{method.upper()} {action} as {who}: the script came back unescaped"
                )
    assert sent >= len(FORM_ROUTES)
    assert problems == [], "\n".join(problems)
    from bienestar.ops.checks import CHECKS

    for name, check in CHECKS:
        assert check() == [], name
