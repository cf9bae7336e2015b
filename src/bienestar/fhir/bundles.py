"""Batch and transaction Bundles (`POST /fhir/`), run through the same interactions as single
requests (interactions.create / update / read / search …), so every entry is checked, scoped,
written by the domain services and audited exactly as if it had come alone.

- **transaction**: atomic. Every entry runs inside one database transaction; the first entry that
  fails rolls everything back and the answer is that entry's 4xx status with an OperationOutcome
  naming it (`Bundle.entry[i]`, its fullUrl, and the element at fault as
  `Bundle.entry[i].resource.<path>`).
- **batch**: every entry on its own (a savepoint each); the answer is a `batch-response` with one
  entry per request, in the request's order, each with its status and, on failure, an
  OperationOutcome. A resource type the server does not serve is refused on its entry (404,
  `not-supported`); the other entries go on.

Processing order (FHIR R4 http.html#trules): DELETE, then POST, then PUT/PATCH, then GET/HEAD;
entries keep the document order within a group, except that a POST whose resource refers to another
POST's `fullUrl` runs after it (so a Patient created in the same Bundle is there before the
Encounters that point at it).

References: a reference to another entry's `fullUrl` (`urn:uuid:…`, or an absolute URL) is rewritten
to `Type/<id>` of the resource that entry created or updated; a conditional reference
(`Patient?identifier=system|value`) to the one resource the query matches (404 when none, 412 when
several). A batch resolves these too, although R4 says batch entries should not depend on each
other: real exports (Synthea, the bundles of other servers) rely on it, and an entry whose target
failed is refused naming that entry.

Not supported (refused per entry with 405): DELETE and PATCH, as the server has no such interactions.
"""

from __future__ import annotations

import copy
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from bienestar.core.errors import DomainError
from bienestar.fhir import interactions, registry, search, views
from bienestar.fhir.errors import FhirError, Issue, MappingError, from_domain_error
from bienestar.fhir.http import FhirRequest, FhirResponse, checked_params, parse_json
from bienestar.fhir.mappers.common import instant
from bienestar.fhir.writes import writer_for

logger = logging.getLogger(__name__)

# A Bundle larger than this is refused (413): big loads go through `bienestar fhir import`.
MAX_ENTRIES = 5000
MAX_BYTES = 32 * 1024 * 1024
ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}
_TYPE_RE = re.compile(r"^[A-Z][A-Za-z]{1,63}$")
_ID_RE = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


@dataclass
class Entry:
    index: int
    full_url: str
    method: str
    url: str
    resource: dict[str, Any] | None
    if_match: str = ""
    if_none_exist: str = ""
    # fullUrls of other entries this entry's resource refers to.
    depends_on: set[str] = field(default_factory=set)


class EntryError(Exception):
    """An entry that failed, with the FHIR error to report for it."""

    def __init__(self, entry: Entry, error: FhirError) -> None:
        super().__init__(str(error))
        self.entry = entry
        self.error = error


# --- parsing -----------------------------------------------------------------------------------------


def _structure(index: int, message: str, path: str = "") -> FhirError:
    where = f"Bundle.entry[{index}]" + (f".{path}" if path else "")
    return FhirError(400, message, code="structure", expression=[where])


def parse_entry(index: int, raw: Any) -> Entry:
    """One entry of the request Bundle; FhirError (400) when it cannot be processed at all."""
    if not isinstance(raw, dict):
        raise _structure(index, _("Cada entrada debe ser un objeto."))
    request = raw.get("request")
    if not isinstance(request, dict):
        raise _structure(index, _("Falta request en la entrada."), "request")
    method = str(request.get("method") or "").upper()
    if method not in ORDER:
        raise _structure(
            index,
            _("Método no válido: %(m)s.") % {"m": request.get("method")},
            "request.method",
        )
    url = request.get("url")
    if not isinstance(url, str) or not url.strip():
        raise _structure(index, _("Falta request.url."), "request.url")
    resource = raw.get("resource")
    if resource is not None and (
        not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str)
    ):
        raise _structure(index, _("El recurso no tiene resourceType."), "resource")
    if method in ("POST", "PUT") and resource is None:
        raise _structure(index, _("Falta el recurso."), "resource")
    full_url = raw.get("fullUrl")
    return Entry(
        index=index,
        full_url=full_url if isinstance(full_url, str) else "",
        method=method,
        url=url.strip(),
        resource=copy.deepcopy(resource) if resource is not None else None,
        if_match=str(request.get("ifMatch") or ""),
        if_none_exist=str(request.get("ifNoneExist") or ""),
    )


