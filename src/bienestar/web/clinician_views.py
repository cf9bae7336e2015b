"""The clinician's pages: the patient chart and the new-encounter form with its diagnosis search.

Prescribing lives in `prescribe_views.py`. Views stay thin: clinical selectors read (scoped and
audited), `clinical.services.encounter_record` writes in one transaction, and `page` turns a
DomainError into the page a person expects (403, 404, log-in).
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from bienestar.access.actor import Actor
from bienestar.access.roles import Permission
from bienestar.clinical import schedule, thresholds, vitals
from bienestar.clinical.models import Encounter, EncounterStatus, Observation
from bienestar.clinical.selectors import (
    encounter_timeline,
    icd10_search,
    patient_chart,
    vitals_of,
)
from bienestar.clinical.services import encounter_record
from bienestar.core.errors import Conflict, ValidationFailed
from bienestar.prescribing import codes
from bienestar.prescribing.models import PrescriptionStatus
from bienestar.prescribing.selectors import prescriptions_for_person
from bienestar.web import clinician_selectors as sel
from bienestar.web.charts import LineChart, line_chart
from bienestar.web.clinician_forms import (
    ENCOUNTER_FIELD_MAP,
    MAX_DIAGNOSES,
    EncounterForm,
    upper_first,
)
from bienestar.web.http import is_htmx, page

TIMELINE_PAGE = 10
SERIES_POINTS = 50
PRESCRIPTIONS_SHOWN = 20
DX_RESULTS = 12

DOSE_STATUS_LABELS = {
    schedule.DoseStatus.APPLIED: pgettext_lazy("vaccine dose", "Aplicada"),
    schedule.DoseStatus.DUE: gettext_lazy("Toca aplicarla"),
    schedule.DoseStatus.OVERDUE: gettext_lazy("Atrasada"),
    schedule.DoseStatus.UPCOMING: gettext_lazy("Próxima"),
    schedule.DoseStatus.CONDITIONAL: gettext_lazy("Según condición"),
    schedule.DoseStatus.NOT_APPLICABLE: gettext_lazy("No aplica"),
    schedule.DoseStatus.NOT_RECORDED: gettext_lazy("Sin registro"),
}
ACTIONABLE_DOSES = (
    schedule.DoseStatus.DUE,
    schedule.DoseStatus.OVERDUE,
    schedule.DoseStatus.UPCOMING,
)
# The chart's vitals row, in the order a nurse reads them out (BMI included: it is computed).
VITALS_SHOWN = (
    "systolic",
    "diastolic",
    "heart_rate",
    "temperature",
    "weight",
    "height",
    "bmi",
    "waist",
    "glucose",
    "hba1c",
)


@dataclass(frozen=True)
class VitalValue:
    key: str
    label: str
    value: str
    unit: str
    at: Any = None
    flag: thresholds.Flag | None = None


def _flagged(
    rows: list[VitalValue], values: dict[str, Decimal], known: tuple[bool, bool]
) -> list[VitalValue]:
    """The rows with their abnormal-value flags (`clinical.thresholds`, the one set of cut-offs)."""
    found = thresholds.flags(values, hypertensive=known[0], diabetic=known[1])
    return [replace(row, flag=found.get(row.key)) for row in rows]


def _short_label(key: str) -> str:
    """The label of a vital in a tile or a chip, where "índice de masa corporal" does not fit."""
    if key == "bmi":
        return _("IMC")
    if key == "hba1c":
        return _("HbA1c")
    return upper_first(str(vitals.VITALS[key].label))


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _vital_values(
    values: dict[str, Decimal], known: tuple[bool, bool] = (False, False)
) -> list[VitalValue]:
    """An encounter's vitals for display; systolic and diastolic shown as one "130/85 mmHg"."""
    out = []
    if "systolic" in values and "diastolic" in values:
        out.append(
            VitalValue(
                "bp",
                _("Presión arterial"),
                f"{_number(values['systolic'])}/{_number(values['diastolic'])}",
                "mmHg",
            )
        )
    for key in VITALS_SHOWN:
        if key in ("systolic", "diastolic") or key not in values:
            continue
        spec = vitals.VITALS[key]
        out.append(VitalValue(key, _short_label(key), _number(values[key]), spec.display_unit))
    return _flagged(out, values, known)


def _latest(
    latest: dict[str, Observation], known: tuple[bool, bool] = (False, False)
) -> list[VitalValue]:
    out = []
    sys_obs, dia_obs = latest.get("systolic"), latest.get("diastolic")
    if sys_obs is not None and dia_obs is not None and sys_obs.value and dia_obs.value:
        out.append(
            VitalValue(
                "bp",
                _("Presión arterial"),
                f"{_number(sys_obs.value)}/{_number(dia_obs.value)}",
                "mmHg",
                sys_obs.effective_at,
            )
        )
    for key in VITALS_SHOWN:
        obs = latest.get(key)
        if key in ("systolic", "diastolic") or obs is None or obs.value is None:
            continue
        spec = vitals.VITALS[key]
        out.append(
            VitalValue(
                key,
                _short_label(key),
                _number(obs.value),
                spec.display_unit,
                obs.effective_at,
            )
        )
    values = {key: obs.value for key, obs in latest.items() if obs.value is not None}
    return _flagged(out, values, known)


