"""Encounter, Condition and Observation lines → the clinical record (bulk import)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from bienestar.clinical import vitals
from bienestar.clinical.models import (
    Condition,
    Encounter,
    EncounterStatus,
    Observation,
)
from bienestar.core.errors import DomainError
from bienestar.fhir.bulk.rows import (
    Batch,
    Item,
    Refused,
    check_day,
    check_moment,
    clinical_context,
    encounter_of,
    facilities,
    facility_of,
    icd10_codes,
    own_facility,
    person_of,
    persons,
    practitioners,
    version_of,
)
from bienestar.fhir.bulk.sql import insert_ignore, stable_uuid
from bienestar.fhir.mappers import condition as condition_map
from bienestar.fhir.mappers import encounter as encounter_map
from bienestar.fhir.mappers import observation as observation_map
from bienestar.fhir.mappers.common import (
    parse_date_time,
)
from bienestar.terminology.models import Icd10Code

# --- Encounter ---------------------------------------------------------------------------------------


def load_encounters(batch: Batch, items: list[Item]) -> None:
    batch.paths = encounter_map.FIELD_PATHS
    parsed = batch.each(items, lambda item: encounter_map.encounter_from_fhir(item.data))
    found = persons(batch.actor, [batch.ref("Patient", g.person_id) for _i, g in parsed])
    places = facilities(
        stable_uuid("Organization", g.facility_id) for _i, g in parsed if g.facility_id
    )
    doctors = practitioners(
        stable_uuid("Practitioner", g.practitioner_id) for _i, g in parsed if g.practitioner_id
    )
    codes = icd10_codes(g.reason_code for _i, g in parsed if g.reason_code)
    descriptions = dict(
        Icd10Code.objects.filter(code__in=set(codes.values())).values_list("code", "description_es")
    )
    rows = []
    for item, given in parsed:

        def build(item: Item = item, g: encounter_map.EncounterInput = given) -> dict[str, Any]:
            person = person_of(batch, found, batch.ref("Patient", g.person_id), "Encounter.subject")
            if g.start is None:
                raise Refused(_("Indique el inicio de la atención."), "Encounter.period.start")
            check_moment(person, g.start, "Encounter.period.start")
            if g.end is not None and g.end < g.start:
                raise Refused(_("El fin es anterior al inicio."), "Encounter.period.end")
            if g.status == EncounterStatus.FINISHED and g.end is None:
                raise Refused(_("Una atención concluida tiene fin."), "Encounter.period.end")
            if g.facility_id:
                facility = facility_of(
                    batch,
                    places,
                    stable_uuid("Organization", g.facility_id),
                    "Encounter.serviceProvider",
                )
            else:
                facility = own_facility(batch, "Encounter.serviceProvider")
            doctor = None
            if g.practitioner_id:
                doctor = doctors.get(stable_uuid("Practitioner", g.practitioner_id))
                if doctor is None:
                    raise Refused(
                        _("Profesional de la salud desconocido."), "Encounter.participant"
                    )
            code = None
            text = g.reason_text
            if g.reason_code:
                code = codes.get(g.reason_code.strip().upper()) or None
                if code is None:
                    raise Refused(
                        _("Código CIE-10 desconocido: %(code)s.") % {"code": g.reason_code},
                        "Encounter.reasonCode",
                    )
                if text == descriptions.get(code):
                    text = ""  # the description the export wrote as the reason's text
            batch.written.append(("Encounter", person.pk))
            return {
                "public_id": item.public_id,
                "person_id": person.pk,
                "facility_id": facility,
                "practitioner_id": doctor,
                "recorded_by_id": batch.user.pk,
                "encounter_class": g.encounter_class,
                "status": g.status,
                "reason_text": text[:500],
                "reason_code_id": code,
                "start": g.start,
                "end": g.end,
                "version": version_of(item.data),
            }

        row = batch.attempt(item, build)
        if row is not None:
            rows.append(row)
    batch.count("Encounter", len(insert_ignore(Encounter, rows)))


# --- Condition ---------------------------------------------------------------------------------------


def load_conditions(batch: Batch, items: list[Item]) -> None:
    batch.paths = condition_map.FIELD_PATHS
    parsed = batch.each(items, lambda item: condition_map.condition_from_fhir(item.data))
    refs = [
        (
            batch.ref("Patient", g.person_id),
            batch.ref("Encounter", g.encounter_id) if g.encounter_id else None,
        )
        for _i, g in parsed
    ]
    found, visits = clinical_context(batch, refs)
    codes = icd10_codes(g.code for _i, g in parsed)
    rows = []
    for (item, given), (person_id, encounter_id) in zip(parsed, refs, strict=True):

        def build(
            item: Item = item,
            g: condition_map.ConditionInput = given,
            person_id: uuid.UUID = person_id,
            encounter_id: uuid.UUID | None = encounter_id,
        ) -> dict[str, Any]:
            person = person_of(batch, found, person_id, "Condition.subject")
            encounter, facility = encounter_of(
                batch, visits, encounter_id, person, "Condition.encounter"
            )
            code = codes.get(g.code.strip().upper())
            if not code:
                raise Refused(
                    _("Código CIE-10 desconocido: %(code)s.") % {"code": g.code}, "Condition.code"
                )
            check_day(person, g.onset_date, "Condition.onsetDateTime")
            check_day(person, g.abatement_date, "Condition.abatementDateTime")
            if g.onset_date and g.abatement_date and g.abatement_date < g.onset_date:
                raise Refused(
                    _("La resolución es anterior al inicio."), "Condition.abatementDateTime"
                )
            recorded = item.data.get("recordedDate")
            recorded_at = (
                parse_date_time(recorded, "Condition.recordedDate") if recorded else timezone.now()
            )
            batch.written.append(("Condition", person.pk))
            return {
                "public_id": item.public_id,
                "person_id": person.pk,
                "facility_id": facility or own_facility(batch, "Condition.encounter"),
                "encounter_id": encounter,
                "code_id": code,
                "clinical_status": g.clinical_status,
                "verification_status": g.verification,
                "onset_date": g.onset_date,
                "abatement_date": g.abatement_date,
                "note": g.note[:500],
                "recorded_at": recorded_at,
                "recorded_by_id": batch.user.pk,
                "version": version_of(item.data),
            }

        row = batch.attempt(item, build)
        if row is not None:
            rows.append(row)
    batch.count("Condition", len(insert_ignore(Condition, rows)))


# --- Observation -------------------------------------------------------------------------------------


def _checked_values(given: observation_map.ObservationInput) -> dict[str, Decimal]:
    """The physiological ranges of clinical.vitals, as the recording service applies them (a BMI
    is accepted here: it was computed where the record was made)."""
    out: dict[str, Decimal] = {}
    for key, raw in given.values.items():
        try:
            out[key] = vitals.check_value(key, raw)
        except DomainError as exc:
            raise Refused(
                exc.message, observation_map.FIELD_PATHS.get(key, "Observation")
            ) from None
    if ("systolic" in out) != ("diastolic" in out):
        raise Refused(
            _("La presión arterial requiere sistólica y diastólica."), "Observation.component"
        )
    if "systolic" in out and out["diastolic"] >= out["systolic"]:
        raise Refused(
            _("La presión diastólica debe ser menor que la sistólica."),
            observation_map.FIELD_PATHS["diastolic"],
        )
    return out


def load_observations(batch: Batch, items: list[Item]) -> None:
    batch.paths = observation_map.FIELD_PATHS
    parsed = batch.each(items, lambda item: observation_map.observation_from_fhir(item.data))
    refs = [
        (
            batch.ref("Patient", g.person_id),
            batch.ref("Encounter", g.encounter_id) if g.encounter_id else None,
        )
        for _i, g in parsed
    ]
    found, visits = clinical_context(batch, refs)
    rows: list[dict[str, Any]] = []
    components: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for (item, given), (person_id, encounter_id) in zip(parsed, refs, strict=True):

        def build(
            item: Item = item,
            g: observation_map.ObservationInput = given,
            person_id: uuid.UUID = person_id,
            encounter_id: uuid.UUID | None = encounter_id,
        ) -> dict[str, Any]:
            person = person_of(batch, found, person_id, "Observation.subject")
            encounter, facility = encounter_of(
                batch, visits, encounter_id, person, "Observation.encounter"
            )
            values = _checked_values(g)
            if g.effective_at is None:
                raise Refused(_("Indique cuándo se midió."), "Observation.effectiveDateTime")
            check_moment(person, g.effective_at, "Observation.effectiveDateTime")
            issued = item.data.get("issued")
            common = {
                "person_id": person.pk,
                "facility_id": facility or own_facility(batch, "Observation.encounter"),
                "encounter_id": encounter,
                "status": g.status,
                "effective_at": g.effective_at,
                "recorded_by_id": batch.user.pk,
                "created_at": parse_date_time(issued, "Observation.issued")
                if issued
                else timezone.now(),
            }
            batch.written.append(("Observation", person.pk))
            if "systolic" in values:
                components[item.public_id] = [
                    {
                        **common,
                        "public_id": uuid.uuid5(item.public_id, vitals.VITALS[key].code),
                        "code": vitals.VITALS[key].code,
                        "value": values[key],
                        "unit": vitals.VITALS[key].unit,
                    }
                    for key in ("systolic", "diastolic")
                ]
                return {
                    **common,
                    "public_id": item.public_id,
                    "code": vitals.BP_PANEL,
                    "value": None,
                    "unit": "",
                    "version": version_of(item.data),
                }
            [(key, value)] = values.items()
            spec = vitals.VITALS[key]
            return {
                **common,
                "public_id": item.public_id,
                "code": spec.code,
                "value": value,
                "unit": spec.unit,
                "derived": key == "bmi",
                "version": version_of(item.data),
            }

        row = batch.attempt(item, build)
        if row is not None:
            rows.append(row)
    inserted = set(insert_ignore(Observation, rows))
    panels = dict(
        Observation.objects.filter(public_id__in=inserted & set(components)).values_list(
            "public_id", "pk"
        )
    )
    parts = [
        {**c, "panel_id": panels[panel]}
        for panel, cs in components.items()
        if panel in panels
        for c in cs
    ]
    insert_ignore(Observation, parts, returning=None)
    batch.count("Observation", len(inserted))
