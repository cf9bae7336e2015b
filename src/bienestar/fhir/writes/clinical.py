"""Encounter, Condition and Observation through clinical.services."""

from __future__ import annotations

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
from bienestar.fhir.writes.base import Writer, locked, same_second, unchangeable

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
            given.start is None or same_second(given.start, encounter.start),
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
            raise unchangeable(path)
    if given.status == encounter.status:
        if not same_second(given.end, encounter.end):
            raise unchangeable("Encounter.period.end")
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
    lock=lambda actor, rid: locked(
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
            raise unchangeable(path)
    if given.clinical_status == condition.clinical_status:
        if given.abatement_date != condition.abatement_date:
            raise unchangeable("Condition.abatementDateTime")
        return False
    if condition.clinical_status != ConditionClinicalStatus.ACTIVE:
        raise unchangeable("Condition.clinicalStatus")
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
    lock=lambda actor, rid: locked(
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
        and (given.effective_at is None or same_second(given.effective_at, current.effective_at))
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
    lock=lambda actor, rid: locked(
        clinical_selectors.observations_visible_to(actor)
        .filter(panel__isnull=True)
        .select_related("person", "encounter"),
        rid,
    ),
    paths=observation_map.FIELD_PATHS,
)