@dataclass(frozen=True)
class EncounterRow:
    encounter: Encounter
    diagnoses: list[Any]
    vitals: list[VitalValue]
    can_prescribe: bool


def _encounter_rows(actor: Actor, encounters: list[Encounter]) -> list[EncounterRow]:
    may_prescribe = actor.can(Permission.PRESCRIBE)
    own = actor.user.facility_id if actor.user is not None else None
    return [
        EncounterRow(
            encounter=e,
            diagnoses=list(e.conditions.all()),
            vitals=_vital_values(
                vitals_of(e), thresholds.known_conditions([c.code_id for c in e.conditions.all()])
            ),
            # A prescription takes its encounter's facility; linking one to another unit's
            # encounter would count it in that unit's fill rate.
            can_prescribe=may_prescribe
            and e.facility_id == own
            and e.status != EncounterStatus.CANCELLED,
        )
        for e in encounters
    ]


def _charts(bp: list[Any], glucose: list[Any]) -> tuple[LineChart, LineChart]:
    bp_chart = line_chart(
        [(p.at, [p.value, p.value2]) for p in bp],
        series=[("systolic", _("Sistólica")), ("diastolic", _("Diastólica"))],
        unit="mmHg",
    )
    glucose_chart = line_chart(
        [(p.at, [p.value]) for p in glucose],
        series=[("glucose", _("Glucosa capilar"))],
        unit=vitals.VITALS["glucose"].display_unit,
    )
    return bp_chart, glucose_chart


def _page_number(raw: str | None) -> int:
    try:
        return max(1, min(int(raw or 1), 1000))
    except ValueError:
        return 1


def _just_recorded(raw: str | None, rows: list[EncounterRow]) -> EncounterRow | None:
    """The encounter named by ?consulta= (the one just saved), if it is on the first page."""
    try:
        wanted = uuid.UUID(raw or "")
    except ValueError:
        return None
    return next((r for r in rows if r.encounter.public_id == wanted), None)


@page(Permission.CLINICAL_READ)
def patient_chart_page(request: HttpRequest, actor: Actor, public_id: uuid.UUID) -> HttpResponse:
    chart = patient_chart(
        actor, person=public_id, encounters_limit=TIMELINE_PAGE, series_limit=SERIES_POINTS
    )
    person = chart.person
    prescriptions = (
        prescriptions_for_person(actor, person=person, limit=PRESCRIPTIONS_SHOWN)
        if actor.can(Permission.PRESCRIPTION_READ)
        else None
    )
    rows = _encounter_rows(actor, chart.encounters.items)
    bp_chart, glucose_chart = _charts(chart.bp_series, chart.glucose_series)
    known = thresholds.known_conditions([c.code_id for c in chart.problems])
    today = timezone.localdate()
    statuses = dict(PrescriptionStatus.choices)
    shown = [d for d in chart.schedule if d.status != schedule.DoseStatus.NOT_APPLICABLE]
    doses = [{"dose": d, "label": DOSE_STATUS_LABELS.get(d.status, d.status)} for d in shown]
    tally = Counter(d.status for d in shown)
    dose_counts = [
        {"status": status, "label": label, "count": tally[status]}
        for status, label in DOSE_STATUS_LABELS.items()
        if tally[status]
    ]
    context: dict[str, Any] = {
        "section": "people",
        "person": person,
        "chart": chart,
        "timeline": rows,
        "timeline_page": 1,
        "timeline_has_more": chart.encounters.has_more,
        "just_recorded": _just_recorded(request.GET.get("consulta"), rows),
        "latest": _latest(chart.latest_vitals, known),
        "bp_chart": bp_chart,
        "glucose_chart": glucose_chart,
        "bp_points": list(reversed(chart.bp_series)),
        "glucose_points": list(reversed(chart.glucose_series)),
        "prescriptions": [
            {
                "rx": rx,
                "code": codes.display(rx.code),
                "status": rx.status_on(today),
                "status_label": statuses.get(rx.status_on(today), rx.status),
                "lines": list(rx.lines.all()),
            }
            for rx in prescriptions or []
        ],
        "can_read_prescriptions": prescriptions is not None,
        "doses": doses,
        "dose_counts": dose_counts,
        # Open when something is to be done; an adult's childhood schedule stays folded.
        "schedule_open": any(tally[s] for s in ACTIONABLE_DOSES),
        "can_write": actor.can(Permission.CLINICAL_WRITE),
        "can_prescribe": actor.can(Permission.PRESCRIBE),
    }
    return render(request, "web/clinician/chart.html", context)


