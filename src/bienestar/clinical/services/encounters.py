"""Encounters, their diagnoses (CIE-10) and vital signs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.access.errors import OutOfScope
from bienestar.access.models import AuditAction
from bienestar.access.permissions import require
from bienestar.access.roles import Permission
from bienestar.clinical import vitals
from bienestar.clinical.models import (
    Condition,
    ConditionClinicalStatus,
    ConditionVerification,
    Encounter,
    EncounterClass,
    EncounterStatus,
    Observation,
    ObservationStatus,
)
from bienestar.clinical.scope import (
    EncounterRef,
    FacilityRef,
    PersonRef,
    of_person_family,
    parse_uuid,
    practitioner_for,
    recording_facility,
    survivor_of,
    visible_person,
    writable_encounter,
    writable_person,
)
from bienestar.clinical.services.common import (
    audit,
    check_day,
    check_moment,
    choice,
    encounter_context,
    icd10,
)
from bienestar.core.errors import Conflict, ValidationFailed
from bienestar.facilities.models import Facility
from bienestar.people.models import Person
from bienestar.workforce.models import Practitioner


@dataclass(frozen=True)
class DiagnosisInput:
    """One diagnosis of an encounter. `encounter_record` also accepts a bare code ("E11")."""

    code: str
    verification: str = ConditionVerification.CONFIRMED
    onset_date: dt.date | None = None
    note: str = ""


# --- encounters -----------------------------------------------------------------------------------


def _new_encounter(
    actor: Actor,
    *,
    person: Person,
    encounter_class: str,
    reason_text: str,
    reason_code: str | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    status: str | None,
    facility: FacilityRef | None,
    practitioner: Practitioner | Any | None,
) -> Encounter:
    assert actor.user is not None
    choice(encounter_class, EncounterClass, "encounter_class")
    place = recording_facility(actor, facility)
    who = practitioner_for(actor, practitioner)
    start = start or timezone.now()
    if status is None:
        status = EncounterStatus.FINISHED if end is not None else EncounterStatus.IN_PROGRESS
    choice(status, EncounterStatus, "status")
    if status in (EncounterStatus.CANCELLED, EncounterStatus.ENTERED_IN_ERROR):
        raise ValidationFailed(_("Una atención nueva no puede nacer cancelada."), field="status")
    check_moment(person, start, "start", allow_future=status == EncounterStatus.PLANNED)
    if end is not None:
        check_moment(person, end, "end")
        if end < start:
            raise ValidationFailed(
                _("El fin de la atención no puede ser anterior a su inicio."), field="end"
            )
        if status != EncounterStatus.FINISHED:
            raise ValidationFailed(_("Solo una atención concluida tiene fin."), field="end")
    elif status == EncounterStatus.FINISHED:
        raise ValidationFailed(_("Una atención concluida necesita su fin."), field="end")
    reason_text = (reason_text or "").strip()
    code = icd10(reason_code, "reason_code") if reason_code else None
    if not reason_text and code is None:
        raise ValidationFailed(_("Indique el motivo de la atención."), field="reason")
    return Encounter.objects.create(
        person=person,
        facility=place,
        practitioner=who,
        recorded_by=actor.user,
        encounter_class=encounter_class,
        status=status,
        reason_text=reason_text,
        reason_code=code,
        start=start,
        end=end,
    )


@transaction.atomic
def encounter_open(
    actor: Actor,
    *,
    person: PersonRef,
    encounter_class: str,
    reason_text: str = "",
    reason_code: str | None = None,
    start: dt.datetime | None = None,
    status: str = EncounterStatus.IN_PROGRESS,
    facility: FacilityRef | None = None,
    practitioner: Practitioner | Any | None = None,
) -> Encounter:
    """Open (or plan, with status "planned" and a future start) an encounter. Atomic with its audit row."""
    require(actor, Permission.CLINICAL_WRITE)
    target = writable_person(actor, person)
    encounter = _new_encounter(
        actor,
        person=target,
        encounter_class=encounter_class,
        reason_text=reason_text,
        reason_code=reason_code,
        start=start,
        end=None,
        status=status,
        facility=facility,
        practitioner=practitioner,
    )
    audit(actor, AuditAction.CREATE, "Encounter", encounter, target)
    return encounter


@transaction.atomic
def encounter_record(
    actor: Actor,
    *,
    person: PersonRef,
    encounter_class: str,
    reason_text: str = "",
    reason_code: str | None = None,
    diagnoses: Sequence[str | DiagnosisInput] = (),
    vitals: dict[str, Any] | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    facility: FacilityRef | None = None,
    practitioner: Practitioner | Any | None = None,
) -> Encounter:
    """Record a whole consultation in one transaction: the encounter, its diagnoses (the first is
    the principal one) and its vital signs (taken at `start`; BMI computed). Every input is checked
    before the first row is written; any refusal leaves nothing behind. One audit row.
    With `end` the encounter is recorded as finished, otherwise in progress."""
    require(actor, Permission.CLINICAL_WRITE)
    target = writable_person(actor, person)
    checked_vitals = vitals_check(vitals or {})
    inputs = [d if isinstance(d, DiagnosisInput) else DiagnosisInput(code=d) for d in diagnoses]
    codes = [icd10(d.code, "diagnoses") for d in inputs]
    if len({c.code for c in codes}) != len(codes):
        raise ValidationFailed(_("Un diagnóstico está repetido."), field="diagnoses")
    for d in inputs:
        choice(d.verification, ConditionVerification, "diagnoses")
        check_day(target, d.onset_date, "diagnoses")
    encounter = _new_encounter(
        actor,
        person=target,
        encounter_class=encounter_class,
        reason_text=reason_text,
        reason_code=reason_code,
        start=start,
        end=end,
        status=None,
        facility=facility,
        practitioner=practitioner,
    )
    assert actor.user is not None
    conditions = Condition.objects.bulk_create(
        [
            Condition(
                person=target,
                facility=encounter.facility,
                encounter=encounter,
                code=code,
                verification_status=d.verification,
                rank=rank,
                onset_date=d.onset_date,
                note=d.note.strip(),
                recorded_at=encounter.start,
                recorded_by=actor.user,
            )
            for rank, (d, code) in enumerate(zip(inputs, codes, strict=True), start=1)
        ]
    )
    observations = _write_vitals(
        actor,
        person=target,
        encounter=encounter,
        facility=encounter.facility,
        values=checked_vitals,
        effective_at=encounter.start,
    )
    audit(
        actor,
        AuditAction.CREATE,
        "Encounter",
        encounter,
        target,
        query={"diagnoses": [c.code for c in codes], "vitals": sorted(checked_vitals)},
        result_ids=[str(c.public_id) for c in conditions]
        + [str(o.public_id) for o in observations],
    )
    return encounter


@transaction.atomic
def encounter_close(
    actor: Actor, *, encounter: EncounterRef, end: dt.datetime | None = None
) -> Encounter:
    """Mark an encounter finished at `end` (default now). Locks the encounter row."""
    found = writable_encounter(actor, encounter, lock=True)
    if found.status == EncounterStatus.FINISHED:
        raise Conflict(_("La atención ya está concluida."), field="status")
    end = end or timezone.now()
    check_moment(found.person, end, "end")
    if end < found.start:
        raise ValidationFailed(
            _("El fin de la atención no puede ser anterior a su inicio."), field="end"
        )
    found.end = end
    found.status = EncounterStatus.FINISHED
    found.save(update_fields=["end", "status", "updated_at"])
    audit(actor, AuditAction.UPDATE, "Encounter", found, found.person, query={"status": "finished"})
    return found


@transaction.atomic
def encounter_cancel(
    actor: Actor, *, encounter: EncounterRef, entered_in_error: bool = False
) -> Encounter:
    """Cancel a planned or open encounter, or mark any encounter as entered in error (its diagnoses
    and vitals then leave the chart). Locks the encounter row."""
    found = writable_encounter(actor, encounter, lock=True)
    if entered_in_error:
        found.status = EncounterStatus.ENTERED_IN_ERROR
        found.conditions.update(verification_status=ConditionVerification.ENTERED_IN_ERROR)
        found.observations.update(status=ObservationStatus.ENTERED_IN_ERROR)
    else:
        if found.status == EncounterStatus.FINISHED:
            raise Conflict(
                _("Una atención concluida no se cancela; márquela como registrada por error."),
                field="status",
            )
        found.status = EncounterStatus.CANCELLED
    found.save(update_fields=["status", "updated_at"])
    audit(
        actor, AuditAction.UPDATE, "Encounter", found, found.person, query={"status": found.status}
    )
    return found


# --- conditions -----------------------------------------------------------------------------------


@transaction.atomic
def condition_add(
    actor: Actor,
    *,
    person: PersonRef | None = None,
    code: str,
    encounter: EncounterRef | None = None,
    verification: str = ConditionVerification.CONFIRMED,
    clinical_status: str = ConditionClinicalStatus.ACTIVE,
    onset_date: dt.date | None = None,
    note: str = "",
    facility: FacilityRef | None = None,
) -> Condition:
    """Add a CIE-10 diagnosis, in an encounter or straight to the problem list. Atomic, audited."""
    target, found_encounter, place = encounter_context(actor, person, encounter, facility)
    icd = icd10(code)
    choice(verification, ConditionVerification, "verification")
    if verification == ConditionVerification.ENTERED_IN_ERROR:
        raise ValidationFailed(_("Un diagnóstico nuevo no nace como error."), field="verification")
    choice(clinical_status, ConditionClinicalStatus, "clinical_status")
    check_day(target, onset_date, "onset_date")
    assert actor.user is not None
    rank = None
    if found_encounter is not None:
        rank = found_encounter.conditions.count() + 1
    condition = Condition.objects.create(
        person=target,
        facility=place,
        encounter=found_encounter,
        code=icd,
        clinical_status=clinical_status,
        verification_status=verification,
        rank=rank,
        onset_date=onset_date,
        note=(note or "").strip(),
        recorded_at=timezone.now(),
        recorded_by=actor.user,
    )
    audit(actor, AuditAction.CREATE, "Condition", condition, target, query={"code": icd.code})
    return condition


@transaction.atomic
def condition_resolve(
    actor: Actor,
    *,
    condition: Condition | Any,
    abatement_date: dt.date | None = None,
    clinical_status: str = ConditionClinicalStatus.RESOLVED,
) -> Condition:
    """Resolve (or inactivate) a problem: every active row of that code for the person, so that an
    older record of the same diagnosis does not resurface on the problem list. Audited once."""
    require(actor, Permission.CLINICAL_WRITE)
    if clinical_status not in (ConditionClinicalStatus.RESOLVED, ConditionClinicalStatus.INACTIVE):
        raise ValidationFailed(_("Use «resolved» o «inactive»."), field="clinical_status")
    public_id = condition.public_id if isinstance(condition, Condition) else parse_uuid(condition)
    found = Condition.objects.filter(public_id=public_id).first() if public_id else None
    if found is None:
        raise OutOfScope()
    # A condition recorded under a person since merged belongs to the survivor's problem list.
    target = survivor_of(
        visible_person(actor, Person(pk=found.person_id), permission=Permission.CLINICAL_WRITE)
    )
    if found.clinical_status != ConditionClinicalStatus.ACTIVE:
        raise Conflict(_("El diagnóstico ya no está activo."), field="clinical_status")
    abatement_date = abatement_date or timezone.localdate()
    check_day(target, abatement_date, "abatement_date")
    rows = list(
        Condition.objects.select_for_update().filter(
            of_person_family(target),
            code_id=found.code_id,
            clinical_status=ConditionClinicalStatus.ACTIVE,
        )
    )
    ids = [c.id for c in rows]
    if any(c.onset_date and c.onset_date > abatement_date for c in rows):
        raise ValidationFailed(
            _("La fecha de resolución es anterior al inicio del diagnóstico."),
            field="abatement_date",
        )
    Condition.objects.filter(id__in=ids).update(
        clinical_status=clinical_status, abatement_date=abatement_date, updated_at=timezone.now()
    )
    found = Condition.objects.select_related("person", "encounter", "code").get(pk=found.pk)
    audit(
        actor,
        AuditAction.UPDATE,
        "Condition",
        found,
        target,
        query={"code": found.code_id, "clinical_status": clinical_status, "rows": len(ids)},
    )
    return found


# --- observations ---------------------------------------------------------------------------------


def vitals_check(values: dict[str, Any]) -> dict[str, Decimal]:
    """The vitals of a form or payload, checked (see vitals.py for the accepted ranges)."""
    return vitals.check_vitals(values)


def _write_vitals(
    actor: Actor,
    *,
    person: Person,
    encounter: Encounter | None,
    facility: Facility,
    values: dict[str, Decimal],
    effective_at: dt.datetime,
) -> list[Observation]:
    """Write checked values; then keep the encounter's BMI equal to its latest weight and height."""
    if not values:
        return []
    assert actor.user is not None
    common = {
        "person": person,
        "facility": facility,
        "encounter": encounter,
        "effective_at": effective_at,
        "recorded_by": actor.user,
    }
    written: list[Observation] = []
    panel = None
    if "systolic" in values:
        panel = Observation.objects.create(code=vitals.BP_PANEL, value=None, unit="", **common)
        written.append(panel)
    rows = [
        Observation(
            code=vitals.VITALS[key].code,
            value=value,
            unit=vitals.VITALS[key].unit,
            panel=panel if key in ("systolic", "diastolic") else None,
            **common,
        )
        for key, value in values.items()
    ]
    written += Observation.objects.bulk_create(rows)
    if "weight" in values or "height" in values:
        bmi = _refresh_bmi(person=person, encounter=encounter, values=values, common=common)
        if bmi is not None:
            written.append(bmi)
    return written


