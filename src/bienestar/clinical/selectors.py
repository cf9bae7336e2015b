"""Reads of the clinical record: scoped to the person's territory, audited, free of N+1 queries.

Each public selector checks CLINICAL_READ and that the person is visible (else the 404 of a missing
record), and writes one audit row naming what it disclosed. `patient_chart` gathers every piece the
chart page shows under a single audit row. A survivor's record includes the records of the persons
merged into it (the master patient index keeps them under their original ids).

Persons and encounters may be passed as model instances or as their opaque public ids.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import (
    Case,
    Count,
    F,
    FloatField,
    Func,
    IntegerField,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.access.audit import audit_record
from bienestar.access.errors import Forbidden, NotAuthenticated, OutOfScope
from bienestar.access.models import AuditAction
from bienestar.access.permissions import require
from bienestar.access.roles import Permission
from bienestar.clinical import schedule, vitals
from bienestar.clinical.models import (
    AllergyIntolerance,
    AllergyStatus,
    Condition,
    ConditionClinicalStatus,
    ConditionVerification,
    Encounter,
    EncounterStatus,
    Immunization,
    ImmunizationStatus,
    Observation,
    ObservationStatus,
)
from bienestar.clinical.scope import (
    EncounterRef,
    PersonRef,
    of_person_family,
    parse_uuid,
    visible_person,
)
from bienestar.core.errors import ValidationFailed
from bienestar.people.models import Person
from bienestar.people.selectors import persons_visible_to
from bienestar.terminology.models import Icd10Code, VaccineScheduleEntry
from bienestar.terminology.synonyms import icd10_synonyms

LIST_LIMIT_MAX = 100
SERIES_LIMIT_MAX = 500


def _check_page(limit: int, offset: int, maximum: int = LIST_LIMIT_MAX) -> None:
    if not 1 <= limit <= maximum or offset < 0:
        raise ValidationFailed(
            _("Use un límite de 1 a %(max)s y un desplazamiento no negativo.") % {"max": maximum},
            field="limit",
        )


def _reader(actor: Actor, person: PersonRef) -> Person:
    return visible_person(actor, person, permission=Permission.CLINICAL_READ)


def _audit_read(
    actor: Actor,
    person: Person,
    resource_type: str,
    *,
    view: str,
    rows: list[Any],
    action: str = AuditAction.READ,
    query: dict[str, Any] | None = None,
) -> None:
    audit_record(
        actor,
        action=action,
        resource_type=resource_type,
        resource_id=str(person.public_id),
        person_id=person.pk,
        query={"view": view, **(query or {})},
        result_ids=[str(r.public_id) for r in rows],
    )


# --- diagnosis search (CIE-10; not personal data) ---------------------------------------------------

_CODE_RE = re.compile(r"^[A-Za-z][0-9][0-9A-Za-z]?\.?[0-9A-Za-z]{0,2}$")
_WORD_RE = re.compile(r"[a-z0-9]+")
TYPO_THRESHOLD = 0.5


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


class _WordSimilarity(Func):
    function = "word_similarity"
    output_field = FloatField()


@dataclass(frozen=True)
class Icd10Page:
    items: list[Icd10Code]
    count: int
    limit: int
    offset: int


FREQUENT_AT_UNIT = 20


def _frequent_at_unit(actor: Actor) -> list[str]:
    """The CIE-10 codes diagnosed most often at the actor's own unit, most frequent first."""
    facility_id = actor.user.facility_id if actor.user is not None else None
    if facility_id is None:
        return []
    return list(
        Condition.objects.filter(facility_id=facility_id)
        .values("code_id")
        .annotate(n=Count("id"))
        .order_by("-n", "code_id")
        .values_list("code_id", flat=True)[:FREQUENT_AT_UNIT]
    )


def _position(codes: list[str], missing: int) -> Case:
    """0 for the first code of `codes`, 1 for the second…; `missing` for any other."""
    return Case(
        *[When(code=code, then=Value(i)) for i, code in enumerate(codes)],
        default=Value(missing),
        output_field=IntegerField(),
    )


