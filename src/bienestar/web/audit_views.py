"""The audit log for auditors: filters, pages, and a streamed CSV export."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from bienestar.access import selectors as audit
from bienestar.access.actor import Actor
from bienestar.access.models import AuditEvent
from bienestar.access.roles import Permission
from bienestar.web.forms import AuditFilterForm
from bienestar.web.http import page

PAGE_SIZE = 50
CSV_COLUMNS = [
    "at",
    "actor_username",
    "role",
    "channel",
    "action",
    "resource_type",
    "resource_id",
    "person_id",
    "client_address",
    "query",
    "result_count",
    "result_ids",
    "digest",
]
# A cell starting with one of these is run as a formula by spreadsheet programs; the log holds text
# that users typed (search queries), so such cells are quoted with a leading apostrophe.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _page_number(raw: str | None) -> int:
    try:
        return max(1, min(int(raw or 1), 10_000))
    except ValueError:
        return 1


@page(Permission.AUDIT_READ)
def audit_log(request: HttpRequest, actor: Actor) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    context: dict[str, Any] = {
        "form": form,
        "events": None,
        "resource_types": audit.audit_resource_types(),
    }
    if form.is_bound and not form.is_valid():
        return render(request, "web/audit/log.html", context, status=422)
    filters = form.filters() if form.is_bound else audit.AuditFilters()
    number = _page_number(request.GET.get("page"))
    rows = audit.audit_page(
        actor, filters=filters, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE
    )
    query = request.GET.copy()
    query.pop("page", None)
    context.update(
        events=rows[:PAGE_SIZE],
        page=number,
        has_previous=number > 1,
        has_next=len(rows) > PAGE_SIZE,
        filter_query=query.urlencode(),
    )
    return render(request, "web/audit/log.html", context)


class _Echo:
    """A file-like object whose write returns the line, so csv.writer can feed a streaming response."""

    def write(self, value: str) -> str:
        return value


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _row(event: AuditEvent) -> list[Any]:
    values = [getattr(event, name) for name in CSV_COLUMNS]
    values[0] = timezone.localtime(event.at).isoformat()
    values[CSV_COLUMNS.index("result_ids")] = " ".join(event.result_ids or [])
    return [_cell(v) for v in values]


def _csv_lines(events: Iterable[AuditEvent]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    # The byte-order mark lets spreadsheet programs read the accents as UTF-8.
    yield "\ufeff" + writer.writerow(CSV_COLUMNS)
    for event in events:
        yield writer.writerow(_row(event))


@page(Permission.AUDIT_READ)
def audit_csv(request: HttpRequest, actor: Actor) -> HttpResponseBase:
    form = AuditFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        context = {"form": form, "events": None, "resource_types": audit.audit_resource_types()}
        return render(request, "web/audit/log.html", context, status=422)
    filters = form.filters() if form.is_bound else audit.AuditFilters()
    events = audit.audit_export(actor, filters=filters)
    response = StreamingHttpResponse(_csv_lines(events), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="auditoria-{stamp}.csv"'
    return response
