"""The FHIR RESTful interactions, on FhirRequest → FhirResponse, independent of Django views.

read, vread, instance _history, search (GET and POST _search), create (with If-None-Exist),
update (with If-Match, and conditional update on a query), and Patient/$everything. A batch or
transaction Bundle runs these same functions once per entry (inside one atomic block for a
transaction).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from bienestar.access.errors import Forbidden
from bienestar.access.models import AuditAction
from bienestar.clinical.scope import of_person_family
from bienestar.core.errors import DomainError
from bienestar.fhir import registry, search, versions
from bienestar.fhir.audit import audit_query, audit_rows
from bienestar.fhir.auth import READ, WRITE, confine_to_patient, require_scope
from bienestar.fhir.errors import (
    FhirError,
    Issue,
    MappingError,
    from_domain_error,
    information,
    not_found,
    operation_outcome,
)
from bienestar.fhir.http import FhirRequest, FhirResponse, checked_params, http_date
from bienestar.fhir.mappers.common import instant
from bienestar.fhir.registry import ResourceDef
from bienestar.fhir.validation import validate_incoming
from bienestar.fhir.writes import Writer, writer_for

# Patient/$everything: the compartment types, in this order, and at most this many of each.
EVERYTHING_TYPES = (
    "Encounter",
    "Condition",
    "Observation",
    "AllergyIntolerance",
    "Immunization",
    "MedicationRequest",
    "MedicationDispense",
)
EVERYTHING_MAX_PER_TYPE = 1000


def _headers(req: FhirRequest, resource: dict[str, Any]) -> dict[str, str]:
    headers = {"ETag": versions.etag(resource)}
    meta = resource.get("meta") or {}
    if meta.get("lastUpdated"):
        moment = parse_datetime(meta["lastUpdated"])
        if moment is not None:
            headers["Last-Modified"] = http_date(moment)
    return headers


def _location(req: FhirRequest, resource: dict[str, Any]) -> str:
    return (
        f"{req.base_url}/{resource['resourceType']}/{resource['id']}"
        f"/_history/{versions.version_of(resource)}"
    )


def _row(req: FhirRequest, definition: ResourceDef, resource_id: str) -> Any:
    row = definition.load(
        definition.visible(req.actor).filter(definition.id_q(resource_id))
    ).first()
    if row is None:
        raise not_found(definition.type, resource_id)
    return row


def _current(req: FhirRequest, interaction: str) -> tuple[ResourceDef, Any, dict[str, Any]]:
    """The resource as it is now, its read audited."""
    definition = registry.get(req.resource_type)
    require_scope(req.actor, definition.type, READ)
    row = _row(req, definition, req.resource_id)
    resource = definition.to_fhir([row], req.actor)[0]
    audit_rows(
        req.actor,
        definition,
        [row],
        action=AuditAction.READ,
        query=audit_query(interaction, definition.type),
    )
    return definition, row, resource


# --- reads -------------------------------------------------------------------------------------------


def read(req: FhirRequest) -> FhirResponse:
    *_rest, resource = _current(req, "read")
    headers = _headers(req, resource)
    headers["Content-Location"] = _location(req, resource)
    return FhirResponse(200, resource, headers)


def vread(req: FhirRequest) -> FhirResponse:
    *_rest, resource = _current(req, "vread")
    if versions.version_of(resource) != req.version_id:
        past = versions.past_version(req.resource_type, resource["id"], req.version_id)
        if past is None:
            raise FhirError(
                404,
                _("La versión %(v)s de %(type)s/%(id)s no existe o no se conserva.")
                % {"v": req.version_id, "type": req.resource_type, "id": req.resource_id},
            )
        resource = past
    return FhirResponse(200, resource, _headers(req, resource))


def history(req: FhirRequest) -> FhirResponse:
    """The current version and every earlier one kept (ADR 0006), newest first."""
    *_rest, current = _current(req, "history-instance")
    items = [(current, "current")] + [
        (r, origin)
        for r, origin in versions.past_versions(req.resource_type, current["id"])
        if versions.version_of(r) != versions.version_of(current)
    ]
    entries = []
    for index, (resource, _origin) in enumerate(items):
        version = versions.version_of(resource)
        # The oldest version known was the creation (a record written outside FHIR has no
        # earlier version kept; a read-only type's only version is its current state).
        created = version == "1" or index == len(items) - 1
        url = f"{req.resource_type}" if created else f"{req.resource_type}/{resource['id']}"
        response: dict[str, Any] = {
            "status": "201 Created" if created else "200 OK",
            "etag": versions.etag(resource),
        }
        if (resource.get("meta") or {}).get("lastUpdated"):
            response["lastModified"] = resource["meta"]["lastUpdated"]
        entries.append(
            {
                "fullUrl": f"{req.base_url}/{req.resource_type}/{resource['id']}",
                "resource": resource,
                "request": {"method": "POST" if created else "PUT", "url": url},
                "response": response,
            }
        )
    bundle = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": instant(timezone.now())},
        "type": "history",
        "total": len(entries),
        "link": [
            {
                "relation": "self",
                "url": f"{req.base_url}/{req.resource_type}/{req.resource_id}/_history",
            }
        ],
        "entry": entries,
    }
    return FhirResponse(200, bundle)


def search_type(req: FhirRequest) -> FhirResponse:
    return search.run(req, registry.get(req.resource_type))


def everything(req: FhirRequest) -> FhirResponse:
    """Patient/$everything: the patient and every record of theirs the caller may read (including
    records of persons merged into them), each record audited. `_type` narrows the types."""
    patient_def = registry.get("Patient")
    require_scope(req.actor, "Patient", READ)
    person = _row(req, patient_def, req.resource_id)
    wanted = list(EVERYTHING_TYPES)
    for name, value in req.params:
        if name == "_type":
            wanted = [t for t in value.split(",") if t in EVERYTHING_TYPES]
    entries = [
        {
            "fullUrl": f"{req.base_url}/Patient/{person.public_id}",
            "resource": patient_def.to_fhir([person], req.actor)[0],
            "search": {"mode": "match"},
        }
    ]
    query = audit_query("everything", "Patient")
    audit_rows(req.actor, patient_def, [person], action=AuditAction.READ, query=query)
    warnings: list[Issue] = []
    for name in wanted:
        definition = registry.get(name)
        if not search.can_read(req.actor, definition):
            warnings.append(
                Issue(
                    code="forbidden",
                    severity="warning",
                    diagnostics=_("Sin permiso para incluir %(type)s.") % {"type": name},
                )
            )
            continue
        qs = definition.visible(req.actor).filter(of_person_family(person)).order_by("pk")
        rows = list(definition.load(qs)[: EVERYTHING_MAX_PER_TYPE + 1])
        if len(rows) > EVERYTHING_MAX_PER_TYPE:
            rows = rows[:EVERYTHING_MAX_PER_TYPE]
            warnings.append(
                Issue(
                    code="too-costly",
                    severity="warning",
                    diagnostics=_("Solo los primeros %(n)d recursos %(type)s; use la búsqueda.")
                    % {"n": EVERYTHING_MAX_PER_TYPE, "type": name},
                )
            )
        audit_rows(req.actor, definition, rows, action=AuditAction.READ, query=query)
        entries += [
            {
                "fullUrl": f"{req.base_url}/{name}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in definition.to_fhir(rows, req.actor)
        ]
    if warnings:
        entries.append(
            {
                "fullUrl": f"urn:uuid:{uuid.uuid4()}",
                "resource": operation_outcome(warnings),
                "search": {"mode": "outcome"},
            }
        )
    bundle = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": instant(timezone.now())},
        "type": "searchset",
        "total": len(entries) - (1 if warnings else 0),
        "link": [
            {"relation": "self", "url": f"{req.base_url}/Patient/{req.resource_id}/$everything"}
        ],
        "entry": entries,
    }
    return FhirResponse(200, bundle)


# --- writes ------------------------------------------------------------------------------------------


def _writer(req: FhirRequest) -> tuple[ResourceDef, Writer]:
    definition = registry.get(req.resource_type)
    writer = writer_for(definition.type)
    if writer is None:
        raise FhirError(
            405,
            _("%(type)s es de solo lectura en este servidor.") % {"type": definition.type},
            code="not-supported",
        )
    require_scope(req.actor, definition.type, WRITE)
    if definition.write_permission is not None and not req.actor.can(definition.write_permission):
        # The service would refuse too; refusing first keeps a wrong role from learning more
        # (a 422 on the body, a 404 on a reference) than that it may not write this type.
        raise Forbidden()
    if req.body is None:
        raise FhirError(400, _("Falta el recurso en el cuerpo."), code="required")
    validate_incoming(req.body, definition.type)
    return definition, writer


def _conditional_rows(
    req: FhirRequest, definition: ResourceDef, query: Sequence[tuple[str, str]]
) -> list[Any]:
    if not query:
        raise FhirError(400, _("La condición está vacía."), code="invalid")
    return list(search.matching(req.actor, definition, query, strict=True)[:2])


def _written(
    req: FhirRequest, definition: ResourceDef, row: Any, status: int, origin: str
) -> FhirResponse:
    confine_to_patient(req.actor, definition, row)
    fresh = _row(req, definition, str(getattr(row, definition.id_field)))
    resource = definition.to_fhir([fresh], req.actor)[0]
    versions.keep(resource, origin=origin, person_id=definition.person_id(fresh))
    headers = _headers(req, resource)
    headers["Location"] = _location(req, resource)
    if req.return_preference == "minimal":
        return FhirResponse(status, None, headers)
    if req.return_preference == "operationoutcome":
        return FhirResponse(status, information(_("Hecho.")), headers)
    return FhirResponse(status, resource, headers)


def _domain(definition: ResourceDef, writer: Writer, exc: Exception) -> FhirError:
    if isinstance(exc, MappingError):
        return exc.as_fhir_error()
    assert isinstance(exc, DomainError)
    return from_domain_error(exc, resource_type=definition.type, paths=writer.paths)


def create(req: FhirRequest) -> FhirResponse:
    definition, writer = _writer(req)
    assert req.body is not None
    if req.if_none_exist:
        found = _conditional_rows(req, definition, checked_params(parse_qsl(req.if_none_exist)))
        if len(found) > 1:
            raise FhirError(
                412,
                _("La condición de If-None-Exist coincide con varios recursos."),
                code="duplicate",
            )
        if found:
            resource = definition.to_fhir(
                list(definition.load(definition.visible(req.actor).filter(pk=found[0].pk))),
                req.actor,
            )[0]
            audit_rows(
                req.actor,
                definition,
                found,
                action=AuditAction.READ,
                query=audit_query("create-conditional", definition.type),
            )
            return FhirResponse(200, resource, _headers(req, resource))
    try:
        with transaction.atomic():
            row = writer.create(req.actor, req.body)
            return _written(req, definition, row, 201, "create")
    except (DomainError, MappingError) as exc:
        raise _domain(definition, writer, exc) from None


def update(req: FhirRequest) -> FhirResponse:
    """PUT Type/id: the row is locked, the If-Match version compared with it (412 when stale),
    then the change goes through the service; all in one transaction."""
    definition, writer = _writer(req)
    assert req.body is not None
    body_id = req.body.get("id")
    if body_id != req.resource_id:
        raise FhirError(
            400,
            _("El id del recurso (%(body)s) no coincide con el de la URL (%(url)s).")
            % {"body": body_id, "url": req.resource_id},
            code="invalid",
            expression=[f"{definition.type}.id"],
        )
    try:
        with transaction.atomic():
            row = writer.lock(req.actor, req.resource_id)
            if row is None:
                raise not_found(definition.type, req.resource_id)
            versions.check_if_match(req.if_match, row.version)
            before = definition.to_fhir([_row(req, definition, req.resource_id)], req.actor)[0]
            changed = writer.update(req.actor, row, req.body)
            if changed:
                versions.keep(before, origin="replaced", person_id=definition.person_id(row))
                return _written(req, definition, row, 200, "update")
            audit_rows(
                req.actor,
                definition,
                [row],
                action=AuditAction.READ,
                query=audit_query("update-unchanged", definition.type),
            )
            return FhirResponse(200, before, _headers(req, before))
    except (DomainError, MappingError) as exc:
        raise _domain(definition, writer, exc) from None


def conditional_update(req: FhirRequest) -> FhirResponse:
    """PUT Type?query: no match → create; one → update it; several → 412."""
    definition = _writer(req)[0]
    assert req.body is not None
    found = _conditional_rows(req, definition, req.params)
    if len(found) > 1:
        raise FhirError(412, _("La condición coincide con varios recursos."), code="duplicate")
    if not found:
        return create(req)
    found_id = str(getattr(found[0], definition.id_field))
    if req.body.get("id") not in (None, found_id):
        raise FhirError(
            400,
            _("El id del recurso no es el del recurso que coincide con la condición."),
            code="invalid",
        )
    req.body = {**req.body, "id": found_id}
    req.resource_id = found_id
    return update(req)
