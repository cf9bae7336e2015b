"""Coordinator pages: the rollout planner (weights, phases, calendar, coverage), a sector's score
explained, and the sector map."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.access.roles import Permission
from bienestar.core.errors import DomainError
from bienestar.outreach import plan_selectors as selectors
from bienestar.outreach import planning, priority, svgmap
from bienestar.outreach.models import PriorityScheme
from bienestar.outreach.models.planning import SchemePreset
from bienestar.reference.bogota import DISTRICT_PATH
from bienestar.web.http import page

ROWS_PER_PAGE = 50


def _decimal(raw: str | None, default: Decimal) -> Decimal:
    try:
        return Decimal((raw or "").replace(",", ".")) if raw else default
    except InvalidOperation:
        raise DomainError(_("Número inválido: %(v)s") % {"v": raw}) from None


def _plan_territory(actor: Actor) -> str:
    scope = actor.scope_path or ""
    # A coordinator of Colombia or Bogotá plans Bogotá; anyone else plans inside their own scope.
    return DISTRICT_PATH if DISTRICT_PATH.startswith(scope) else scope


@page(Permission.OUTREACH_PLAN)
def planner(request: HttpRequest, actor: Actor) -> HttpResponse:
    territory_path = _plan_territory(actor)
    errors: list[str] = []
    if request.method == "POST":
        form = request.POST
        try:
            weights = {k: form.get(f"w_{k}", "0") for k in priority.INDICATOR_KEYS}
            scheme = planning.scheme_publish(
                actor,
                name=form.get("name", "") or _("Plan territorial"),
                preset=form.get("preset", ""),
                weights=weights,
                high_cutoff=_decimal(form.get("high_cutoff"), priority.DEFAULT_HIGH_CUTOFF),
                medium_cutoff=_decimal(form.get("medium_cutoff"), priority.DEFAULT_MEDIUM_CUTOFF),
            )
            plan = planning.plan_create(
                actor,
                territory_path=territory_path,
                scheme=scheme,
                teams=int(form.get("teams") or 0),
                households_per_team_week=int(form.get("capacity") or 0),
                start_date=dt.date.fromisoformat(form.get("start_date") or "")
                if form.get("start_date")
                else timezone.localdate(),
                adopt=form.get("adopt") == "on",
            )
            return redirect(reverse("outreach:plan_detail", args=[plan.public_id]))
        except (ValueError, DomainError) as exc:
            errors.append(str(getattr(exc, "message", exc)))
    latest = selectors.plan_latest(actor, territory_path=territory_path)
    shown: PriorityScheme | None = latest.scheme if latest else None
    shown_weights: dict[str, Decimal] = (
        planning.scheme_weights(shown) if shown else dict(priority.DEFAULT_WEIGHTS)
    )
    context: dict[str, Any] = {
        "territory_path": territory_path,
        "totals": selectors.sector_totals(actor, territory_path=territory_path),
        "latest": latest,
        "indicators": [
            {"key": i.key, "label": i.label, "worst": i.worst, "weight": shown_weights.get(i.key)}
            for i in priority.INDICATORS
        ],
        "presets": SchemePreset.choices,
        "preset": shown.preset if shown else SchemePreset.RURAL_HIGH_FIRST,
        "high_cutoff": shown.high_cutoff if shown else priority.DEFAULT_HIGH_CUTOFF,
        "medium_cutoff": shown.medium_cutoff if shown else priority.DEFAULT_MEDIUM_CUTOFF,
        "teams": latest.teams if latest else 60,
        "capacity": latest.households_per_team_week if latest else 250,
        "today": timezone.localdate(),
        "schemes": selectors.schemes_list(actor),
        "errors": errors,
    }
    return render(request, "outreach/planner.html", context, status=422 if errors else 200)


@page(Permission.OUTREACH_PLAN)
def plan_detail(request: HttpRequest, actor: Actor, public_id: uuid.UUID) -> HttpResponse:
    plan = selectors.plan_get(actor, public_id=public_id)
    try:
        phase = int(request.GET["fase"]) if request.GET.get("fase") else None
        page_number = max(1, int(request.GET.get("pagina") or 1))
    except ValueError:
        phase, page_number = None, 1
    rows, total = selectors.plan_rows(
        actor,
        plan=plan,
        phase=phase,
        limit=ROWS_PER_PAGE,
        offset=(page_number - 1) * ROWS_PER_PAGE,
    )
    projection = selectors.plan_projection(actor, plan=plan)
    step = max(1, len(projection) // 26)
    context = {
        "plan": plan,
        "weights": [
            {"label": i.label, "weight": planning.scheme_weights(plan.scheme).get(i.key)}
            for i in priority.INDICATORS
        ],
        "phases": selectors.plan_phases(actor, plan=plan),
        "rows": rows,
        "reasons": priority.REASONS,
        "phase": phase,
        "page": page_number,
        "has_next": page_number * ROWS_PER_PAGE < total,
        "total": total,
        "projection": projection[::step]
        + ([projection[-1]] if projection[::step][-1:] != projection[-1:] else []),
    }
    return render(request, "outreach/plan_detail.html", context)


@page(Permission.REGISTRY_READ)
def sector_detail(request: HttpRequest, actor: Actor, public_id: uuid.UUID) -> HttpResponse:
    sector = selectors.sector_get(actor, public_id=public_id)
    explanation = selectors.sector_explain(actor, sector=sector)
    shapes, viewbox = svgmap.render(
        [(sector.code, sector.name, "", f"tier-{sector.tier or 'none'}", sector.geometry)]
    )
    return render(
        request,
        "outreach/sector_detail.html",
        {"x": explanation, "sector": sector, "shapes": shapes, "viewbox": viewbox},
    )


@page(Permission.REGISTRY_READ)
def sector_map(request: HttpRequest, actor: Actor) -> HttpResponse:
    localidad = request.GET.get("localidad", "")
    colour = "coverage" if request.GET.get("color") == "cobertura" else "tier"
    qs = selectors.sectors_for_map(actor, localidad=localidad)
    if not (localidad.isdigit() and len(localidad) == 2):
        localidad = ""
    items = [
        (
            s.code,
            f"{s.code} · {s.name} · {s.get_tier_display() or '—'} · {s.get_coverage_status_display()}",
            reverse("outreach:sector_detail", args=[s.public_id]),
            f"tier-{s.tier or 'none'}" if colour == "tier" else f"cov-{s.coverage_status}",
            s.geometry,
        )
        for s in qs
    ]
    shapes, viewbox = svgmap.render(items)
    return render(
        request,
        "outreach/map.html",
        {"shapes": shapes, "viewbox": viewbox, "localidad": localidad, "colour": colour},
    )