def _references(node: Any) -> Iterator[dict[str, Any]]:
    """Every Reference-like object (a dict with a string `reference`) inside a resource."""
    if isinstance(node, dict):
        if isinstance(node.get("reference"), str):
            yield node
        for value in node.values():
            yield from _references(value)
    elif isinstance(node, list):
        for item in node:
            yield from _references(item)


def _static_target(entry: Entry) -> str | None:
    """`Type/id` an entry is known to write before it runs (a PUT to Type/id)."""
    if entry.method != "PUT" or "?" in entry.url:
        return None
    parts = _path_parts(entry.url)
    if len(parts) == 2 and _TYPE_RE.match(parts[0]) and _ID_RE.match(parts[1]):
        return f"{parts[0]}/{parts[1]}"
    return None


def _path_parts(url: str) -> list[str]:
    return [p for p in url.split("?", 1)[0].strip("/").split("/") if p]


def processing_order(entries: list[Entry]) -> tuple[list[Entry], list[Entry]]:
    """The entries in the order they run, and the POST entries caught in a reference cycle
    (which cannot run: each needs the other's id first)."""
    full_urls = {e.full_url: e for e in entries if e.full_url}
    for entry in entries:
        if entry.resource is not None:
            entry.depends_on = {
                ref["reference"]
                for ref in _references(entry.resource)
                if ref["reference"] in full_urls and ref["reference"] != entry.full_url
            }
    posts = [e for e in entries if e.method == "POST"]
    post_urls = {e.full_url for e in posts if e.full_url}
    ordered_posts: list[Entry] = []
    done: set[str] = set()
    pending = list(posts)
    # Kahn's algorithm that keeps the document order among the entries that are ready.
    while pending:
        ready = [e for e in pending if not ((e.depends_on & post_urls) - done)]
        if not ready:
            break
        for entry in ready:
            ordered_posts.append(entry)
            if entry.full_url:
                done.add(entry.full_url)
        pending = [e for e in pending if e not in ready]
    by_group: dict[int, list[Entry]] = {}
    for entry in entries:
        if entry.method != "POST":
            by_group.setdefault(ORDER[entry.method], []).append(entry)
    ordered = by_group.get(0, []) + ordered_posts + by_group.get(2, []) + by_group.get(3, [])
    return ordered, pending


# --- references --------------------------------------------------------------------------------------