def icd10_search(actor: Actor, *, text: str, limit: int = 20, offset: int = 0) -> Icd10Page:
    """CIE-10 codes by code prefix ("E11", "e11.9", "E119") or by words, accent- and case-insensitive
    and prefix-friendly ("hipertension", "diab tipo 2"); every word must appear. A word that is an
    abbreviation of the synonym table (`terminology.synonyms`: "DM2", "HAS", "EPOC"…) stands for
    its codes and their subcategories. Ranked: the unit's most frequent diagnoses, then the
    abbreviation's codes in the table's order, then descriptions that start with the first word,
    categories before subcategories, the "without complication"/unspecified subcategory (.9) before
    the others, then closeness; when no code contains every word, falls back to trigram similarity
    so that a typo still finds something. Any role that records or prescribes may search (the
    codes are not personal data; not audited)."""
    if not actor.is_authenticated:
        raise NotAuthenticated()
    if not (actor.can(Permission.CLINICAL_READ) or actor.can(Permission.PRESCRIBE)):
        raise Forbidden()
    _check_page(limit, offset)
    raw = " ".join((text or "").split())
    if len(raw) < 2:
        raise ValidationFailed(_("Escriba al menos 2 caracteres para buscar."), field="q")
    base = Icd10Code.objects.all()
    synonyms = icd10_synonyms()
    if _CODE_RE.match(raw) and _plain(raw) not in synonyms:
        qs = base.filter(code_nodot__startswith=raw.upper().replace(".", "")).order_by("code")
        total = qs.count()
        if total:
            return Icd10Page(list(qs[offset : offset + limit]), total, limit, offset)
    plain = _plain(raw)
    words = _WORD_RE.findall(plain)
    if not words:
        return Icd10Page([], 0, limit, offset)
    preferred: list[str] = []
    words_q = Q()
    for word in words:
        if word in synonyms:
            codes = list(synonyms[word])
            preferred += codes
            family = Q(code__in=codes)
            for code in codes:
                family |= Q(code_nodot__startswith=code.replace(".", "")[:3])
            words_q &= family
            continue
        words_q &= Q(search_text__contains=word)
        if word.isdigit():
            # "diabetes tipo 2": the 2 must be a word of the description, not a digit of "E10.2".
            words_q &= Q(description_plain__regex=rf"\m{word}\M")
    text_words = [w for w in words if w not in synonyms]
    query = " ".join(text_words or words)
    ranked = base.annotate(
        description_plain=Func(Lower("description_es"), function="bienestar_unaccent"),
        score=_WordSimilarity(Value(query), F("search_text")),
        frequent=_position(_frequent_at_unit(actor), FREQUENT_AT_UNIT),
        synonym=_position(preferred, len(preferred)),
        unspecified=Case(
            When(code__endswith=".9", then=Value(0)), default=Value(1), output_field=IntegerField()
        ),
    ).annotate(
        starts=Case(
            When(description_plain__startswith=(text_words or words)[0], then=Value(1)),
            default=Value(0),
            output_field=IntegerField(),
        )
    )
    qs = ranked.filter(words_q).order_by(
        "frequent", "synonym", "-starts", "level", "unspecified", "-score", "code"
    )
    total = qs.count()
    if total == 0 and len(query) >= 4:
        qs = ranked.extra(
            where=["%s <%% terminology_icd10code.search_text"], params=[query]
        ).order_by("frequent", "-score", "level", "code")
        total = qs.count()
    return Icd10Page(list(qs[offset : offset + limit]), total, limit, offset)


# --- encounters -----------------------------------------------------------------------------------


def _encounters(person: Person) -> QuerySet[Encounter]:
    return (
        Encounter.objects.filter(of_person_family(person))
        .exclude(status=EncounterStatus.ENTERED_IN_ERROR)
        .select_related("person", "facility", "practitioner", "reason_code")
        .prefetch_related(
            Prefetch(
                "conditions",
                queryset=Condition.objects.select_related("code").order_by("rank", "id"),
            ),
            Prefetch(
                "observations",
                queryset=Observation.objects.filter(status=ObservationStatus.FINAL).order_by("id"),
            ),
        )
        .order_by("-start", "-id")
    )


