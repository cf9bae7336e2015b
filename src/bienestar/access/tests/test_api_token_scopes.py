"""Bearer tokens on the JSON API obey the same scopes as on FHIR (access.scopes), and a token bound
to one patient is refused there (docs/adr/0004, addendum on the JSON API).

The matrix walks /api/openapi.json, so an operation added later is covered without touching this
file; an operation that does not declare what it touches fails here, saying what to add.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from psycopg import sql

from bienestar.access.models import ApiToken
from bienestar.access.scopes import READ, WRITE, Access
from bienestar.access.tokens import token_create
from bienestar.people.tests.factories import PersonFactory

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")

HOW_TO_DECLARE = (
    'add `openapi_extra=reads("<Type>")` or `openapi_extra=writes("<Type>", ...)` '
    "(from bienestar.access.scopes) to its @router decorator, naming the FHIR resource types it "
    "touches (or an API-only kind such as Inventory); see docs/adr/0004, addendum on the JSON API"
)


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    operation_id: str
    access: Access | None
    params: tuple[dict[str, Any], ...]

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path} ({self.operation_id})"


def operations(client: Client) -> list[Operation]:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    out = []
    for path, item in response.json()["paths"].items():
        for method, op in item.items():
            if method not in METHODS:
                continue
            out.append(
                Operation(
                    method,
                    path,
                    op.get("operationId", ""),
                    Access.from_openapi(op),
                    tuple(op.get("parameters", [])),
                )
            )
    return out


def url_for(op: Operation, person_id: uuid.UUID) -> str:
    """The operation's path with each path parameter filled (UUIDs with a real person's id, so
    that reads allowed by the scopes find something)."""
    path = op.path
    for param in op.params:
        if param.get("in") != "path":
            continue
        schema = param.get("schema", {})
        if schema.get("format") == "uuid":
            value = str(person_id)
        elif schema.get("type") == "integer":
            value = "1"
        else:
            value = "MX"
        path = path.replace("{" + param["name"] + "}", value)
    return path


def call(client: Client, op: Operation, token: str, person_id: uuid.UUID) -> Any:
    url = url_for(op, person_id)
    headers = {"Authorization": f"Bearer {token}"}
    if op.method in ("get", "delete"):
        return getattr(client, op.method)(url, headers=headers)
    return getattr(client, op.method)(
        url, json.dumps({}), content_type="application/json", headers=headers
    )


def table_counts() -> dict[str, int]:
    """Rows of every table of the database (one statement)."""
    tables = sorted(connection.introspection.table_names(include_views=False))
    counts = sql.SQL(", ").join(
        sql.SQL("(SELECT count(*) FROM {})").format(sql.Identifier(t)) for t in tables
    )
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("SELECT {}").format(counts))
        row = cursor.fetchone()
    return dict(zip(tables, row, strict=True))


def new_token(user: Any, scopes: str, patient: Any = None) -> str:
    row, plain = token_create(
        user=user,
        name="matrix",
        scopes=scopes,
        patient_public_id=patient.public_id if patient is not None else None,
    )
    ApiToken.objects.filter(pk=row.pk).update(last_used_at=timezone.now())
    return plain


def scope_refused(response: Any) -> bool:
    """A 403 for the token's scopes (code `token_scope`), not the role's `forbidden`."""
    if response.status_code != 403:
        return False
    body = response.json()
    assert body.get("detail"), body
    return body.get("error") == "token_scope"


def test_every_api_operation_declares_what_it_touches(client):
    ops = operations(client)
    assert len(ops) > 50
    missing = [str(op) for op in ops if op.access is None]
    assert not missing, (
        f"{len(missing)} JSON API operation(s) do not declare the resources they touch, so bearer "
        f"tokens with scopes cannot be checked against them: {missing}. For each, {HOW_TO_DECLARE}."
    )
    for op in ops:
        assert op.access is not None
        assert op.access.action in (READ, WRITE), str(op)


def test_the_token_matrix_over_every_api_operation(client, users, geo):
    """For every operation: a patient-bound token is refused (403, nothing written); a read-only
    token (`user/*.read`) is refused every write; a type-limited token (`user/Patient.read`) is
    refused everything but reading patients; a token with exactly the declared scopes passes the
    scope check (the role and territory then decide, as for any caller)."""
    user = users["clinician"]
    patient = PersonFactory(territory=geo["oaxaca_centro"])
    tokens = {
        "patient-bound": new_token(user, "patient/*.*", patient),
        "read-only": new_token(user, "user/*.read"),
        "type-limited": new_token(user, "user/Patient.read"),
    }
    ops = operations(client)
    undeclared = [str(op) for op in ops if op.access is None]
    assert not undeclared, f"undeclared operations {undeclared}: {HOW_TO_DECLARE}"
    cases = refusals = 0
    for op in ops:
        assert op.access is not None
        expected = {
            "patient-bound": True,
            "read-only": op.access.action == WRITE,
            "type-limited": not (op.access.action == READ and op.access.resources == ("Patient",)),
        }
        exact = " ".join(f"user/{r}.{op.access.action}" for r in op.access.resources)
        tokens_here = {**tokens, f"exact ({exact})": new_token(user, exact)}
        for name, token in tokens_here.items():
            refused = expected.get(name, False)
            before = table_counts() if refused else None
            response = call(client, op, token, patient.public_id)
            cases += 1
            assert response.status_code < 500, (str(op), name, response.content[:300])
            assert scope_refused(response) is refused, (
                f"{op} with the {name} token: expected {'refusal' if refused else 'the scope check to pass'}, "
                f"got {response.status_code} {response.content[:300]!r}"
            )
            if refused:
                refusals += 1
                assert table_counts() == before, f"{op} with the {name} token wrote something"
    assert cases == 4 * len(ops)
    assert refusals > 2 * len(ops)


def test_fhir_refuses_the_same_tokens_for_the_same_types(client, users, geo):
    """The /api/ declarations use FHIR type names, and FHIR refuses the same scope/type pairs."""
    from bienestar.fhir import registry

    user = users["clinician"]
    pairs = {
        (r, op.access.action)
        for op in operations(client)
        if op.access is not None
        for r in op.access.resources
    }
    fhir_types = {d.type for d in registry.all_types()}
    checked = 0
    for scopes in ("user/*.read", "user/Patient.read"):
        token = new_token(user, scopes)
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"}
        for resource, action in sorted(pairs):
            if resource not in fhir_types or action != READ:
                continue
            api_refuses = scopes == "user/Patient.read" and resource != "Patient"
            response = client.get(f"/fhir/{resource}", {"_count": 1}, headers=headers)
            assert (response.status_code == 403) is api_refuses, (scopes, resource, response)
            checked += 1
        for resource, action in sorted(pairs):
            if resource not in fhir_types or action != WRITE:
                continue
            if not registry.get(resource).writable:
                continue
            response = client.post(
                f"/fhir/{resource}",
                json.dumps({"resourceType": resource}),
                content_type="application/fhir+json",
                headers=headers,
            )
            assert response.status_code == 403, (scopes, resource, response.content[:200])
            checked += 1
    assert checked >= 10


def test_the_issues_examples(client, users, geo):
    """The holes reported in issue 9, one by one."""
    from bienestar.people.models import Person

    user = users["clinician"]
    a = PersonFactory(territory=geo["oaxaca_centro"])
    b = PersonFactory(territory=geo["oaxaca_centro"])
    bound = {"Authorization": f"Bearer {new_token(user, 'patient/*.read', a)}"}
    patient_read = {"Authorization": f"Bearer {new_token(user, 'user/Patient.read')}"}
    before = table_counts()

    for url in (
        f"/api/people/{b.public_id}",
        f"/api/people/{a.public_id}",
        "/api/people/?q=Flores",
    ):
        response = client.get(url, headers=bound)
        assert response.status_code == 403, url
        assert "FHIR" in response.json()["detail"]
    response = client.post(
        f"/api/clinical/persons/{b.public_id}/allergies",
        json.dumps({"substance_text": "Penicilina"}),
        content_type="application/json",
        headers=bound,
    )
    assert response.status_code == 403
    for response in (
        client.get(f"/api/clinical/persons/{a.public_id}/encounters", headers=patient_read),
        client.post(
            f"/api/clinical/persons/{a.public_id}/allergies",
            json.dumps({"substance_text": "Penicilina"}),
            content_type="application/json",
            headers=patient_read,
        ),
        client.post(
            "/api/prescriptions/",
            json.dumps({"person": str(a.public_id), "lines": []}),
            content_type="application/json",
            headers=patient_read,
        ),
    ):
        assert response.status_code == 403
        assert response.json()["error"] == "token_scope"
        assert "alcances del token" in response.json()["detail"]
    assert table_counts() == before

    # What the type-limited token is for still works, and so does a token without scopes.
    assert client.get(f"/api/people/{a.public_id}", headers=patient_read).status_code == 200
    plain = {"Authorization": f"Bearer {new_token(user, '')}"}
    assert (
        client.get(f"/api/clinical/persons/{a.public_id}/encounters", headers=plain).status_code
        == 200
    )
    assert Person.objects.count() == 2
