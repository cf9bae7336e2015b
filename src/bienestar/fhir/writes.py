"""Create and update through the domain services, for Patient, Encounter, Condition and Observation.

Every write goes through the same service the web pages use (people.services, clinical.services),
so it is checked, scoped, atomic and audited exactly like them. FHIR has no way to change what no
service changes: an update that alters such an element is refused (422) naming the element.

| type        | create                                   | update (PUT) may change                        |
|-------------|------------------------------------------|------------------------------------------------|
| Patient     | person_register                          | name, gender, birthDate, deceasedDateTime      |
| Encounter   | encounter_open / encounter_record        | status: → finished (period.end), cancelled,    |
|             |                                          | entered-in-error                               |
| Condition   | condition_add                            | clinicalStatus → resolved / inactive           |
|             |                                          | (abatementDateTime)                            |
| Observation | observation_record                       | nothing (a measurement stays as recorded)      |
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.clinical import selectors as clinical_selectors
from bienestar.clinical import services as clinical
from bienestar.clinical.models import (
    Condition,
    ConditionClinicalStatus,
    Encounter,
    EncounterStatus,
    Observation,
)
from bienestar.fhir.errors import MappingError
from bienestar.fhir.mappers import condition as condition_map
from bienestar.fhir.mappers import encounter as encounter_map
from bienestar.fhir.mappers import observation as observation_map
from bienestar.fhir.mappers import patient as patient_map
from bienestar.fhir.params import uuid_or_none
from bienestar.people import services as people
from bienestar.people.models import ChangeSource, Person, PersonStatus
from bienestar.people.selectors import persons_visible_to


@dataclass(frozen=True)
class Writer:
    create: Callable[[Actor, dict[str, Any]], Any]
    # Applies the PUT to the locked row; returns whether a service wrote anything.
    update: Callable[[Actor, Any, dict[str, Any]], bool]
    # The row, scoped to the actor and locked until the transaction ends (None when not visible).
    lock: Callable[[Actor, str], Any]
    paths: dict[str, str]


def _locked(qs: Any, resource_id: str) -> Any:
    public_id = uuid_or_none(resource_id)
    if public_id is None:
        return None
    return qs.select_for_update(of=("self",)).filter(public_id=public_id).first()


def _unchangeable(path: str) -> MappingError:
    return MappingError(
        _("Este elemento no se puede cambiar por FHIR: %(path)s.") % {"path": path}, path
    )


def _same_second(a: dt.datetime | None, b: dt.datetime | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.replace(microsecond=0) == b.replace(microsecond=0)


# --- Patient -----------------------------------------------------------------------------------------


def _patient_create(actor: Actor, data: dict[str, Any]) -> Person:
    given = patient_map.patient_from_fhir(data)
    if given.national_health_id:
        raise MappingError(
            _("El ID del Sistema Nacional de Salud lo emite Bienestar al registrar; omítalo."),
            "Patient.identifier",
        )
    if given.active is False:
        raise MappingError(_("Un registro nuevo no puede nacer inactivo."), "Patient.active")
    territory = given.territory_path or actor.scope_path
    if not territory:
        raise MappingError(
            _("Indique el territorio de residencia (extensión de territorio en address)."),
            "Patient.address",
        )
    person = people.person_register(
        actor,
        data=people.PersonInput(
            given_names=given.given_names,
            first_surname=given.first_surname,
            second_surname=given.second_surname,
            sex=given.sex,
            birth_date=given.birth_date,
            territory_path=territory,
            identifiers=[people.IdentifierInput(system=s, value=v) for s, v in given.identifiers],
        ),
        source=ChangeSource.FHIR,
    )
    if given.deceased_date:
        people.person_update(
            actor,
            person=person,
            changes={"deceased_date": given.deceased_date},
            source=ChangeSource.FHIR,
        )
    return person


def _patient_update(actor: Actor, person: Person, data: dict[str, Any]) -> bool:
    given = patient_map.patient_from_fhir(data)
    if given.national_health_id and given.national_health_id != person.national_health_id:
        raise _unchangeable("Patient.identifier")
    current = {(i.system, i.value) for i in person.identifiers.all()}
    wanted = {(s, people.validate_identifier(s, v)) for s, v in given.identifiers}
    if wanted != current:
        raise _unchangeable("Patient.identifier")
    if given.territory_path and given.territory_path != person.territory.path:
        raise _unchangeable("Patient.address")
    if given.active is not None and given.active != (person.status == PersonStatus.ACTIVE):
        raise _unchangeable("Patient.active")
    fields = {
        "given_names": given.given_names,
        "first_surname": given.first_surname,
        "second_surname": given.second_surname,
        "sex": given.sex,
        "birth_date": given.birth_date,
        "deceased_date": given.deceased_date,
    }
    changes = {k: v for k, v in fields.items() if getattr(person, k) != v}
    if not changes:
        return False
    people.person_update(actor, person=person, changes=changes, source=ChangeSource.FHIR)
    return True


PATIENT = Writer(
    create=_patient_create,
    update=_patient_update,
    lock=lambda actor, rid: _locked(persons_visible_to(actor), rid),
    paths=patient_map.FIELD_PATHS,
)


# --- Encounter ---------------------------------------------------------------------------------------


def _encounter_create(actor: Actor, data: dict[str, Any]) -> Encounter:
    given = encounter_map.encounter_from_fhir(data)
    if given.status not in encounter_map.CREATABLE_STATUSES:
        raise MappingError(
            _("Una atención nueva es planned, in-progress o finished."), "Encounter.status"
        )
    common: dict[str, Any] = {
        "person": given.person_id,
        "encounter_class": given.encounter_class,
        "reason_text": given.reason_text,
        "reason_code": given.reason_code,
        "start": given.start,
        "facility": given.facility_id,
        "practitioner": given.practitioner_id,
    }
    if given.status == EncounterStatus.FINISHED:
        return clinical.encounter_record(actor, end=given.end, **common)
    if given.end is not None:
        raise MappingError(_("Solo una atención concluida tiene fin."), "Encounter.period.end")
    return clinical.encounter_open(actor, status=given.status, **common)


def _encounter_update(actor: Actor, encounter: Encounter, data: dict[str, Any]) -> bool:
    given = encounter_map.encounter_from_fhir(data)
    reason_code = encounter.reason_code_id
    text = given.reason_text
    if encounter.reason_code is not None and text == encounter.reason_code.description_es:
        text = ""  # the description we wrote out as the reason's text
    checks = [
        (given.person_id == str(encounter.person.public_id), "Encounter.subject"),
        (given.encounter_class == encounter.encounter_class, "Encounter.class"),
        (
            given.start is None or _same_second(given.start, encounter.start),
            "Encounter.period.start",
        ),
        (
            (given.reason_code or "").replace(".", "") == (reason_code or "").replace(".", "")
            and text == encounter.reason_text,
            "Encounter.reasonCode",
        ),
        (
            given.facility_id in (None, str(encounter.facility.public_id)),
            "Encounter.serviceProvider",
        ),
        (
            given.practitioner_id
            == (str(encounter.practitioner.public_id) if encounter.practitioner else None),
            "Encounter.participant",
        ),
    ]
    for ok, path in checks:
        if not ok:
            raise _unchangeable(path)
    if given.status == encounter.status:
        if not _same_second(given.end, encounter.end):
            raise _unchangeable("Encounter.period.end")
        return False
    if given.status == EncounterStatus.FINISHED:
        clinical.encounter_close(actor, encounter=encounter, end=given.end)
    elif given.status == EncounterStatus.CANCELLED:
        clinical.encounter_cancel(actor, encounter=encounter)
    elif given.status == EncounterStatus.ENTERED_IN_ERROR:
        clinical.encounter_cancel(actor, encounter=encounter, entered_in_error=True)
    else:
        raise MappingError(
            _("Cambio de estado no admitido: %(old)s → %(new)s.")
            % {"old": encounter.status, "new": given.status},
            "Encounter.status",
        )
    return True


ENCOUNTER = Writer(
    create=_encounter_create,
    update=_encounter_update,
    lock=lambda actor, rid: _locked(
        clinical_selectors.encounters_visible_to(actor).select_related(
            "person", "facility", "practitioner", "reason_code"
        ),
        rid,
    ),
    paths=encounter_map.FIELD_PATHS,
)


# --- Condition ---------------------------------------------------------------------------------------


def _condition_create(actor: Actor, data: dict[str, Any]) -> Condition:
    given = condition_map.condition_from_fhir(data)
    if given.clinical_status != ConditionClinicalStatus.ACTIVE and given.abatement_date:
        raise MappingError(
            _("Registre el diagnóstico activo y resuélvalo después."), "Condition.clinicalStatus"
        )
    return clinical.condition_add(
        actor,
        person=given.person_id,
        code=given.code,
        encounter=given.encounter_id,
        verification=given.verification,
        clinical_status=given.clinical_status,
        onset_date=given.onset_date,
        note=given.note,
    )


def _condition_update(actor: Actor, condition: Condition, data: dict[str, Any]) -> bool:
    given = condition_map.condition_from_fhir(data)
    checks = [
        (given.person_id == str(condition.person.public_id), "Condition.subject"),
        (
            given.code.replace(".", "").upper() == condition.code.code_nodot,
            "Condition.code",
        ),
        (
            given.encounter_id
            == (str(condition.encounter.public_id) if condition.encounter else None),
            "Condition.encounter",
        ),
        (given.verification == condition.verification_status, "Condition.verificationStatus"),
        (given.onset_date == condition.onset_date, "Condition.onsetDateTime"),
        (given.note == condition.note, "Condition.note"),
    ]
    for ok, path in checks:
        if not ok:
            raise _unchangeable(path)
    if given.clinical_status == condition.clinical_status:
        if given.abatement_date != condition.abatement_date:
            raise _unchangeable("Condition.abatementDateTime")
        return False
    if condition.clinical_status != ConditionClinicalStatus.ACTIVE:
        raise _unchangeable("Condition.clinicalStatus")
    clinical.condition_resolve(
        actor,
        condition=condition,
        abatement_date=given.abatement_date,
        clinical_status=given.clinical_status,
    )
    return True


CONDITION = Writer(
    create=_condition_create,
    update=_condition_update,
    lock=lambda actor, rid: _locked(
        clinical_selectors.conditions_visible_to(actor).select_related(
            "person", "encounter", "code"
        ),
        rid,
    ),
    paths=condition_map.FIELD_PATHS,
)


# --- Observation -------------------------------------------------------------------------------------


def _observation_create(actor: Actor, data: dict[str, Any]) -> Observation:
    given = observation_map.observation_from_fhir(data)
    if given.status != "final":
        raise MappingError(_("Una observación nueva es final."), "Observation.status")
    written = clinical.observation_record(
        actor,
        person=given.person_id,
        vitals=dict(given.values),
        encounter=given.encounter_id,
        effective_at=given.effective_at,
    )
    # The panel (blood pressure) or the value asked for comes first; a BMI computed on the way
    # is a resource of its own.
    return written[0]


def _observation_update(actor: Actor, observation: Observation, data: dict[str, Any]) -> bool:
    given = observation_map.observation_from_fhir(data)
    current = observation_map.observation_from_fhir(
        observation_map.observation_to_fhir(
            observation, components=list(observation.components.all())
        )
    )
    same = (
        given.person_id == current.person_id
        and given.encounter_id == current.encounter_id
        and given.values == current.values
        and given.status == current.status
        and (given.effective_at is None or _same_second(given.effective_at, current.effective_at))
    )
    if not same:
        raise MappingError(
            _("Una medición registrada no se modifica: registre una nueva observación."),
            "Observation",
        )
    return False


OBSERVATION = Writer(
    create=_observation_create,
    update=_observation_update,
    lock=lambda actor, rid: _locked(
        clinical_selectors.observations_visible_to(actor)
        .filter(panel__isnull=True)
        .select_related("person", "encounter"),
        rid,
    ),
    paths=observation_map.FIELD_PATHS,
)


WRITERS: dict[str, Writer] = {
    "Patient": PATIENT,
    "Encounter": ENCOUNTER,
    "Condition": CONDITION,
    "Observation": OBSERVATION,
}


def writer_for(resource_type: str) -> Writer | None:
    return WRITERS.get(resource_type)