def vitals_of(encounter: Encounter) -> dict[str, Decimal]:
    """The vital signs of an encounter read by these selectors, by key of vitals.VITALS
    (uses the prefetched observations: no query)."""
    out: dict[str, Decimal] = {}
    for obs in encounter.observations.all():
        spec = vitals.BY_CODE.get(obs.code)
        if spec is not None and obs.value is not None and obs.status == ObservationStatus.FINAL:
            out[spec.key] = obs.value
    return out


@dataclass(frozen=True)
class EncounterPage:
    items: list[Encounter]
    limit: int
    offset: int
    has_more: bool


def _timeline(person: Person, limit: int, offset: int) -> EncounterPage:
    rows = list(_encounters(person)[offset : offset + limit + 1])
    return EncounterPage(rows[:limit], limit, offset, len(rows) > limit)


def encounter_timeline(
    actor: Actor, *, person: PersonRef, limit: int = 20, offset: int = 0
) -> EncounterPage:
    """A person's encounters, newest first, each with its diagnoses (`encounter.conditions.all()`)
    and vitals (`vitals_of(encounter)`) already loaded. Five queries whatever the page size."""
    _check_page(limit, offset)
    target = _reader(actor, person)
    page = _timeline(target, limit, offset)
    _audit_read(
        actor,
        target,
        "Encounter",
        view="timeline",
        rows=page.items,
        action=AuditAction.SEARCH,
        query={"limit": limit, "offset": offset},
    )
    return page


def encounter_get(actor: Actor, *, encounter: EncounterRef) -> Encounter:
    """One encounter with its diagnoses and vitals loaded. Outside the territory → 404."""
    require(actor, Permission.CLINICAL_READ)
    public_id = encounter.public_id if isinstance(encounter, Encounter) else parse_uuid(encounter)
    if public_id is None:
        raise OutOfScope()
    found = (
        _encounters_any()
        .filter(public_id=public_id, person__in=persons_visible_to(actor))
        .select_related("person")
        .first()
    )
    if found is None:
        raise OutOfScope()
    audit_record(
        actor,
        action=AuditAction.READ,
        resource_type="Encounter",
        resource_id=str(found.public_id),
        person_id=found.person_id,
    )
    return found


def encounter_written(encounter: Encounter) -> Encounter:
    """The encounter a service just wrote, reloaded with what `encounter_get` loads. Not audited:
    only for answering the write that the service already audited."""
    return _encounters_any().select_related("person").get(pk=encounter.pk)


def _encounters_any() -> QuerySet[Encounter]:
    return Encounter.objects.select_related(
        "facility", "practitioner", "reason_code"
    ).prefetch_related(
        Prefetch(
            "conditions", queryset=Condition.objects.select_related("code").order_by("rank", "id")
        ),
        Prefetch("observations", queryset=Observation.objects.order_by("id")),
    )


# --- problem list ---------------------------------------------------------------------------------


def _problems(person: Person) -> list[Condition]:
    rows = list(
        Condition.objects.filter(
            of_person_family(person), clinical_status=ConditionClinicalStatus.ACTIVE
        )
        .exclude(verification_status=ConditionVerification.ENTERED_IN_ERROR)
        .select_related("code", "facility", "person", "encounter")
        .order_by("code_id", "-recorded_at", "-id")
        .distinct("code_id")
    )
    # Newest first; within one encounter, the principal diagnosis first.
    rows.sort(key=lambda c: (-c.recorded_at.timestamp(), c.rank or 999, c.code_id))
    return rows


def problem_list(actor: Actor, *, person: PersonRef) -> list[Condition]:
    """The active problem list: the latest active condition per CIE-10 code, newest first (within
    one encounter, by rank)."""
    target = _reader(actor, person)
    rows = _problems(target)
    _audit_read(actor, target, "Condition", view="problem_list", rows=rows)
    return rows


# --- vitals ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VitalPoint:
    """One point of a series. For blood pressure `value` is the systolic, `value2` the diastolic."""

    at: dt.datetime
    value: Decimal
    value2: Decimal | None = None
    unit: str = ""
    public_id: Any = None


