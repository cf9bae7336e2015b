"""Fuzzing the FHIR API with hypothesis: generated search parameters, resources and Bundles.

Whatever arrives, the answer is never a 5xx; every refusal is a 4xx whose body is an
OperationOutcome; every resource returned validates as R4 (the FhirClient checks both on every
answer). Generated resources are mutations of valid ones (read back from the server): values
replaced by random JSON, elements removed, unknown elements added — closer to what a buggy client
sends than random bytes, so the mapping and the services are reached, not only the parser.

Bounded like the rest of the reliability suite: BIENESTAR_FUZZ_EXAMPLES (default 6) times 20 examples
per test, derandomized, no shrinking.
"""

from __future__ import annotations

import copy
import os
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from bienestar.fhir import registry
from bienestar.fhir.tests.client import FhirClient
from bienestar.fhir.tests.test_write import state

pytestmark = [pytest.mark.django_db, pytest.mark.reliability]

EXAMPLES = int(os.environ.get("BIENESTAR_FUZZ_EXAMPLES", "6")) * 20
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)

HOSTILE_TEXT = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "' OR '1'='1",
            "1; DROP TABLE people_person; --",
            "<script>alert(1)</script>",
            "%",
            "_",
            "\\",
            "|",
            "||",
            "a|b|c",
            "http://loinc.org|",
            "|8480-6",
            "ge2020-13-45",
            "eb",
            "sa1999",
            "gt2024-02-30T25:61:00Z",
            "ne",
            "9" * 40,
            "-1",
            "0",
            "1e309",
            "NaN",
            "null",
            "Patient/",
            "Patient/../../metadata",
            "urn:uuid:not-a-uuid",
            "ñ" * 300,
            "\x00",
            "😀",
            "Patient:subject:Patient",
            "*",
        ]
    ),
)
COMMON_PARAMS = [
    "_id",
    "_count",
    "_offset",
    "_sort",
    "_include",
    "_revinclude",
    "_summary",
    "_elements",
    "_total",
    "_lastUpdated",
    "_format",
    "_has",
    "unknown",
    "patient.identifier",
    "subject:Patient.name",
]
MODIFIERS = ["", ":exact", ":contains", ":missing", ":not", ":text", ":below", ":Patient"]


def _type_params() -> dict[str, list[str]]:
    return {d.type: sorted(d.params) for d in registry.all_types()}


JSON_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    HOSTILE_TEXT,
)
JSON = st.recursive(
    JSON_LEAF,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(["value", "code", "system", "reference", "x"]), children),
    ),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            out.append((*prefix, key))
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out.append((*prefix, index))
            out += _paths(value, (*prefix, index))
    return out


def _mutate(resource: dict[str, Any], data: Any) -> dict[str, Any]:
    """Up to three mutations: replace a value, delete an element, or add an unknown one."""
    out = copy.deepcopy(resource)
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        paths = [p for p in _paths(out) if p != ("resourceType",)]
        if not paths:
            break
        path = data.draw(st.sampled_from(paths))
        parent: Any = out
        for step in path[:-1]:
            parent = parent[step]
        action = data.draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            parent[path[-1]] = data.draw(JSON)
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[data.draw(st.sampled_from(["bogus", "_value", "extension", "contained"]))] = (
                data.draw(JSON)
            )
    return out


@pytest.fixture
def samples(users, record, jose) -> dict[str, dict[str, Any]]:  # type: ignore[no-untyped-def]
    """One valid resource of each writable type, as the server returns it."""
    client = FhirClient(users["integrator"])
    out = {}
    for kind in (
        "Patient",
        "Encounter",
        "Condition",
        "Observation",
        "AllergyIntolerance",
        "Immunization",
        "MedicationRequest",
        "MedicationDispense",
    ):
        query = {} if kind == "Patient" else {"patient": str(jose.public_id)}
        bundle = client.get(kind, query).json()
        assert bundle.get("entry"), kind
        out[kind] = bundle["entry"][0]["resource"]
    return out


def test_generated_search_parameters_never_get_a_5xx(users, record):
    client = FhirClient(users["integrator"])
    params = _type_params()
    kinds = sorted(params)

    @FUZZ
    @given(data=st.data())
    def run(data: Any) -> None:
        kind = data.draw(st.sampled_from(kinds))
        names = st.sampled_from(params[kind] + COMMON_PARAMS)
        query = data.draw(
            st.lists(
                st.tuples(names, st.sampled_from(MODIFIERS), HOSTILE_TEXT).map(
                    lambda t: (t[0] + t[1], t[2])
                ),
                max_size=4,
            )
        )
        strict = data.draw(st.booleans())
        headers = {"Prefer": "handling=strict"} if strict else {}
        response = client.get(f"{kind}?{urlencode(query)}", **headers)
        assert response.status_code < 500, (kind, query, response.content[:300])

    run()


def test_generated_resources_never_get_a_5xx(users, samples):
    client = FhirClient(users["integrator"])

    @FUZZ
    @given(data=st.data())
    def run(data: Any) -> None:
        kind = data.draw(st.sampled_from(sorted(samples)))
        resource = _mutate(samples[kind], data)
        if data.draw(st.booleans()):
            body = {k: v for k, v in resource.items() if k not in ("id", "meta")}
            response = client.post(kind, body)
        else:
            response = client.put(f"{kind}/{samples[kind]['id']}", resource)
        assert response.status_code < 500, (kind, resource, response.content[:300])

    run()


def test_generated_bundles_never_get_a_5xx_and_a_refused_transaction_writes_nothing(users, samples):
    client = FhirClient(users["integrator"])
    methods = st.sampled_from(["POST", "PUT", "GET", "DELETE", "PATCH", "post", ""])

    @FUZZ
    @given(data=st.data())
    def run(data: Any) -> None:
        entries = []
        for _ in range(data.draw(st.integers(min_value=0, max_value=4))):
            kind = data.draw(st.sampled_from(sorted(samples)))
            resource = _mutate(samples[kind], data)
            method = data.draw(methods)
            url = data.draw(st.sampled_from([kind, f"{kind}/{samples[kind]['id']}", "", "x/y"]))
            entry: dict[str, Any] = {
                "fullUrl": data.draw(st.sampled_from(["urn:uuid:" + "1" * 36, "", "bad"])),
                "resource": resource,
                "request": {"method": method, "url": url},
            }
            if data.draw(st.booleans()):
                entry = _mutate(entry, data)
            entries.append(entry)
        kind = data.draw(st.sampled_from(["transaction", "batch", "searchset", "x", None]))
        bundle = {"resourceType": "Bundle", "type": kind, "entry": entries}
        before = state() if kind == "transaction" else None
        response = client.post("", bundle)
        assert response.status_code < 500, (bundle, response.content[:300])
        if before is not None and response.status_code >= 400:
            assert state() == before

    run()
