"""Writes made in the field: household and member characterisation, consent, visits, screenings.

Every service: checks OUTREACH_FIELD and that the household is in the worker's sectors (scope.py),
writes in one transaction with one audit row, and recomputes the household's tasks in it. Visits and
screenings take the device's UUID (`public_id`): sending the same record again returns the stored
one (idempotent retry); the same UUID with other content is a Conflict.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.access.audit import audit_record
from bienestar.access.errors import OutOfScope
from bienestar.access.models import AuditAction, User
from bienestar.access.permissions import require
from bienestar.access.roles import Permission
from bienestar.core.errors import Conflict, ValidationFailed
from bienestar.households.models import Household, HouseholdMember
from bienestar.outreach import rules, scoring
from bienestar.outreach.models import (
    ConsentStatus,
    HouseholdProfile,
    MemberProfile,
    Screening,
    ScreeningKind,
    TeamMember,
    Visit,
    VisitOutcome,
    VisitSetting,
)
from bienestar.outreach.scope import field_households
from bienestar.people.models import Person

CONSENT_TEXT_VERSION = "ley-1581-2012.v1"
MAX_CLOCK_SKEW = dt.timedelta(minutes=10)
WATER = ("piped", "well", "tanker", "river", "rain", "other")
EXCRETA = ("sewer", "septic", "latrine", "open", "other")
WASTE = ("collection", "burn", "bury", "open", "other")
FUEL = ("gas", "electricity", "wood", "coal", "other")


def _worker(actor: Actor) -> User:
    require(actor, Permission.OUTREACH_FIELD)
    assert actor.user is not None  # require() refuses anonymous callers
    return actor.user


def _household(actor: Actor, household: Household) -> Household:
    """The household locked for this write, if the worker may work on it."""
    require(actor, Permission.OUTREACH_FIELD)
    locked = (
        field_households(actor)
        .select_for_update(of=("self",))
        .select_related("territory__outreach_sector")
        .filter(pk=household.pk)
        .first()
    )
    if locked is None:
        raise OutOfScope()
    return locked


def _member(household: Household, person: Person) -> HouseholdMember:
    member = (
        HouseholdMember.objects.filter(household=household, person=person, until__isnull=True)
        .select_related("person")
        .first()
    )
    if member is None:
        raise ValidationFailed(
            _("La persona no es integrante actual de este hogar."), field="person"
        )
    return member


def _device_time(value: dt.datetime) -> dt.datetime:
    if timezone.is_naive(value):
        raise ValidationFailed(
            _("La hora del dispositivo debe llevar zona horaria."), field="device_time"
        )
    if value > timezone.now() + MAX_CLOCK_SKEW:
        raise ValidationFailed(_("La hora del dispositivo está en el futuro."), field="device_time")
    return value


def _recompute(actor: Actor, household: Household) -> None:
    rules.tasks_recompute(
        household=household, sector_id=household.territory.outreach_sector.id, by=actor.user
    )


@dataclass
class ProfileInput:
    consent: str | None = None
    ventilation_light: bool | None = None
    overcrowding: bool | None = None
    water_source: str = ""
    excreta_disposal: str = ""
    waste_disposal: str = ""
    cooking_fuel: str = ""
    family_apgar: int | None = None
    wellbeing_plan_agreed: bool | None = None
    fields_sent: set[str] = field(default_factory=set)


@transaction.atomic
def household_profile_record(
    actor: Actor, *, household: Household, data: ProfileInput
) -> HouseholdProfile:
    """Record (part of) the characterisation: only the fields sent change; empty ones stay partial.
    Consent is recorded with who and when; once refused, nothing else is recorded."""
    locked = _household(actor, household)
    for name, allowed in (
        ("water_source", WATER),
        ("excreta_disposal", EXCRETA),
        ("waste_disposal", WASTE),
        ("cooking_fuel", FUEL),
    ):
        value = getattr(data, name)
        if value and value not in allowed:
            raise ValidationFailed(_("Valor no válido."), field=name)
    if data.family_apgar is not None and not 0 <= data.family_apgar <= 20:
        raise ValidationFailed(_("El APGAR familiar va de 0 a 20."), field="family_apgar")
    if data.consent is not None and data.consent not in ConsentStatus.values:
        raise ValidationFailed(_("Consentimiento inválido."), field="consent")
    profile, _created = HouseholdProfile.objects.select_for_update().get_or_create(household=locked)
    if data.consent is not None and data.consent != profile.consent:
        profile.consent = data.consent
        profile.consent_at = timezone.now()
        profile.consent_by = actor.user
        profile.consent_text_version = CONSENT_TEXT_VERSION
    if profile.consent == ConsentStatus.REFUSED and (data.fields_sent - {"consent"}):
        raise Conflict(
            _("El hogar no dio su consentimiento: no se registran sus datos."), field="consent"
        )
    for name in data.fields_sent - {"consent"}:
        setattr(profile, name, getattr(data, name))
    profile.save()
    audit_record(
        actor,
        action=AuditAction.UPDATE,
        resource_type="Household",
        resource_id=str(locked.public_id),
        query={"characterisation": sorted(data.fields_sent)},
    )
    _recompute(actor, locked)
    return profile


def _consented(household: Household) -> None:
    consent = (
        HouseholdProfile.objects.filter(household=household)
        .values_list("consent", flat=True)
        .first()
    )
    if consent != ConsentStatus.GIVEN:
        raise Conflict(
            _("Registre primero el consentimiento del hogar (Ley 1581 de 2012)."), field="consent"
        )


@transaction.atomic
def member_profile_record(
    actor: Actor,
    *,
    household: Household,
    person: Person,
    pregnant: bool | None = None,
    last_menstrual_period: dt.date | None = None,
    antenatal_contacts: int | None = None,
    chronic_conditions: list[str] | None = None,
    disability: bool | None = None,
    vaccination_up_to_date: bool | None = None,
) -> MemberProfile:
    locked = _household(actor, household)
    _consented(locked)
    member = _member(locked, person)
    today = timezone.localdate()
    if last_menstrual_period is not None and not (
        today - dt.timedelta(days=300) <= last_menstrual_period <= today
    ):
        raise ValidationFailed(
            _("La FUM debe estar en los últimos 300 días."), field="last_menstrual_period"
        )
    if antenatal_contacts is not None and not 0 <= antenatal_contacts <= 20:
        raise ValidationFailed(_("Controles prenatales: de 0 a 20."), field="antenatal_contacts")
    profile, _created = MemberProfile.objects.select_for_update().get_or_create(
        person=member.person, defaults={"household": locked}
    )
    profile.household = locked
    profile.pregnant = pregnant
    profile.last_menstrual_period = last_menstrual_period if pregnant else None
    profile.due_date = (
        last_menstrual_period + dt.timedelta(days=280)
        if pregnant and last_menstrual_period
        else None
    )
    profile.antenatal_contacts = antenatal_contacts
    profile.chronic_conditions = sorted(
        {c.strip()[:40] for c in (chronic_conditions or []) if c.strip()}
    )
    profile.disability = disability
    profile.vaccination_up_to_date = vaccination_up_to_date
    profile.save()
    audit_record(
        actor,
        action=AuditAction.UPDATE,
        resource_type="Person",
        resource_id=str(member.person.public_id),
        person_id=member.person_id,
        query={"outreach_member_profile": True},
    )
    _recompute(actor, locked)
    return profile


def _team_of(actor: Actor, household: Household) -> int | None:
    return (
        TeamMember.objects.filter(
            user=actor.user,
            until__isnull=True,
            team__assignments__sector=household.territory.outreach_sector,
            team__assignments__until__isnull=True,
        )
        .values_list("team_id", flat=True)
        .first()
    )


@transaction.atomic
def visit_record(
    actor: Actor,
    *,
    household: Household,
    setting: str,
    outcome: str,
    device_time: dt.datetime,
    public_id: uuid.UUID | None = None,
) -> Visit:
    """Record a visit (append-only). Same UUID and content again: the stored visit, nothing new."""
    locked = _household(actor, household)
    if setting not in VisitSetting.values:
        raise ValidationFailed(_("Entorno inválido."), field="setting")
    if outcome not in VisitOutcome.values:
        raise ValidationFailed(_("Resultado inválido."), field="outcome")
    device_time = _device_time(device_time)
    if public_id is not None:
        existing = Visit.objects.filter(public_id=public_id).first()
        if existing is not None:
            if (existing.household_id, existing.setting, existing.outcome, existing.worker_id) != (
                locked.id,
                setting,
                outcome,
                actor.user.id if actor.user else None,
            ):
                raise Conflict(
                    _("Ese identificador ya se usó para otra visita."), field="public_id"
                )
            return existing
    try:
        with transaction.atomic():
            visit = Visit.objects.create(
                public_id=public_id or uuid.uuid4(),
                household=locked,
                sector=locked.territory.outreach_sector,
                team_id=_team_of(actor, locked),
                worker=_worker(actor),
                setting=setting,
                outcome=outcome,
                device_time=device_time,
                server_time=timezone.now(),
            )
    except IntegrityError:
        # The same device retried concurrently: the first insert won; answer with it.
        return Visit.objects.get(public_id=public_id or uuid.UUID(int=0))
    audit_record(
        actor,
        action=AuditAction.CREATE,
        resource_type="Visit",
        resource_id=str(visit.public_id),
        query={"household": str(locked.public_id), "outcome": outcome, "setting": setting},
    )
    _recompute(actor, locked)
    return visit


SEX = {"M": "male", "F": "female"}  # Person.sex: M hombre, F mujer


def score(kind: str, person: Person, inputs: dict[str, Any], on: dt.date) -> scoring.Result:
    """Run the instrument on the inputs (what the form or the API sent)."""
    try:
        if kind == ScreeningKind.FINDRISC:
            age = (
                on.year
                - person.birth_date.year
                - ((on.month, on.day) < (person.birth_date.month, person.birth_date.day))
            )
            return scoring.findrisc(age_years=age, sex=SEX.get(person.sex, ""), **inputs)
        if kind == ScreeningKind.BLOOD_PRESSURE:
            return scoring.blood_pressure(**inputs)
        if kind == ScreeningKind.PHQ2:
            return scoring.phq2(**inputs)
        if kind == ScreeningKind.CHILD_GROWTH:
            return scoring.child_growth(
                sex=SEX.get(person.sex, ""), birth_date=person.birth_date, measured_on=on, **inputs
            )
        if kind == ScreeningKind.PREGNANCY_DANGER:
            return scoring.pregnancy_danger_signs(**inputs)
    except scoring.ScoringError as exc:
        raise ValidationFailed(exc.message, field=exc.field) from None
    except TypeError:
        raise ValidationFailed(
            _("Faltan datos o sobran campos para este tamizaje."), field="inputs"
        ) from None
    raise ValidationFailed(_("Tamizaje desconocido."), field="kind")


def _jsonable(inputs: dict[str, Any]) -> dict[str, Any]:
    return {
        k: str(v) if not isinstance(v, bool | int | list | type(None)) else v
        for k, v in inputs.items()
    }


@transaction.atomic
def screening_record(
    actor: Actor,
    *,
    household: Household,
    person: Person,
    kind: str,
    inputs: dict[str, Any],
    device_time: dt.datetime,
    public_id: uuid.UUID | None = None,
    visit: Visit | None = None,
) -> Screening:
    """Score and store one screening (append-only) with its version and flag; the household's
    tasks are recomputed in the same transaction. Needs the household's consent."""
    locked = _household(actor, household)
    _consented(locked)
    member = _member(locked, person)
    device_time = _device_time(device_time)
    if visit is not None and visit.household_id != locked.id:
        raise ValidationFailed(_("La visita es de otro hogar."), field="visit")
    if public_id is not None:
        existing = Screening.objects.filter(public_id=public_id).first()
        if existing is not None:
            if (existing.person_id, existing.kind, existing.inputs) != (
                member.person_id,
                kind,
                _jsonable(inputs),
            ):
                raise Conflict(
                    _("Ese identificador ya se usó para otro tamizaje."), field="public_id"
                )
            return existing
    result = score(kind, member.person, inputs, timezone.localtime(device_time).date())
    screening = Screening.objects.create(
        public_id=public_id or uuid.uuid4(),
        person=member.person,
        household=locked,
        visit=visit,
        worker=_worker(actor),
        kind=kind,
        scoring_version=result.version,
        inputs=_jsonable(inputs),
        result=result.as_dict(),
        flag=result.flag,
        device_time=device_time,
        server_time=timezone.now(),
    )
    audit_record(
        actor,
        action=AuditAction.CREATE,
        resource_type="Screening",
        resource_id=str(screening.public_id),
        person_id=member.person_id,
        query={"kind": kind, "flag": result.flag},
    )
    _recompute(actor, locked)
    return screening
