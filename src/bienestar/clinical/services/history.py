"""Allergies and immunizations."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.access.errors import OutOfScope
from bienestar.access.models import AuditAction
from bienestar.access.permissions import require
from bienestar.access.roles import Permission
from bienestar.clinical import schedule
from bienestar.clinical.models import (
    AllergyCategory,
    AllergyCriticality,
    AllergyIntolerance,
    AllergyStatus,
    AllergyType,
    Immunization,
    ImmunizationStatus,
)
from bienestar.clinical.scope import (
    EncounterRef,
    FacilityRef,
    PersonRef,
    parse_uuid,
    writable_person,
)
from bienestar.clinical.services.common import (
    audit,
    check_day,
    choice,
    encounter_context,
)
from bienestar.core.errors import Conflict, ValidationFailed
from bienestar.people.models import Person
from bienestar.terminology.models import Medicine, VaccineScheduleEntry

# --- allergies ------------------------------------------------------------------------------------


@transaction.atomic
def allergy_add(
    actor: Actor,
    *,
    person: PersonRef | None = None,
    category: str,
    substance: str = "",
    medicine_key: str | None = None,
    allergy_type: str = AllergyType.ALLERGY,
    criticality: str = AllergyCriticality.UNABLE_TO_ASSESS,
    reaction: str = "",
    onset_date: dt.date | None = None,
    encounter: EncounterRef | None = None,
    facility: FacilityRef | None = None,
) -> AllergyIntolerance:
    """Record an allergy or intolerance to a catalogue medicine (`medicine_key`) or a substance.
    The same active substance twice is a Conflict. Locks the person row to make that check safe."""
    target, found_encounter, place = encounter_context(actor, person, encounter, facility)
    choice(category, AllergyCategory, "category")
    choice(allergy_type, AllergyType, "allergy_type")
    choice(criticality, AllergyCriticality, "criticality")
    check_day(target, onset_date, "onset_date")
    substance = " ".join((substance or "").split())
    medicine = None
    if medicine_key:
        medicine = Medicine.objects.filter(key=medicine_key.strip()).first()
        if medicine is None:
            raise ValidationFailed(
                _("Clave del catálogo desconocida: %(key)s.") % {"key": medicine_key},
                field="medicine_key",
            )
    if medicine is None and not substance:
        raise ValidationFailed(
            _("Indique la sustancia o la clave del medicamento."), field="substance"
        )
    Person.objects.select_for_update().filter(pk=target.pk).first()
    active = AllergyIntolerance.objects.filter(person=target, status=AllergyStatus.ACTIVE)
    duplicate = (
        active.filter(medicine=medicine).exists()
        if medicine is not None
        else any(
            schedule.normalize(s) == schedule.normalize(substance)
            for s in active.filter(medicine__isnull=True).values_list("substance", flat=True)
        )
    )
    if duplicate:
        raise Conflict(_("Esa alergia ya está registrada y activa."), field="substance")
    assert actor.user is not None
    allergy = AllergyIntolerance.objects.create(
        person=target,
        facility=place,
        encounter=found_encounter,
        medicine=medicine,
        substance=substance or (medicine.generic_name[:200] if medicine else ""),
        allergy_type=allergy_type,
        category=category,
        criticality=criticality,
        reaction=(reaction or "").strip(),
        onset_date=onset_date,
        recorded_at=timezone.now(),
        recorded_by=actor.user,
    )
    audit(actor, AuditAction.CREATE, "AllergyIntolerance", allergy, target)
    return allergy


@transaction.atomic
def allergy_set_status(
    actor: Actor, *, allergy: AllergyIntolerance | Any, status: str
) -> AllergyIntolerance:
    """Inactivate, resolve or mark as entered in error an allergy. Audited."""
    require(actor, Permission.CLINICAL_WRITE)
    choice(status, AllergyStatus, "status")
    public_id = (
        allergy.public_id if isinstance(allergy, AllergyIntolerance) else parse_uuid(allergy)
    )
    found = AllergyIntolerance.objects.filter(public_id=public_id).first() if public_id else None
    if found is None:
        raise OutOfScope()
    target = writable_person(actor, Person(pk=found.person_id))
    found.status = status
    found.save(update_fields=["status", "updated_at"])
    audit(actor, AuditAction.UPDATE, "AllergyIntolerance", found, target, query={"status": status})
    return found


# --- immunizations --------------------------------------------------------------------------------

ANNUAL_MIN_INTERVAL = dt.timedelta(days=180)


@transaction.atomic
def immunization_record(
    actor: Actor,
    *,
    person: PersonRef | None = None,
    vaccine: str,
    dose: str,
    occurrence_date: dt.date,
    lot: str = "",
    primary_source: bool = True,
    encounter: EncounterRef | None = None,
    facility: FacilityRef | None = None,
) -> Immunization:
    """Record a vaccine dose and how it fits the national schedule (`schedule_fit`: on schedule,
    early, late, not in the schedule — a flag, never a refusal). Refused: a date in the future or
    before birth, and the same dose twice (an annual dose twice within 180 days). Locks the person
    row so two concurrent recordings of one dose cannot both pass; a unique index backs it."""
    target, found_encounter, place = encounter_context(actor, person, encounter, facility)
    if not (vaccine or "").strip():
        raise ValidationFailed(_("Indique la vacuna."), field="vaccine")
    if not (dose or "").strip():
        raise ValidationFailed(_("Indique la dosis."), field="dose")
    if occurrence_date > timezone.localdate():
        raise ValidationFailed(
            _("La fecha de aplicación no puede ser futura."), field="occurrence_date"
        )
    if occurrence_date < target.birth_date:
        raise ValidationFailed(
            _("La fecha de aplicación es anterior al nacimiento de la persona."),
            field="occurrence_date",
        )
    entries = list(
        VaccineScheduleEntry.objects.filter(country=schedule.country_of(target.territory.path))
    )
    name = schedule.canonical_vaccine(vaccine, entries)[:120]
    entry = schedule.matching_entry(entries, vaccine=name, dose=dose, birth=target.birth_date)
    dose_label = entry.dose if entry is not None else schedule.canonical_dose(dose)[:40]
    Person.objects.select_for_update().filter(pk=target.pk).first()
    same = Immunization.objects.filter(
        person=target, vaccine=name, dose=dose_label, status=ImmunizationStatus.COMPLETED
    )
    if schedule.canonical_dose(dose_label) == schedule.ANNUAL:
        same = same.filter(
            occurrence_date__gt=occurrence_date - ANNUAL_MIN_INTERVAL,
            occurrence_date__lt=occurrence_date + ANNUAL_MIN_INTERVAL,
        )
    if same.exists():
        raise Conflict(
            _("La dosis %(dose)s de %(vaccine)s ya está registrada.")
            % {"dose": dose_label, "vaccine": name},
            field="dose",
        )
    assert actor.user is not None
    try:
        with transaction.atomic():
            immunization = Immunization.objects.create(
                person=target,
                facility=place,
                encounter=found_encounter,
                schedule_entry=entry,
                vaccine=name,
                dose=dose_label,
                lot=(lot or "").strip()[:40],
                occurrence_date=occurrence_date,
                primary_source=primary_source,
                schedule_fit=schedule.fit(entry, birth=target.birth_date, on=occurrence_date),
                recorded_at=timezone.now(),
                recorded_by=actor.user,
            )
    except IntegrityError as exc:
        raise Conflict(_("Esa dosis ya está registrada."), field="dose") from exc
    audit(
        actor,
        AuditAction.CREATE,
        "Immunization",
        immunization,
        target,
        query={"vaccine": name, "dose": dose_label, "schedule_fit": immunization.schedule_fit},
    )
    return immunization