@dataclass
class Resolver:
    """fullUrl → `Type/id` of what each entry wrote, and the entries that failed."""

    base: FhirRequest
    by_full_url: dict[str, Entry]
    resolved: dict[str, str] = field(default_factory=dict)
    failed: dict[str, Entry] = field(default_factory=dict)

    def rewrite(self, entry: Entry) -> None:
        if entry.resource is None:
            return
        for ref in _references(entry.resource):
            ref["reference"] = self._target(entry, ref["reference"])

    def _target(self, entry: Entry, value: str) -> str:
        if value in self.resolved:
            return self.resolved[value]
        if value in self.failed:
            other = self.failed[value]
            raise EntryError(
                entry,
                FhirError(
                    400,
                    _("Se refiere a la entrada %(i)d (%(url)s), que falló.")
                    % {"i": other.index, "url": value},
                    code="processing",
                ),
            )
        if value in self.by_full_url:
            # An entry not run yet (a cycle, or a conditional PUT referred to by a POST).
            raise EntryError(
                entry,
                FhirError(
                    400,
                    _("No se puede resolver la referencia a la entrada %(url)s antes de crearla.")
                    % {"url": value},
                    code="processing",
                ),
            )
        if value.startswith(("urn:uuid:", "urn:oid:")):
            raise EntryError(
                entry,
                FhirError(
                    400,
                    _("Ninguna entrada del Bundle tiene fullUrl %(url)s.") % {"url": value},
                    code="not-found",
                ),
            )
        head, question, query = value.partition("?")
        if question and _TYPE_RE.match(head):
            return self._conditional(entry, head, query, value)
        return value

    def _conditional(self, entry: Entry, resource_type: str, query: str, value: str) -> str:
        try:
            definition = registry.get(resource_type)
            rows = list(
                search.matching(
                    self.base.actor,
                    definition,
                    checked_params(parse_qsl(query, keep_blank_values=True)),
                    strict=True,
                )[:2]
            )
        except DomainError as exc:
            raise EntryError(entry, from_domain_error(exc)) from None
        except FhirError as exc:
            raise EntryError(entry, exc) from None
        if not rows:
            raise EntryError(
                entry,
                FhirError(
                    404,
                    _("La referencia condicional %(ref)s no coincide con ningún recurso.")
                    % {"ref": value},
                    code="not-found",
                ),
            )
        if len(rows) > 1:
            raise EntryError(
                entry,
                FhirError(
                    412,
                    _("La referencia condicional %(ref)s coincide con varios recursos.")
                    % {"ref": value},
                    code="multiple-matches",
                ),
            )
        return f"{resource_type}/{getattr(rows[0], definition.id_field)}"

    def record(self, entry: Entry, response: FhirResponse) -> None:
        if not entry.full_url:
            return
        resource = response.resource
        location = response.headers.get("Location") or response.headers.get("Content-Location", "")
        target = None
        if resource and resource.get("resourceType") not in (None, "OperationOutcome", "Bundle"):
            target = f"{resource['resourceType']}/{resource.get('id')}"
        elif location:
            parts = _path_parts(location.split("/_history")[0])
            if len(parts) >= 2:
                target = f"{parts[-2]}/{parts[-1]}"
        if target:
            self.resolved[entry.full_url] = target


# --- running one entry -------------------------------------------------------------------------------


def _entry_request(base: FhirRequest, entry: Entry) -> tuple[FhirRequest, list[str]]:
    url = entry.url
    if url.startswith(base.base_url + "/"):
        url = url[len(base.base_url) + 1 :]
    path, _q, query = url.partition("?")
    parts = [p for p in path.strip("/").split("/") if p]
    req = FhirRequest(
        actor=base.actor,
        method=entry.method,
        base_url=base.base_url,
        params=checked_params(parse_qsl(query, keep_blank_values=True)),
        body=entry.resource,
        if_match=entry.if_match,
        if_none_exist=entry.if_none_exist,
        prefer=dict(base.prefer),
    )
    if not parts or not _TYPE_RE.match(parts[0]):
        raise FhirError(
            400, _("URL de la entrada no válida: %(url)s.") % {"url": entry.url}, code="invalid"
        )
    req.resource_type = parts[0]
    if len(parts) > 1:
        if not (_ID_RE.match(parts[1]) or parts[1] in ("_search", "$everything")):
            raise FhirError(
                400,
                _("URL de la entrada no válida: %(url)s.") % {"url": entry.url},
                code="invalid",
            )
        req.resource_id = parts[1]
    return req, parts


def _not_supported(method: str) -> FhirError:
    return FhirError(
        405,
        _("Método %(m)s no admitido en este servidor.") % {"m": method},
        code="not-supported",
    )


def dispatch(base: FhirRequest, entry: Entry) -> FhirResponse:
    """Run one entry through the interaction its method and URL name."""
    req, parts = _entry_request(base, entry)
    method = entry.method
    if method in ("GET", "HEAD"):
        return _dispatch_read(req, parts, method)
    if method == "POST":
        if len(parts) == 2 and parts[1] == "_search":
            return interactions.search_type(req)
        if len(parts) != 1:
            raise _not_supported(method)
        registry.get(req.resource_type)
        assert entry.resource is not None
        if entry.resource.get("resourceType") != req.resource_type:
            raise FhirError(
                400,
                _("El recurso (%(got)s) no es del tipo de la URL (%(url)s).")
                % {"got": entry.resource.get("resourceType"), "url": req.resource_type},
                code="invalid",
            )
        return interactions.create(req)
    if method == "PUT":
        if len(parts) == 2:
            return interactions.update(req)
        if len(parts) == 1 and req.params:
            return interactions.conditional_update(req)
        raise _not_supported(method)
    raise _not_supported(method)


