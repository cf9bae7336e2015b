"""Indicator pages: the list, one page per indicator (definition, numerator and denominator, time
series, choropleth map, table by territory with drill-down nation → state → municipality → unit),
and its CSV and XLSX exports. Thin: every read goes through selectors.py (scoped to the caller)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.access.roles import Permission
from bienestar.indicators import geo
from bienestar.indicators import selectors as sel
from bienestar.indicators.dashboard import dashboard, fmt, link
from bienestar.indicators.definitions import DEFINITIONS, DIMENSION_LABELS, Definition, Scale
from bienestar.indicators.models import Level
from bienestar.web.charts import line_chart
from bienestar.web.http import page


def _area_from(request: HttpRequest, actor: Actor) -> sel.Area:
    unit = request.GET.get("unidad", "").strip()
    if unit:
        return sel.unit_area(actor, unit)
    path = request.GET.get("territorio", "").strip()
    return sel.territory_area(actor, path) if path else sel.root_area(actor)


@page(Permission.INDICATOR_READ)
def indicator_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    area = sel.root_area(actor)
    return render(
        request,
        "indicators/list.html",
        {
            "tiles": dashboard(actor),
            "area": area,
            "definitions": DEFINITIONS.values(),
            "section": "indicators",
        },
    )


def _context(request: HttpRequest, actor: Actor, code: str) -> dict[str, Any]:
    definition = sel.definition_or_404(code)
    area = _area_from(request, actor)
    today = timezone.localdate()
    months = [f for c, f in sel.series(definition, area) if c == ""]
    periods = [f.period for f in months]
    period = request.GET.get("periodo", "").strip()
    if period not in periods:
        period = sel.latest_period(definition, area, today) or ""
    figure = next((f for f in months if f.period == period), None)
    unit = "%" if definition.scale == Scale.PERCENT else _("n.º")
    rows = []
    for f in months[-24:]:
        at = dt.datetime.strptime(f.period + "-15", "%Y-%m-%d").replace(tzinfo=dt.UTC)
        value = (
            f.value * 100
            if (f.value is not None and definition.scale == Scale.PERCENT)
            else f.value
        )
        target = (
            definition.target * 100
            if (definition.target is not None and definition.scale == Scale.PERCENT)
            else definition.target
        )
        rows.append((at, [value, target]))
    chart = line_chart(
        rows,
        series=[("value", str(definition.short)), ("target", _("Meta"))],
        unit=unit,
    )
    children = sel.children(actor, definition, area, period) if period else []
    child_values = {r.area.key: (r.figure.value if r.figure else None) for r in children}
    choropleth = None
    if area.level in (Level.NATION, Level.STATE):
        choropleth = geo.choropleth(
            area.key,
            child_values,
            label=lambda v: fmt(v, definition),
            href=lambda path: link(definition.code, sel.Area(Level.STATE, path, "", path), period),
            allowed=lambda path: any(r.area.key == path for r in children),
        )
    breakdowns = []
    for dimension in definition.disaggregations:
        rows_d = sel.breakdown(definition, area, period, dimension) if period else []
        if rows_d:
            breakdowns.append(
                (
                    definition.category_label
                    if dimension == "category" and definition.category_label
                    else DIMENSION_LABELS[dimension],
                    [
                        (
                            r.extra["category"],
                            r.figure,
                            fmt(r.figure.value if r.figure else None, definition),
                        )
                        for r in rows_d
                    ],
                )
            )
    return {
        "definition": definition,
        "area": area,
        "crumbs": [(a, link(code, a, period)) for a in sel.parent_chain(actor, area)],
        "period": period,
        "periods": list(reversed(periods))[:36],
        "figure": figure,
        "value_text": fmt(figure.value if figure else None, definition),
        "target_text": fmt(definition.target, definition) if definition.target is not None else "",
        "chart": chart,
        "children": [
            (r, fmt(r.figure.value if r.figure else None, definition), link(code, r.area, period))
            for r in children
        ],
        "child_level": sel.CHILD_LEVEL.get(Level(area.level)),
        "map": choropleth,
        "breakdowns": breakdowns,
        "export_query": f"{area.url_param}&{urlencode({'periodo': period})}",
        "section": "indicators",
    }


@page(Permission.INDICATOR_READ)
def indicator_detail(request: HttpRequest, actor: Actor, code: str) -> HttpResponse:
    return render(request, "indicators/detail.html", _context(request, actor, code))


def _table(
    request: HttpRequest, actor: Actor, code: str
) -> tuple[Definition, str, list[list[Any]]]:
    context = _context(request, actor, code)
    definition, area, period = context["definition"], context["area"], context["period"]
    header = [
        _("periodo"),
        _("nivel"),
        _("clave"),
        _("nombre"),
        _("numerador"),
        _("denominador"),
        _("valor"),
    ]
    out: list[list[Any]] = [header]

    def line(a: sel.Area, f: sel.Figure | None) -> list[Any]:
        value = f.value if f else None
        return [
            period,
            str(Level(a.level).label),
            a.clues if a.level == Level.UNIT else a.key,
            a.name,
            "" if f is None or f.numerator is None else f.numerator,
            "" if f is None or f.denominator is None else f.denominator,
            "" if value is None else str(value),
        ]

    out.append(line(area, context["figure"]))
    for row, _text, _href in context["children"]:
        out.append(line(row.area, row.figure))
    return definition, period, out


@page(Permission.INDICATOR_READ)
def indicator_csv(request: HttpRequest, actor: Actor, code: str) -> HttpResponse:
    definition, period, rows = _table(request, actor, code)
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{definition.code}-{period or "sin-periodo"}.csv"'
    )
    return response


@page(Permission.INDICATOR_READ)
def indicator_xlsx(request: HttpRequest, actor: Actor, code: str) -> HttpResponse:
    from openpyxl import Workbook

    definition, period, rows = _table(request, actor, code)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = definition.code[:31]
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    response = HttpResponse(
        buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="{definition.code}-{period or "sin-periodo"}.xlsx"'
    )
    return response
