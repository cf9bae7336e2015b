"""AllergyIntolerance and Immunization through clinical.services (history.py)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.clinical import selectors as clinical_selectors
from bienestar.clinical import services as clinical
from bienestar.clinical.models import (
    AllergyIntolerance,
    AllergyStatus,
    Immunization,
    ImmunizationStatus,
)
from bienestar.fhir.errors import MappingError
from bienestar.fhir.mappers import allergy as allergy_map
from bienestar.fhir.mappers import immunization as immunization_map
from bienestar.fhir.writes.base import (
    Writer,
    locked,
    refuse_changes,
    same_second,
    unchangeable,
)

# --- AllergyIntolerance ------------------------------------------------------------------------------


def _allergy_create(actor: Actor, data: dict[str, Any]) -> AllergyIntolerance:
    given = allergy_map.allergy_from_fhir(data)
    if given.status != AllergyStatus.ACTIVE:
        raise MappingError(
            _("Registre la alergia activa y cambie su estado después."),
            "AllergyIntolerance.clinicalStatus",
        )
    return clinical.allergy_add(
        actor,
        person=given.person_id,
        category=given.category,
        substance=given.substance,
        medicine_key=given.medicine_key,
        allergy_type=given.allergy_type,
        criticality=given.criticality,
        reaction=given.reaction,
        onset_date=given.onset_date,
        encounter=given.encounter_id,
    )


def _allergy_update(actor: Actor, allergy: AllergyIntolerance, data: dict[str, Any]) -> bool:
    given = allergy_map.allergy_from_fhir(data)
    current = allergy_map.allergy_from_fhir(allergy_map.allergy_to_fhir(allergy))
    refuse_changes(
        [
            (given.person_id == current.person_id, "AllergyIntolerance.patient"),
            (
                (given.medicine_key, given.substance) == (current.medicine_key, current.substance),
                "AllergyIntolerance.code",
            ),
            (given.category == current.category, "AllergyIntolerance.category"),
            (given.allergy_type == current.allergy_type, "AllergyIntolerance.type"),
            (given.criticality == current.criticality, "AllergyIntolerance.criticality"),
            (given.reaction == current.reaction, "AllergyIntolerance.reaction"),
            (given.onset_date == current.onset_date, "AllergyIntolerance.onsetDateTime"),
            (given.encounter_id == current.encounter_id, "AllergyIntolerance.encounter"),
            (
                given.recorded_at is None or same_second(given.recorded_at, current.recorded_at),
                "AllergyIntolerance.recordedDate",
            ),
        ]
    )
    if given.status == allergy.status:
        return False
    if allergy.status == AllergyStatus.ENTERED_IN_ERROR:
        raise unchangeable("AllergyIntolerance.verificationStatus")
    clinical.allergy_set_status(actor, allergy=allergy, status=given.status)
    return True


ALLERGY = Writer(
    create=_allergy_create,
    update=_allergy_update,
    lock=lambda actor, rid: locked(
        clinical_selectors.allergies_visible_to(actor).select_related(
            "person", "encounter", "medicine"
        ),
        rid,
    ),
    paths=allergy_map.FIELD_PATHS,
)


# --- Immunization ------------------------------------------------------------------------------------


def _immunization_create(actor: Actor, data: dict[str, Any]) -> Immunization:
    given = immunization_map.immunization_from_fhir(data)
    if given.status != ImmunizationStatus.COMPLETED:
        raise MappingError(_("Una dosis nueva es completed."), "Immunization.status")
    immunization = clinical.immunization_record(
        actor,
        person=given.person_id,
        vaccine=given.vaccine,
        dose=given.dose,
        occurrence_date=given.occurrence_date,
        lot=given.lot,
        primary_source=given.primary_source,
        encounter=given.encounter_id,
        facility=given.location_id if given.encounter_id is None else None,
    )
    if given.location_id and str(immunization.facility.public_id) != given.location_id:
        # An encounter fixes where the dose was applied; the transaction rolls the dose back.
        raise MappingError(
            _("El lugar de aplicación es el establecimiento de la atención."),
            "Immunization.location",
        )
    return immunization


def _immunization_update(actor: Actor, immunization: Immunization, data: dict[str, Any]) -> bool:
    """A dose stays as recorded: only a PUT of what is there is answered (unchanged)."""
    given = immunization_map.immunization_from_fhir(data)
    current = immunization_map.immunization_from_fhir(
        immunization_map.immunization_to_fhir(immunization)
    )
    refuse_changes(
        [
            (given.person_id == current.person_id, "Immunization.patient"),
            (given.status == current.status, "Immunization.status"),
            (given.vaccine == current.vaccine, "Immunization.vaccineCode"),
            (given.dose == current.dose, "Immunization.protocolApplied[0]"),
            (given.occurrence_date == current.occurrence_date, "Immunization.occurrenceDateTime"),
            (given.lot == current.lot, "Immunization.lotNumber"),
            (given.primary_source == current.primary_source, "Immunization.primarySource"),
            (given.encounter_id == current.encounter_id, "Immunization.encounter"),
            (given.location_id in (None, current.location_id), "Immunization.location"),
            (
                given.recorded_at is None or same_second(given.recorded_at, current.recorded_at),
                "Immunization.recorded",
            ),
        ]
    )
    return False


IMMUNIZATION = Writer(
    create=_immunization_create,
    update=_immunization_update,
    lock=lambda actor, rid: locked(
        clinical_selectors.immunizations_visible_to(actor).select_related(
            "person", "encounter", "facility"
        ),
        rid,
    ),
    paths=immunization_map.FIELD_PATHS,
)