def _dispatch_read(req: FhirRequest, parts: list[str], method: str) -> FhirResponse:
    if len(parts) == 1:
        return interactions.search_type(req)
    if len(parts) == 2 and parts[1] != "_search":
        return interactions.read(req)
    if len(parts) == 3 and parts[2] == "_history":
        return interactions.history(req)
    if len(parts) == 3 and parts[0] == "Patient" and parts[2] == "$everything":
        return interactions.everything(req)
    if len(parts) == 4 and parts[2] == "_history" and _ID_RE.match(parts[3]):
        req.version_id = parts[3]
        return interactions.vread(req)
    raise _not_supported(method)


def _as_fhir_error(exc: Exception) -> FhirError | None:
    if isinstance(exc, FhirError):
        return exc
    if isinstance(exc, MappingError):
        return exc.as_fhir_error()
    if isinstance(exc, DomainError):
        return from_domain_error(exc)
    return None


def _precheck(entry: Entry) -> None:
    """Refuse a write the server can never do (an unknown or read-only type) before resolving its
    references, so that the refusal names the real reason."""
    if entry.method not in ("POST", "PUT"):
        return
    parts = _path_parts(entry.url)
    if not parts or not _TYPE_RE.match(parts[0]) or parts[-1] == "_search":
        return
    definition = registry.get(parts[0])
    if writer_for(definition.type) is None:
        raise FhirError(
            405,
            _("%(type)s es de solo lectura en este servidor.") % {"type": definition.type},
            code="not-supported",
        )


def run_entry(base: FhirRequest, entry: Entry, resolver: Resolver) -> FhirResponse:
    """Resolve the entry's references, then run it; EntryError when it fails."""
    try:
        _precheck(entry)
        resolver.rewrite(entry)
        return dispatch(base, entry)
    except EntryError:
        raise
    except (FhirError, MappingError, DomainError) as exc:
        error = _as_fhir_error(exc)
        assert error is not None
        raise EntryError(entry, error) from None


# --- the answer --------------------------------------------------------------------------------------


def status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def _response_entry(base: FhirRequest, response: FhirResponse) -> dict[str, Any]:
    out: dict[str, Any] = {}
    resource = response.resource
    if resource is not None and resource.get("resourceType") not in (None, "OperationOutcome"):
        if resource.get("id") and resource["resourceType"] != "Bundle":
            out["fullUrl"] = f"{base.base_url}/{resource['resourceType']}/{resource['id']}"
        out["resource"] = resource
    answer: dict[str, Any] = {"status": status_line(response.status)}
    location = response.headers.get("Location")
    if location:
        answer["location"] = location
    if response.headers.get("ETag"):
        answer["etag"] = response.headers["ETag"]
    meta = (resource or {}).get("meta") or {}
    if meta.get("lastUpdated"):
        answer["lastModified"] = meta["lastUpdated"]
    if resource is not None and resource.get("resourceType") == "OperationOutcome":
        answer["outcome"] = resource
    out["response"] = answer
    return out


def _error_entry(error: FhirError) -> dict[str, Any]:
    return {"response": {"status": status_line(error.status), "outcome": error.outcome()}}


def _bundle(kind: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": instant(timezone.now())},
        "type": kind,
        "entry": entries,
    }