def _series(
    person: Person, key: str, limit: int, since: dt.datetime | None
) -> tuple[list[VitalPoint], list[Observation]]:
    if key not in vitals.SERIES_KEYS:
        raise ValidationFailed(
            _("Serie desconocida: %(key)s. Use una de: %(keys)s.")
            % {"key": key, "keys": ", ".join(vitals.SERIES_KEYS)},
            field="key",
        )
    qs = Observation.objects.filter(of_person_family(person), status=ObservationStatus.FINAL)
    if since is not None:
        qs = qs.filter(effective_at__gte=since)
    if key != "bp":
        spec = vitals.VITALS[key]
        rows = list(qs.filter(code=spec.code).order_by("-effective_at", "-id")[:limit])
        rows.reverse()
        return [
            VitalPoint(o.effective_at, o.value, None, spec.unit, o.public_id)
            for o in rows
            if o.value is not None
        ], rows
    panels = list(qs.filter(code=vitals.BP_PANEL).order_by("-effective_at", "-id")[:limit])
    parts: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for o in Observation.objects.filter(panel__in=[p.id for p in panels]).only(
        "panel_id", "code", "value"
    ):
        if o.value is not None and o.panel_id is not None:
            parts[o.panel_id][o.code] = o.value
    points = []
    for panel in reversed(panels):
        sys_v = parts[panel.id].get(vitals.VITALS["systolic"].code)
        dia_v = parts[panel.id].get(vitals.VITALS["diastolic"].code)
        if sys_v is not None:
            points.append(VitalPoint(panel.effective_at, sys_v, dia_v, "mm[Hg]", panel.public_id))
    return points, list(reversed(panels))


def vitals_series(
    actor: Actor, *, person: PersonRef, key: str, limit: int = 100, since: dt.datetime | None = None
) -> list[VitalPoint]:
    """The latest `limit` values of one vital (`key` from vitals.SERIES_KEYS; "bp" gives
    systolic/diastolic pairs), oldest first, ready for a chart."""
    _check_page(limit, 0, SERIES_LIMIT_MAX)
    target = _reader(actor, person)
    points, rows = _series(target, key, limit, since)
    _audit_read(
        actor, target, "Observation", view="series", rows=rows, query={"key": key, "limit": limit}
    )
    return points


def _latest(person: Person) -> dict[str, Observation]:
    rows = (
        Observation.objects.filter(
            of_person_family(person), status=ObservationStatus.FINAL, value__isnull=False
        )
        .filter(code__in=list(vitals.BY_CODE))
        .order_by("code", "-effective_at", "-id")
        .distinct("code")
    )
    return {vitals.BY_CODE[o.code].key: o for o in rows}


def latest_vitals(actor: Actor, *, person: PersonRef) -> dict[str, Observation]:
    """The most recent value of each vital sign, by key of vitals.VITALS."""
    target = _reader(actor, person)
    latest = _latest(target)
    _audit_read(actor, target, "Observation", view="latest", rows=list(latest.values()))
    return latest


# --- allergies and immunizations ------------------------------------------------------------------


def _allergies(person: Person, include_inactive: bool) -> list[AllergyIntolerance]:
    qs = AllergyIntolerance.objects.filter(of_person_family(person)).select_related("medicine")
    if include_inactive:
        qs = qs.exclude(status=AllergyStatus.ENTERED_IN_ERROR)
    else:
        qs = qs.filter(status=AllergyStatus.ACTIVE)
    return list(qs.order_by("-recorded_at", "-id"))


def allergy_list(
    actor: Actor, *, person: PersonRef, include_inactive: bool = False
) -> list[AllergyIntolerance]:
    """A person's allergies and intolerances (active only, unless `include_inactive`)."""
    target = _reader(actor, person)
    rows = _allergies(target, include_inactive)
    _audit_read(actor, target, "AllergyIntolerance", view="list", rows=rows)
    return rows


def _immunizations(person: Person) -> list[Immunization]:
    return list(
        Immunization.objects.filter(of_person_family(person), status=ImmunizationStatus.COMPLETED)
        .select_related("facility", "schedule_entry")
        .order_by("-occurrence_date", "-id")
    )


