"""The CapabilityStatement: exactly what this server supports, built from the registry so that it
cannot drift from the code."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from bienestar.fhir import registry, search
from bienestar.fhir.systems import FHIR_VERSION
from bienestar.fhir.writes import writer_for

SOFTWARE_VERSION = "0.1.0"
_TYPE_OF = {"token": "token", "string": "string", "date": "date", "reference": "reference"}
_COMMON_SEARCH = [
    ("_count", "number", "Page size (default 20, at most 200)"),
    ("_sort", "special", "Sort keys, comma separated; '-' for descending"),
    ("_include", "special", "Referenced resources to add (pairs listed in searchInclude)"),
    ("_revinclude", "special", "Referring resources to add (pairs listed in searchRevInclude)"),
    ("_summary", "token", "count | data | false"),
    ("_elements", "special", "Top-level elements to return"),
    ("_total", "token", "none | estimate | accurate"),
]


def _resource(definition: registry.ResourceDef) -> dict[str, Any]:
    interactions = ["read", "vread", "search-type", "history-instance"]
    writable = writer_for(definition.type) is not None
    if writable:
        interactions += ["create", "update"]
    entry: dict[str, Any] = {
        "type": definition.type,
        "documentation": definition.documentation,
        "interaction": [{"code": code} for code in interactions],
        "versioning": "versioned-update" if writable else "versioned",
        "readHistory": True,
        "updateCreate": False,
        "conditionalCreate": writable,
        "conditionalRead": "not-supported",
        "conditionalUpdate": writable,
        "conditionalDelete": "not-supported",
    }
    includes = sorted(f"{definition.type}:{name}" for name in definition.includes)
    if includes:
        entry["searchInclude"] = includes
    revincludes = sorted(
        f"{other.type}:{name}"
        for other in registry.all_types()
        for name, inc in other.includes.items()
        if inc.target == definition.type
    )
    if revincludes:
        entry["searchRevInclude"] = revincludes
    params = [
        {
            "name": p.name,
            "type": _TYPE_OF.get(p.type, p.type),
            "documentation": p.documentation,
        }
        for p in definition.params.values()
    ]
    params += [
        {"name": name, "type": kind, "documentation": doc} for name, kind, doc in _COMMON_SEARCH
    ]
    entry["searchParam"] = params
    if definition.type == "Patient":
        entry["operation"] = [
            {
                "name": "everything",
                "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
            }
        ]
    return entry


def capability_statement(base_url: str) -> dict[str, Any]:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": timezone.localdate().isoformat(),
        "publisher": "Bienestar",
        "kind": "instance",
        "software": {"name": "Bienestar", "version": SOFTWARE_VERSION},
        "implementation": {
            "description": "Bienestar FHIR R4 API (validated against the R4B models)",
            "url": base_url,
        },
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": (
                    "Reads go through the same scoped selectors as the web pages and writes "
                    "through the same services. Unknown search parameters are ignored unless "
                    "the request says Prefer: handling=strict. At most "
                    f"{search.MAX_COUNT} results per page. The patient and subject parameters "
                    "chain into Patient's own (patient.identifier=system|value). Versions: "
                    'ETag W/"n" and If-Match on update (412 when stale).'
                ),
                "security": {
                    "cors": False,
                    "description": (
                        "Authorization: Bearer <token> (bienestar token create). The token's "
                        "SMART scopes (patient|user|system/<Type|*>.<read|write|*>) narrow what "
                        "the user's role and territory allow; a token without scopes carries the "
                        "role's permissions."
                    ),
                },
                "resource": [_resource(d) for d in registry.all_types()],
                # Bundles (bundles.py) and bulk export (bulk/, ADR 0007).
                "interaction": [{"code": "transaction"}, {"code": "batch"}],
                "operation": [
                    {
                        "name": "export",
                        "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export",
                    },
                    {
                        "name": "patient-export",
                        "definition": (
                            "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export"
                        ),
                    },
                    {
                        "name": "group-export",
                        "definition": (
                            "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export"
                        ),
                    },
                ],
            }
        ],
    }