def _naming_entry(entry: Entry, error: FhirError) -> FhirError:
    """The error of one entry, restated so that it names the entry (index and fullUrl) and points
    at the element inside the Bundle."""
    where = entry.full_url or entry.url
    prefix = _("Entrada %(i)d (%(where)s): ") % {"i": entry.index, "where": where}
    issues = []
    for issue in error.issues:
        expressions = [f"Bundle.entry[{entry.index}]"]
        for path in issue.expression:
            head, dot, rest = path.partition(".")
            if path.startswith("Bundle."):
                expressions.append(path)
            elif _TYPE_RE.match(head):
                expressions.append(
                    f"Bundle.entry[{entry.index}].resource" + (f".{rest}" if dot else "")
                )
        issues.append(
            Issue(
                code=issue.code,
                diagnostics=prefix + issue.diagnostics,
                severity=issue.severity,
                expression=list(dict.fromkeys(expressions)),
            )
        )
    return FhirError(error.status, "", issues=issues)


# --- batch and transaction ---------------------------------------------------------------------------


def _parse_all(bundle: dict[str, Any]) -> tuple[list[Entry], dict[int, FhirError]]:
    raw_entries = bundle.get("entry") or []
    if not isinstance(raw_entries, list):
        raise FhirError(400, _("Bundle.entry debe ser una lista."), code="structure")
    if len(raw_entries) > MAX_ENTRIES:
        raise FhirError(
            413,
            _(
                "El Bundle tiene %(n)d entradas; el máximo es %(max)d. Para cargas grandes use "
                "la importación masiva (NDJSON)."
            )
            % {"n": len(raw_entries), "max": MAX_ENTRIES},
            code="too-costly",
        )
    entries: list[Entry] = []
    broken: dict[int, FhirError] = {}
    for index, raw in enumerate(raw_entries):
        try:
            entries.append(parse_entry(index, raw))
        except FhirError as exc:
            broken[index] = exc
    return entries, broken


def process(base: FhirRequest, bundle: dict[str, Any]) -> FhirResponse:
    """Run a batch or transaction Bundle for `base.actor`."""
    if bundle.get("resourceType") != "Bundle":
        raise FhirError(
            400,
            _("En la base del servidor solo se admite POST de un Bundle batch o transaction."),
            code="invalid",
        )
    kind = bundle.get("type")
    if kind not in ("batch", "transaction"):
        raise FhirError(
            400,
            _("Tipo de Bundle no admitido: %(t)s. Use batch o transaction.") % {"t": kind},
            code="not-supported",
            expression=["Bundle.type"],
        )
    entries, broken = _parse_all(bundle)
    if kind == "transaction":
        return _transaction(base, entries, broken)
    return _batch(base, entries, broken)


def _duplicate_full_urls(entries: list[Entry]) -> dict[int, FhirError]:
    seen: dict[str, int] = {}
    out: dict[int, FhirError] = {}
    for entry in entries:
        if not entry.full_url:
            continue
        if entry.full_url in seen:
            out[entry.index] = _structure(
                entry.index,
                _("fullUrl repetido (también en la entrada %(i)d): %(url)s.")
                % {"i": seen[entry.full_url], "url": entry.full_url},
                "fullUrl",
            )
        else:
            seen[entry.full_url] = entry.index
    return out


def _resolver(base: FhirRequest, entries: list[Entry]) -> Resolver:
    resolver = Resolver(base=base, by_full_url={e.full_url: e for e in entries if e.full_url})
    for entry in entries:
        target = _static_target(entry)
        if target and entry.full_url:
            resolver.resolved[entry.full_url] = target
    return resolver


def _cycle_error(entry: Entry) -> FhirError:
    return FhirError(
        400,
        _("La entrada forma un ciclo de referencias con otras entradas POST."),
        code="processing",
        expression=[f"Bundle.entry[{entry.index}]"],
    )