@page(Permission.CLINICAL_READ)
def patient_encounters(request: HttpRequest, actor: Actor, public_id: uuid.UUID) -> HttpResponse:
    """One page of the timeline: a fragment for htmx's "older encounters", a page otherwise."""
    number = _page_number(request.GET.get("pagina"))
    found = encounter_timeline(
        actor, person=public_id, limit=TIMELINE_PAGE, offset=(number - 1) * TIMELINE_PAGE
    )
    rows = _encounter_rows(actor, found.items)
    person = found.items[0].person if found.items else None
    context: dict[str, Any] = {
        "section": "people",
        "person_public_id": public_id,
        "person": person,
        "timeline": rows,
        "timeline_page": number,
        "timeline_has_more": found.has_more,
        "first_index": (number - 1) * TIMELINE_PAGE + 1,
    }
    if is_htmx(request):
        return render(request, "web/clinician/_timeline.html", context)
    return render(request, "web/clinician/encounters.html", context)


# --- New encounter ---------------------------------------------------------------------------------


def _dx_context(
    *,
    selected: list[Any],
    text: str = "",
    errors: list[str] | None = None,
    results: list[Any] | None = None,
    autofocus: bool = False,
) -> dict[str, Any]:
    return {
        "dx_selected": selected,
        "dx_picked": {row.code for row in selected},
        "dx_text": text,
        "dx_errors": errors or [],
        "dx_results": results,
        "dx_autofocus": autofocus,
        "dx_max": MAX_DIAGNOSES,
    }


def _dx_results(actor: Actor, text: str) -> list[Any] | None:
    """Search results for a text that is not a list of codes; None when there is nothing to search."""
    text = " ".join(text.split())[:100]
    if len(text) < 2:
        return None
    try:
        return icd10_search(actor, text=text, limit=DX_RESULTS).items
    except ValidationFailed:
        return None


@page(Permission.CLINICAL_WRITE)
def encounter_new(request: HttpRequest, actor: Actor, public_id: uuid.UUID) -> HttpResponse:
    person = sel.patient_for_form(actor, public_id=public_id, permission=Permission.CLINICAL_WRITE)
    status = 200
    if request.method == "POST":
        form = EncounterForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                now = timezone.now()
                encounter = encounter_record(
                    actor,
                    person=person,
                    encounter_class=data["encounter_class"],
                    reason_text=data["reason_text"],
                    diagnoses=data["diagnoses"],
                    vitals=data["vitals"],
                    start=now,
                    end=now,
                )
            except (ValidationFailed, Conflict) as exc:
                form.add_error(ENCOUNTER_FIELD_MAP.get(exc.field or ""), str(exc.message))
            else:
                messages.success(request, _("Consulta guardada en el expediente."))
                chart = reverse("patient_chart", args=[person.public_id])
                return redirect(f"{chart}?consulta={encounter.public_id}")
        status = 422
    else:
        form = EncounterForm()
    text = (form.data.get("diagnosis_text") or "").strip() if form.is_bound else ""
    dx_errors = [str(e) for e in form.errors.get("diagnosis_text", [])]
    context: dict[str, Any] = {
        "section": "people",
        "person": person,
        "form": form,
        "vital_rows": form.vital_rows(),
        "no_facility": actor.user is not None and actor.user.facility_id is None,
        **_dx_context(
            selected=form.selection(),
            text=text,
            errors=dx_errors,
            # After a refusal, the words typed are searched here too, so the codes are at hand
            # even in a browser without JavaScript.
            results=_dx_results(actor, text) if dx_errors and text else None,
        ),
    }
    return render(request, "web/clinician/encounter_form.html", context, status=status)


@page(Permission.CLINICAL_WRITE)
def diagnosis_search(request: HttpRequest, actor: Actor) -> HttpResponse:
    """CIE-10 search as you type (htmx fragment): code + Spanish description, each a button to pick."""
    text = " ".join(request.GET.get("diagnosis_text", "").split())[:100]
    picked = {c.strip().upper() for c in request.GET.getlist("diagnoses")}
    results = _dx_results(actor, text)
    return render(
        request,
        "web/clinician/_dx_results.html",
        {"dx_results": results, "dx_text": text, "dx_picked": picked},
    )


@page(Permission.CLINICAL_WRITE)
def diagnosis_pick(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The diagnosis box again with one more code picked (htmx swaps the whole box)."""
    wanted = [c for c in request.GET.getlist("diagnoses") if c.strip()]
    added = request.GET.get("add", "").strip()
    if added:
        wanted.append(added)
    found = sel.icd10_lookup(wanted)
    selected: list[Any] = []
    for code in wanted:
        row = found.get(code.strip().upper())
        if row is not None and row not in selected:
            selected.append(row)
    errors = []
    if len(selected) > MAX_DIAGNOSES:
        selected = selected[:MAX_DIAGNOSES]
        errors.append(_("Registre como máximo %(n)d diagnósticos.") % {"n": MAX_DIAGNOSES})
    return render(
        request,
        "web/clinician/_dx_widget.html",
        _dx_context(selected=selected, errors=errors, autofocus=True),
    )
