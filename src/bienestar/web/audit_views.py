"""The audit log for auditors: filters (by person among them), pages of rows in the users' words,
and a streamed CSV export with the same columns."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from bienestar.access import audit_display as display
from bienestar.access import selectors as audit
from bienestar.access.actor import Actor
from bienestar.access.roles import Permission
from bienestar.core.errors import ValidationFailed
from bienestar.web.forms import AuditFilterForm
from bienestar.web.http import page

PAGE_SIZE = 50
# A cell starting with one of these is run as a formula by spreadsheet programs; the log holds text
# that users typed (search queries), so such cells are quoted with a leading apostrophe.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_columns() -> list[str]:
    return [
        _("Fecha y hora"),
        _("Usuario"),
        _("Nombre del usuario"),
        _("Rol"),
        _("Canal"),
        _("Acción"),
        _("Tipo de registro"),
        _("Identificador del registro"),
        _("Persona"),
        _("Clave de salud"),
        _("Dirección IP"),
        _("Consulta"),
        _("Resultados"),
        _("Huella (SHA-256)"),
    ]


def _page_number(raw: str | None) -> int:
    try:
        return max(1, min(int(raw or 1), 10_000))
    except ValueError:
        return 1


def _refused(request: HttpRequest, form: AuditFilterForm) -> HttpResponse:
    context = {"form": form, "events": None, "resource_types": audit.audit_resource_types()}
    return render(request, "web/audit/log.html", context, status=422)


@page(Permission.AUDIT_READ)
def audit_log(request: HttpRequest, actor: Actor) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    context: dict[str, Any] = {
        "form": form,
        "events": None,
        "resource_types": audit.audit_resource_types(),
    }
    if form.is_bound and not form.is_valid():
        return _refused(request, form)
    filters = form.filters() if form.is_bound else audit.AuditFilters()
    number = _page_number(request.GET.get("page"))
    try:
        rows, has_next = display.audit_page_rows(
            actor, filters=filters, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE
        )
    except ValidationFailed as exc:
        form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
        return _refused(request, form)
    query = request.GET.copy()
    query.pop("page", None)
    context.update(
        events=rows,
        page=number,
        has_previous=number > 1,
        has_next=has_next,
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
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _row(row: display.AuditRow) -> list[Any]:
    e = row.event
    values = [
        display.local_time(e.at),
        e.actor_username,
        row.actor_name,
        row.role_label,
        e.channel,
        e.get_action_display(),
        row.resource_label,
        e.resource_id,
        row.person.name if row.person else row.person_text,
        row.person.national_health_id if row.person else "",
        e.client_address,
        row.filters_text,
        e.result_count,
        e.digest,
    ]
    return [_cell(v) for v in values]


def _csv_lines(rows: Iterable[display.AuditRow]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    # The byte-order mark lets spreadsheet programs read the accents as UTF-8.
    yield "\ufeff" + writer.writerow(_csv_columns())
    for row in rows:
        yield writer.writerow(_row(row))


@page(Permission.AUDIT_READ)
def audit_csv(request: HttpRequest, actor: Actor) -> HttpResponseBase:
    form = AuditFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return _refused(request, form)
    filters = form.filters() if form.is_bound else audit.AuditFilters()
    try:
        rows = display.audit_export_rows(actor, filters=filters)
        first = next(rows, None)  # runs the checks (and records the export) before streaming
    except ValidationFailed as exc:
        form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
        return _refused(request, form)
    everything = rows if first is None else _chain(first, rows)
    response = StreamingHttpResponse(_csv_lines(everything), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="auditoria-{stamp}.csv"'
    return response


def _chain(first: display.AuditRow, rest: Iterator[display.AuditRow]) -> Iterator[display.AuditRow]:
    yield first
    yield from rest