def _transaction(
    base: FhirRequest, entries: list[Entry], broken: dict[int, FhirError]
) -> FhirResponse:
    broken = {**broken, **_duplicate_full_urls(entries)}
    if broken:
        first = min(broken)
        raise broken[first]
    targets: dict[str, int] = {}
    for entry in entries:
        # One resource changed twice in a transaction has no defined outcome (R4 http.html#trules).
        if entry.method in ("PUT", "DELETE") and "?" not in entry.url:
            if entry.url in targets:
                raise _structure(
                    entry.index,
                    _("La entrada %(i)d ya modifica %(url)s: un recurso, una vez por transacción.")
                    % {"i": targets[entry.url], "url": entry.url},
                    "request.url",
                )
            targets[entry.url] = entry.index
    ordered, cycle = processing_order(entries)
    if cycle:
        raise _cycle_error(cycle[0])
    resolver = _resolver(base, entries)
    responses: dict[int, FhirResponse] = {}
    try:
        with transaction.atomic():
            for entry in ordered:
                response = run_entry(base, entry, resolver)
                resolver.record(entry, response)
                responses[entry.index] = response
    except EntryError as exc:
        raise _naming_entry(exc.entry, exc.error) from None
    out = [_response_entry(base, responses[e.index]) for e in entries]
    return FhirResponse(200, _bundle("transaction-response", out))


def _batch(base: FhirRequest, entries: list[Entry], broken: dict[int, FhirError]) -> FhirResponse:
    broken = {**broken, **_duplicate_full_urls(entries)}
    runnable = [e for e in entries if e.index not in broken]
    ordered, cycle = processing_order(runnable)
    for entry in cycle:
        broken[entry.index] = _cycle_error(entry)
    resolver = _resolver(base, runnable)
    for entry in cycle:
        if entry.full_url:
            resolver.failed[entry.full_url] = entry
    answers: dict[int, dict[str, Any]] = {
        index: _error_entry(error) for index, error in broken.items()
    }
    for entry in ordered:
        answers[entry.index] = _batch_entry(base, entry, resolver)
    out = [answers[i] for i in sorted(answers)]
    return FhirResponse(200, _bundle("batch-response", out))


def _batch_entry(base: FhirRequest, entry: Entry, resolver: Resolver) -> dict[str, Any]:
    try:
        with transaction.atomic():
            response = run_entry(base, entry, resolver)
    except EntryError as exc:
        if entry.full_url:
            resolver.failed[entry.full_url] = entry
        return _error_entry(exc.error)
    except Exception:
        # One entry's unexpected failure must not take the others down; its savepoint is rolled
        # back. The log names no personal data: only the entry's position and method.
        logger.exception("FHIR batch entry %d (%s) failed", entry.index, entry.method)
        if entry.full_url:
            resolver.failed[entry.full_url] = entry
        return _error_entry(FhirError(500, _("Error interno del servidor."), code="exception"))
    resolver.record(entry, response)
    return _response_entry(base, response)


# --- the view ----------------------------------------------------------------------------------------


def _read_bundle(request: HttpRequest) -> dict[str, Any]:
    content_type = (request.content_type or "").lower()
    if content_type and content_type not in (
        "application/fhir+json",
        "application/json",
        "application/json+fhir",
    ):
        raise FhirError(415, _("Envíe el Bundle como application/fhir+json."), code="not-supported")
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BYTES:
        raise FhirError(
            413,
            _("El Bundle excede %(mb)d MB; use la importación masiva (NDJSON).")
            % {"mb": MAX_BYTES // (1024 * 1024)},
            code="too-costly",
        )
    # Read the stream directly: Django's request.body stops at DATA_UPLOAD_MAX_MEMORY_SIZE, smaller
    # than a reasonable Bundle.
    raw = request.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise FhirError(413, _("El Bundle es demasiado grande."), code="too-costly")
    data = parse_json(raw)
    if not isinstance(data, dict):
        raise FhirError(400, _("El cuerpo debe ser un Bundle."), code="structure")
    return data


@csrf_exempt
def base_endpoint(request: HttpRequest) -> HttpResponse:
    """`POST /fhir/`: a batch or transaction Bundle. Other methods on the base: 405."""

    def run() -> FhirResponse:
        if request.method != "POST":
            raise FhirError(
                405,
                _("En la base solo se admite POST de un Bundle batch o transaction."),
                code="not-supported",
            )
        base = views._request(request)
        return process(base, _read_bundle(request))

    answer: Callable[[HttpRequest, Callable[[], FhirResponse]], HttpResponse] = views._answer
    return answer(request, run)
