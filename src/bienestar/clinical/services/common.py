"""Checks shared by the clinical services: choices, CIE-10 codes, dates, scope, audit."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.access.audit import audit_record
from bienestar.access.permissions import require
from bienestar.access.roles import Permission
from bienestar.clinical.models import Encounter
from bienestar.clinical.scope import (
    EncounterRef,
    FacilityRef,
    PersonRef,
    recording_facility,
    writable_encounter,
    writable_person,
)
from bienestar.core.errors import ValidationFailed
from bienestar.facilities.models import Facility
from bienestar.people.models import Person
from bienestar.terminology.models import Icd10Code

# Clocks drift between tablets and the server; a start this far ahead of "now" is still "now".
CLOCK_SKEW = dt.timedelta(minutes=5)


def choice(value: str, choices: Any, field: str) -> str:
    if value not in choices.values:
        raise ValidationFailed(
            _("Valor inválido: %(value)s. Use uno de: %(choices)s.")
            % {"value": value, "choices": ", ".join(choices.values)},
            field=field,
        )
    return value


def icd10(code: str, field: str = "code") -> Icd10Code:
    """The CIE-10 code, written with or without its dot and in any case."""
    raw = (code or "").strip().upper()
    found = (
        Icd10Code.objects.filter(code=raw).first()
        or Icd10Code.objects.filter(code_nodot=raw.replace(".", "")).first()
    )
    if found is None:
        raise ValidationFailed(
            _("Código CIE-10 desconocido: %(code)s.") % {"code": code}, field=field
        )
    return found


def check_moment(
    person: Person, at: dt.datetime, field: str, *, allow_future: bool = False
) -> None:
    if timezone.is_naive(at):
        raise ValidationFailed(_("Indique la zona horaria de la fecha y hora."), field=field)
    if not allow_future and at > timezone.now() + CLOCK_SKEW:
        raise ValidationFailed(_("La fecha y hora no puede ser futura."), field=field)
    if timezone.localdate(at) < person.birth_date:
        raise ValidationFailed(
            _("La fecha y hora es anterior al nacimiento de la persona."), field=field
        )


def check_day(person: Person, day: dt.date | None, field: str) -> None:
    if day is None:
        return
    if day > timezone.localdate():
        raise ValidationFailed(_("La fecha no puede ser futura."), field=field)
    if day < person.birth_date:
        raise ValidationFailed(_("La fecha es anterior al nacimiento de la persona."), field=field)


def same_person(encounter: Encounter | None, person: Person) -> None:
    if encounter is not None and encounter.person_id != person.pk:
        raise ValidationFailed(_("La atención es de otra persona."), field="encounter")


def audit(
    actor: Actor,
    action: str,
    resource_type: str,
    obj: Any,
    person: Person,
    query: dict[str, Any] | None = None,
    result_ids: list[str] | None = None,
) -> None:
    audit_record(
        actor,
        action=action,
        resource_type=resource_type,
        resource_id=str(obj.public_id),
        person_id=person.pk,
        query=query,
        result_ids=result_ids,
    )


def encounter_context(
    actor: Actor,
    person: PersonRef | None,
    encounter: EncounterRef | None,
    facility: FacilityRef | None,
) -> tuple[Person, Encounter | None, Facility]:
    """Person, encounter (if any) and recording facility of a write. An encounter fixes the
    facility, and the person when none is given."""
    require(actor, Permission.CLINICAL_WRITE)
    if encounter is None:
        if person is None:
            raise ValidationFailed(_("Indique la persona o la atención."), field="person")
        target = writable_person(actor, person)
        return target, None, recording_facility(actor, facility)
    found = writable_encounter(actor, encounter)
    target = writable_person(actor, person if person is not None else found.person)
    same_person(found, target)
    return target, found, found.facility