def _schedule(
    person: Person, immunizations: list[Immunization], today: dt.date
) -> list[schedule.ScheduledDose]:
    entries = list(
        VaccineScheduleEntry.objects.filter(
            country=schedule.country_of(person.territory.path)
        ).order_by("age_months", "id")
    )
    return schedule.schedule_status(entries, immunizations, birth=person.birth_date, today=today)


def immunization_list(actor: Actor, *, person: PersonRef) -> list[Immunization]:
    """The doses applied to a person, newest first, each with its `schedule_fit` flag."""
    target = _reader(actor, person)
    rows = _immunizations(target)
    _audit_read(actor, target, "Immunization", view="list", rows=rows)
    return rows


def immunization_schedule(
    actor: Actor, *, person: PersonRef, today: dt.date | None = None
) -> list[schedule.ScheduledDose]:
    """Every dose of the national schedule with its status for this person (see schedule.py:
    applied, due, overdue, upcoming, conditional, not_applicable, not_recorded) and its due date."""
    target = _reader(actor, person)
    rows = _immunizations(target)
    doses = _schedule(target, rows, today or timezone.localdate())
    _audit_read(actor, target, "Immunization", view="schedule", rows=rows)
    return doses


# --- the whole chart ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PatientChart:
    person: Person
    encounters: EncounterPage
    problems: list[Condition]
    latest_vitals: dict[str, Observation]
    bp_series: list[VitalPoint]
    glucose_series: list[VitalPoint]
    allergies: list[AllergyIntolerance]
    immunizations: list[Immunization]
    schedule: list[schedule.ScheduledDose]
    overdue_count: int = field(default=0)


def patient_chart(
    actor: Actor,
    *,
    person: PersonRef,
    encounters_limit: int = 10,
    series_limit: int = 50,
    today: dt.date | None = None,
) -> PatientChart:
    """Everything the chart page shows, in a fixed number of queries, under ONE audit row (the
    clinician opened this person's chart). Prescriptions are not here: prescribing sits above
    clinical and offers its own selector."""
    _check_page(encounters_limit, 0)
    _check_page(series_limit, 0, SERIES_LIMIT_MAX)
    target = _reader(actor, person)
    immunizations = _immunizations(target)
    doses = _schedule(target, immunizations, today or timezone.localdate())
    chart = PatientChart(
        person=target,
        encounters=_timeline(target, encounters_limit, 0),
        problems=_problems(target),
        latest_vitals=_latest(target),
        bp_series=_series(target, "bp", series_limit, None)[0],
        glucose_series=_series(target, "glucose", series_limit, None)[0],
        allergies=_allergies(target, False),
        immunizations=immunizations,
        schedule=doses,
        overdue_count=sum(1 for d in doses if d.status == schedule.DoseStatus.OVERDUE),
    )
    audit_record(
        actor,
        action=AuditAction.READ,
        resource_type="ClinicalChart",
        resource_id=str(target.public_id),
        person_id=target.pk,
        query={"encounters_limit": encounters_limit, "series_limit": series_limit},
    )
    return chart


# --- scoped querysets, for searches across persons (the FHIR API) ----------------------------------


def _visible_rows(actor: Actor, model: Any) -> QuerySet[Any]:
    """Every row of `model` whose person the actor may see (CLINICAL_READ, person scope). Not
    audited by itself: the caller audits each row it discloses."""
    require(actor, Permission.CLINICAL_READ)
    return model.objects.filter(person__in=persons_visible_to(actor))


def encounters_visible_to(actor: Actor) -> QuerySet[Encounter]:
    return _visible_rows(actor, Encounter)


def conditions_visible_to(actor: Actor) -> QuerySet[Condition]:
    return _visible_rows(actor, Condition)


def observations_visible_to(actor: Actor) -> QuerySet[Observation]:
    return _visible_rows(actor, Observation)


def allergies_visible_to(actor: Actor) -> QuerySet[AllergyIntolerance]:
    return _visible_rows(actor, AllergyIntolerance)


def immunizations_visible_to(actor: Actor) -> QuerySet[Immunization]:
    return _visible_rows(actor, Immunization)