def _refresh_bmi(
    *,
    person: Person,
    encounter: Encounter | None,
    values: dict[str, Decimal],
    common: dict[str, Any],
) -> Observation | None:
    weight, height = values.get("weight"), values.get("height")
    if encounter is not None:
        latest = {}
        for key in ("weight", "height"):
            latest[key] = (
                Observation.objects.filter(
                    encounter=encounter,
                    code=vitals.VITALS[key].code,
                    status=ObservationStatus.FINAL,
                )
                .order_by("-effective_at", "-id")
                .values_list("value", flat=True)
                .first()
            )
        weight, height = latest["weight"], latest["height"]
    if weight is None or height is None:
        return None
    value = vitals.compute_bmi(weight, height)
    spec = vitals.VITALS["bmi"]
    if encounter is not None:
        current = (
            Observation.objects.select_for_update()
            .filter(encounter=encounter, code=spec.code, status=ObservationStatus.FINAL)
            .first()
        )
        if current is not None:
            current.value = value
            current.effective_at = common["effective_at"]
            current.save(update_fields=["value", "effective_at", "updated_at"])
            return current
    return Observation.objects.create(
        code=spec.code, value=value, unit=spec.unit, derived=True, **common
    )


@transaction.atomic
def observation_record(
    actor: Actor,
    *,
    person: PersonRef | None = None,
    vitals: dict[str, Any],
    encounter: EncounterRef | None = None,
    effective_at: dt.datetime | None = None,
    facility: FacilityRef | None = None,
) -> list[Observation]:
    """Record vital signs and measurements (keys of vitals.VITALS, e.g. {"systolic": 120,
    "diastolic": 80, "weight": "72.5"}). Impossible values are refused naming the field and the
    accepted range; nothing is written. Returns the rows written (BP panel first, BMI last)."""
    target, found_encounter, place = encounter_context(actor, person, encounter, facility)
    checked = vitals_check(vitals)
    if not checked:
        raise ValidationFailed(_("Indique al menos un signo vital."), field="vitals")
    effective_at = effective_at or timezone.now()
    check_moment(target, effective_at, "effective_at")
    written = _write_vitals(
        actor,
        person=target,
        encounter=found_encounter,
        facility=place,
        values=checked,
        effective_at=effective_at,
    )
    audit(
        actor,
        AuditAction.CREATE,
        "Observation",
        written[0],
        target,
        query={"vitals": sorted(checked)},
        result_ids=[str(o.public_id) for o in written],
    )
    return written
