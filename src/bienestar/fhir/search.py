"""FHIR search: parameters → ORM filters on the type's scoped selector → a searchset Bundle.

Supported on every type: the parameters the registry lists for it (token `system|code`, string
with `:exact` and `:contains`, date with the prefixes eq ne lt gt le ge sa eb, reference — with
chaining into Patient as in `patient.identifier=` — and quantity), comma-separated alternatives
(OR) and repeated parameters (AND); `_count` (default 20, at most 200) with self/first/previous/
next links, `_sort`, `_include` and `_revinclude` for the pairs the registry declares,
`_summary=count`, `_elements`, `_total` (none by default; accurate, or the query planner's estimate).

Unknown parameters are ignored and left out of the self link, or refused (400) when the request
says `Prefer: handling=strict`. An unsupported modifier is always refused.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.access.models import AuditAction
from bienestar.fhir import registry
from bienestar.fhir.audit import audit_query, audit_rows
from bienestar.fhir.auth import READ, require_scope, scope_allows
from bienestar.fhir.errors import FhirError, Issue, operation_outcome
from bienestar.fhir.http import FhirRequest, FhirResponse, query_string
from bienestar.fhir.mappers.common import instant
from bienestar.fhir.params import (
    NOTHING,
    bad_value,
    date_q,
    quantity_q,
    reference_value,
    split_or,
    token_q,
    uuid_or_none,
)
from bienestar.fhir.registry import (
    DATE,
    QUANTITY,
    REFERENCE,
    STRING,
    TOKEN,
    Include,
    ResourceDef,
    SearchParam,
)
from bienestar.fhir.systems import OBSERVATION_VALUE, UCUM

DEFAULT_COUNT = 20
MAX_COUNT = 200
# Resources added by _include/_revinclude per page, at most (a warning says when cut).
MAX_INCLUDED = 1000
CONTROL = frozenset(
    {
        "_count",
        "_offset",
        "_sort",
        "_include",
        "_revinclude",
        "_summary",
        "_elements",
        "_total",
        "_format",
        "_pretty",
    }
)
_MODIFIERS = {
    TOKEN: {"", "not"},
    STRING: {"", "exact", "contains"},
    DATE: {""},
    QUANTITY: {""},
}


@dataclass
class Search:
    filters: list[Q] = field(default_factory=list)
    distinct: bool = False
    kept: list[tuple[str, str]] = field(default_factory=list)
    count: int = DEFAULT_COUNT
    offset: int = 0
    order: list[str] = field(default_factory=list)
    includes: list[Include] = field(default_factory=list)
    revincludes: list[tuple[ResourceDef, Include]] = field(default_factory=list)
    summary: str = ""
    elements: list[str] = field(default_factory=list)
    total: str = "none"


def _refuse_or_ignore(strict: bool, message: str) -> None:
    if strict:
        raise FhirError(400, message, code="not-supported")


def _int(name: str, value: str, minimum: int, maximum: int | None = None) -> int:
    try:
        number = int(value)
    except ValueError:
        raise bad_value(name, value) from None
    if number < minimum:
        raise bad_value(name, value)
    return min(number, maximum) if maximum is not None else number


# --- one parameter -----------------------------------------------------------------------------------


def param_q(actor: Actor, definition: ResourceDef, name: str, value: str) -> tuple[Q, bool]:
    """The filter for one `name=value` of the query (name may carry a modifier or a chain), and
    whether it needs DISTINCT. Raises FhirError for a bad value or an unsupported modifier, and
    KeyError for a parameter the type does not support."""
    head, dot, chained = name.partition(".")
    base, _colon, modifier = head.partition(":")
    param = definition.params[base]
    if dot:
        return _chain_q(actor, param, modifier, chained, value)
    if param.type == REFERENCE:
        if modifier and modifier not in param.targets:
            raise _bad_modifier(name)
        return _or(_reference_q(param, v) for v in split_or(value)), param.distinct
    if modifier not in _MODIFIERS[param.type]:
        raise _bad_modifier(name)
    alternatives = split_or(value)
    if not alternatives:
        raise bad_value(name, value)
    if param.type == TOKEN:
        assert param.token is not None
        q = _or(token_q(v, param.token) for v in alternatives)
        return (~q if modifier == "not" else q), param.distinct
    if param.type == STRING:
        assert param.string is not None
        return _or(param.string(actor, v, modifier) for v in alternatives), param.distinct
    if param.type == DATE:
        assert param.date_fields is not None
        start, end = param.date_fields
        return _or(date_q(name, v, start, end, days=param.days) for v in alternatives), False
    assert param.quantity_fields is not None
    value_field, unit_field = param.quantity_fields
    return _or(quantity_q(name, v, value_field, unit_field, UCUM) for v in alternatives), False


def _bad_modifier(name: str) -> FhirError:
    return FhirError(
        400,
        _("Modificador no admitido en %(name)s.") % {"name": name},
        code="not-supported",
    )


def _or(qs: Any) -> Q:
    out = Q(pk__in=[])
    first = True
    for q in qs:
        out = q if first else out | q
        first = False
    return out


def _reference_q(param: SearchParam, value: str) -> Q:
    assert param.reference_field is not None
    kind, ident = reference_value(value, param.targets)
    if kind is not None and kind not in param.targets:
        return NOTHING
    if param.uuid_ids and uuid_or_none(ident) is None:
        return NOTHING
    return Q(**{param.reference_field: ident})


def _chain_q(
    actor: Actor, param: SearchParam, modifier: str, chained: str, value: str
) -> tuple[Q, bool]:
    if param.type != REFERENCE or param.chain is None or "." in chained:
        raise FhirError(
            400, _("Encadenamiento no admitido: %(p)s.") % {"p": param.name}, code="not-supported"
        )
    target_type = modifier or param.targets[0]
    if target_type not in param.targets:
        raise _bad_modifier(param.name)
    target = registry.get(target_type)
    require_scope(actor, target_type, READ)
    try:
        q, distinct = param_q(actor, target, chained, value)
    except KeyError:
        raise FhirError(
            400,
            _("%(type)s no admite el parámetro %(p)s.") % {"type": target_type, "p": chained},
            code="not-supported",
        ) from None
    rows = target.visible(actor).filter(q)
    if distinct:
        rows = rows.distinct()
    return Q(**{f"{param.chain}__in": rows.values("pk")}), False


# --- the whole query ---------------------------------------------------------------------------------


def parse(
    actor: Actor, definition: ResourceDef, params: Sequence[tuple[str, str]], *, strict: bool
) -> Search:
    search = Search()
    for name, value in params:
        base = name.split(":")[0].split(".")[0]
        if base in CONTROL:
            _control(search, definition, name, value, strict)
            continue
        if base not in definition.params:
            _refuse_or_ignore(
                strict,
                _("%(type)s no admite el parámetro %(p)s.") % {"type": definition.type, "p": name},
            )
            continue
        q, distinct = param_q(actor, definition, name, value)
        search.filters.append(q)
        search.distinct = search.distinct or distinct
        search.kept.append((name, value))
    if not search.order:
        search.order = list(definition.default_sort)
    # A stable order makes pages that neither repeat nor skip rows.
    tiebreak = "-pk" if search.order[0].startswith("-") else "pk"
    search.order.append(tiebreak)
    return search


def _control(search: Search, definition: ResourceDef, name: str, value: str, strict: bool) -> None:
    base = name.split(":")[0]
    if base == "_count":
        search.count = _int(name, value, 0, MAX_COUNT)
    elif base == "_offset":
        search.offset = _int(name, value, 0)
        return
    elif base == "_sort":
        order: list[str] = []
        for key in split_or(value):
            descending = key.startswith("-")
            fields = definition.sorts.get(key.lstrip("-"))
            if fields is None:
                _refuse_or_ignore(strict, _("No se puede ordenar por %(k)s.") % {"k": key})
                return
            order += [f"-{f}" if descending else f for f in fields]
        search.order = order
    elif base in ("_include", "_revinclude"):
        if not _include(search, definition, base, value, strict):
            return
    elif base == "_summary":
        if value not in ("count", "false", "data"):
            _refuse_or_ignore(strict, _("_summary admite count, data o false."))
            return
        search.summary = value
    elif base == "_elements":
        search.elements = [e.strip() for e in value.split(",") if e.strip()]
    elif base == "_total":
        if value not in ("none", "estimate", "accurate"):
            raise bad_value(name, value)
        search.total = value
    elif base in ("_format", "_pretty"):
        return
    search.kept.append((name, value))


def _include(search: Search, definition: ResourceDef, kind: str, value: str, strict: bool) -> bool:
    source_type, _colon, rest = value.partition(":")
    name, _colon2, target_type = rest.partition(":")
    try:
        source = registry.get(source_type)
    except FhirError:
        _refuse_or_ignore(strict, _("Inclusión no admitida: %(v)s.") % {"v": value})
        return False
    include = source.includes.get(name)
    ok = include is not None and target_type in ("", include.target)
    if kind == "_include":
        ok = ok and source_type == definition.type
    else:
        ok = ok and include is not None and include.target == definition.type
    if not ok or include is None:
        _refuse_or_ignore(strict, _("Inclusión no admitida: %(v)s.") % {"v": value})
        return False
    if kind == "_include":
        search.includes.append(include)
    else:
        search.revincludes.append((source, include))
    return True


def matching(
    actor: Actor,
    definition: ResourceDef,
    params: Sequence[tuple[str, str]],
    *,
    strict: bool = False,
) -> QuerySet[Any]:
    """The scoped rows a query matches (conditional create and update)."""
    search = parse(actor, definition, params, strict=strict)
    qs = definition.visible(actor)
    for q in search.filters:
        qs = qs.filter(q)
    return qs.distinct() if search.distinct else qs


# --- running it --------------------------------------------------------------------------------------


def run(req: FhirRequest, definition: ResourceDef) -> FhirResponse:
    actor = req.actor
    require_scope(actor, definition.type, READ)
    search = parse(actor, definition, req.params, strict=req.strict)
    qs = definition.visible(actor)
    for q in search.filters:
        qs = qs.filter(q)
    if search.distinct:
        qs = qs.distinct()
    qs = qs.order_by(*search.order)
    query = audit_query("search-type", definition.type, search.kept)
    bundle = _bundle(req, definition.type, search)
    if search.summary == "count" or search.count == 0:
        bundle["total"] = qs.count()
        audit_rows(actor, definition, [], action=AuditAction.SEARCH, query=query, always=True)
        return FhirResponse(200, bundle)
    rows = list(definition.load(qs)[search.offset : search.offset + search.count + 1])
    has_next = len(rows) > search.count
    rows = rows[: search.count]
    if search.total == "accurate":
        bundle["total"] = qs.count()
    elif search.total == "estimate":
        bundle["total"] = estimate(qs)
    elif not has_next and (rows or search.offset == 0):
        bundle["total"] = search.offset + len(rows)
    _links(bundle, req, definition.type, search, has_next)
    entries = _entries(req, definition.type, definition.to_fhir(rows, actor), "match")
    audit_rows(actor, definition, rows, action=AuditAction.SEARCH, query=query, always=True)
    extra, warnings = _included(req, definition, search, rows)
    entries += extra
    if search.elements:
        for entry in entries:
            entry["resource"] = subset(entry["resource"], search.elements)
    if warnings:
        entries.append(
            {
                "fullUrl": f"urn:uuid:{uuid.uuid4()}",
                "resource": operation_outcome(warnings),
                "search": {"mode": "outcome"},
            }
        )
    bundle["entry"] = entries
    return FhirResponse(200, bundle)


def _bundle(req: FhirRequest, resource_type: str, search: Search) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": instant(timezone.now())},
        "type": "searchset",
        "link": [{"relation": "self", "url": _url(req, resource_type, search.kept, search)}],
    }


def _url(
    req: FhirRequest,
    resource_type: str,
    kept: Sequence[tuple[str, str]],
    search: Search,
    offset: int | None = None,
) -> str:
    params = list(kept)
    if offset is None:
        offset = search.offset
    if offset:
        params.append(("_offset", str(offset)))
    query = query_string(params)
    return f"{req.base_url}/{resource_type}" + (f"?{query}" if query else "")


def _links(
    bundle: dict[str, Any], req: FhirRequest, resource_type: str, search: Search, has_next: bool
) -> None:
    kept = list(search.kept)
    if not any(name == "_count" for name, _v in kept):
        kept.append(("_count", str(search.count)))
    links = bundle["link"]
    links.append({"relation": "first", "url": _url(req, resource_type, kept, search, 0)})
    if search.offset > 0:
        previous = max(search.offset - search.count, 0)
        links.append(
            {"relation": "previous", "url": _url(req, resource_type, kept, search, previous)}
        )
    if has_next:
        following = search.offset + search.count
        links.append({"relation": "next", "url": _url(req, resource_type, kept, search, following)})


def _entries(
    req: FhirRequest, resource_type: str, resources: list[dict[str, Any]], mode: str
) -> list[dict[str, Any]]:
    return [
        {
            "fullUrl": f"{req.base_url}/{r['resourceType']}/{r['id']}",
            "resource": r,
            "search": {"mode": mode},
        }
        for r in resources
    ]


def can_read(actor: Actor, definition: ResourceDef) -> bool:
    return scope_allows(actor, definition.type, READ) and actor.can(definition.read_permission)


def _included(
    req: FhirRequest, definition: ResourceDef, search: Search, rows: list[Any]
) -> tuple[list[dict[str, Any]], list[Issue]]:
    actor = req.actor
    entries: list[dict[str, Any]] = []
    warnings: list[Issue] = []
    if not rows or not (search.includes or search.revincludes):
        return entries, warnings
    seen: set[tuple[str, str]] = set()
    pks = [r.pk for r in rows]
    wanted: list[tuple[ResourceDef, Include, bool]] = [
        (registry.get(include.target), include, False) for include in search.includes
    ] + [(source, include, True) for source, include in search.revincludes]
    for target, include, reverse in wanted:
        if not can_read(actor, target):
            warnings.append(
                Issue(
                    code="forbidden",
                    severity="warning",
                    diagnostics=_("Sin permiso para incluir %(type)s.") % {"type": target.type},
                )
            )
            continue
        if reverse:
            qs = target.visible(actor).filter(**{f"{include.fk}__in": pks})
        else:
            ids = {
                v
                for v in definition.visible(actor)
                .filter(pk__in=pks)
                .values_list(include.fk, flat=True)
                if v is not None
            }
            qs = target.visible(actor).filter(pk__in=ids)
        found = list(target.load(qs.order_by("pk"))[: MAX_INCLUDED + 1])
        if len(found) > MAX_INCLUDED:
            found = found[:MAX_INCLUDED]
            warnings.append(
                Issue(
                    code="too-costly",
                    severity="warning",
                    diagnostics=_(
                        "Se incluyeron solo %(n)d recursos %(type)s; pida páginas más chicas."
                    )
                    % {"n": MAX_INCLUDED, "type": target.type},
                )
            )
        fresh = [r for r in found if (target.type, str(getattr(r, target.id_field))) not in seen]
        seen.update((target.type, str(getattr(r, target.id_field))) for r in fresh)
        entries += _entries(req, target.type, target.to_fhir(fresh, actor), "include")
        audit_rows(
            actor,
            target,
            fresh,
            action=AuditAction.SEARCH,
            query=audit_query("include", target.type, [("via", include.name)]),
        )
    return entries, warnings


def subset(resource: dict[str, Any], elements: list[str]) -> dict[str, Any]:
    """The resource with only the elements asked for (plus the mandatory ones), tagged SUBSETTED."""
    keep = {"resourceType", "id", "meta", *elements}
    out = {k: v for k, v in resource.items() if k in keep}
    meta = dict(out.get("meta") or {})
    meta["tag"] = [*meta.get("tag", []), {"system": OBSERVATION_VALUE, "code": "SUBSETTED"}]
    out["meta"] = meta
    return out


def estimate(qs: QuerySet[Any]) -> int:
    """The planner's row estimate for the query: instant, whatever the table size."""
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])
