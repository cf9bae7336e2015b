"""AllergyIntolerance and Immunization lines → the clinical history (bulk import)."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

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
from bienestar.fhir import systems
from bienestar.fhir.bulk.rows import (
    Batch,
    Item,
    Refused,
    check_day,
    clinical_context,
    encounter_of,
    facilities,
    facility_of,
    own_facility,
    person_of,
    ref_uuid,
    version_of,
)
from bienestar.fhir.bulk.sql import insert_ignore
from bienestar.fhir.mappers.common import (
    codes_of,
    parse_date,
    parse_date_time,
)
from bienestar.terminology.models import Medicine, VaccineScheduleEntry

# --- AllergyIntolerance ------------------------------------------------------------------------------


def _allergy(batch: Batch, item: Item) -> dict[str, Any]:
    data = item.data
    verification = codes_of(data.get("verificationStatus"), systems.ALLERGY_VERIFICATION)
    clinical = codes_of(data.get("clinicalStatus"), systems.ALLERGY_CLINICAL)
    status: str
    if "entered-in-error" in verification:
        status = AllergyStatus.ENTERED_IN_ERROR.value
    else:
        status = clinical[0] if clinical else AllergyStatus.ACTIVE.value
    if status not in AllergyStatus.values:
        raise Refused(
            _("Estado clínico no admitido: %(s)s.") % {"s": status},
            "AllergyIntolerance.clinicalStatus",
        )
    category = (data.get("category") or [AllergyCategory.MEDICATION])[0]
    if category not in AllergyCategory.values:
        raise Refused(
            _("Categoría no admitida: %(c)s.") % {"c": category}, "AllergyIntolerance.category"
        )
    criticality = data.get("criticality") or AllergyCriticality.UNABLE_TO_ASSESS
    if criticality not in AllergyCriticality.values:
        raise Refused(_("Criticidad no admitida."), "AllergyIntolerance.criticality")
    allergy_type = data.get("type") or AllergyType.ALLERGY
    if allergy_type not in AllergyType.values:
        raise Refused(_("Tipo no admitido."), "AllergyIntolerance.type")
    keys = codes_of(data.get("code"), systems.MEDICINE_CATALOGUE)
    substance = " ".join(str((data.get("code") or {}).get("text") or "").split())
    if not keys and not substance:
        raise Refused(
            _("Indique la sustancia o la clave del medicamento."), "AllergyIntolerance.code"
        )
    reactions = data.get("reaction") or []
    manifestations = (reactions[0].get("manifestation") or []) if reactions else []
    recorded = data.get("recordedDate")
    encounter = data.get("encounter")
    return {
        "person": ref_uuid(batch, data.get("patient"), "Patient", "AllergyIntolerance.patient"),
        "encounter": ref_uuid(batch, encounter, "Encounter", "AllergyIntolerance.encounter")
        if encounter
        else None,
        "medicine": keys[0] if keys else None,
        "substance": substance[:200],
        "allergy_type": allergy_type,
        "category": category,
        "criticality": criticality,
        "reaction": str(manifestations[0].get("text") or "")[:300] if manifestations else "",
        "status": status,
        "onset_date": parse_date(data["onsetDateTime"], "AllergyIntolerance.onsetDateTime")
        if data.get("onsetDateTime")
        else None,
        "recorded_at": parse_date_time(recorded, "AllergyIntolerance.recordedDate")
        if recorded
        else timezone.now(),
    }


def load_allergies(batch: Batch, items: list[Item]) -> None:
    parsed = batch.each(items, partial(_allergy, batch))
    found, visits = clinical_context(batch, [(g["person"], g["encounter"]) for _i, g in parsed])
    known = set(
        Medicine.objects.filter(
            key__in={g["medicine"] for _i, g in parsed if g["medicine"]}
        ).values_list("key", flat=True)
    )
    rows = []
    for item, given in parsed:

        def build(item: Item = item, g: dict[str, Any] = given) -> dict[str, Any]:
            person = person_of(batch, found, g.pop("person"), "AllergyIntolerance.patient")
            encounter, facility = encounter_of(
                batch, visits, g.pop("encounter"), person, "AllergyIntolerance.encounter"
            )
            medicine = g.pop("medicine")
            if medicine and medicine not in known:
                raise Refused(
                    _("Clave del catálogo desconocida: %(key)s.") % {"key": medicine},
                    "AllergyIntolerance.code",
                )
            check_day(person, g["onset_date"], "AllergyIntolerance.onsetDateTime")
            batch.written.append(("AllergyIntolerance", person.pk))
            return {
                **g,
                "public_id": item.public_id,
                "person_id": person.pk,
                "facility_id": facility or own_facility(batch, "AllergyIntolerance.encounter"),
                "encounter_id": encounter,
                "medicine_id": medicine,
                "recorded_by_id": batch.user.pk,
                "version": version_of(item.data),
            }

        row = batch.attempt(item, build)
        if row is not None:
            rows.append(row)
    batch.count("AllergyIntolerance", len(insert_ignore(AllergyIntolerance, rows)))


# --- Immunization ------------------------------------------------------------------------------------


def _immunization(batch: Batch, item: Item) -> dict[str, Any]:
    data = item.data
    status = data.get("status")
    if status not in ImmunizationStatus.values:
        raise Refused(_("Estado no admitido: %(s)s.") % {"s": status}, "Immunization.status")
    vaccine = " ".join(str((data.get("vaccineCode") or {}).get("text") or "").split())
    if not vaccine:
        raise Refused(_("Indique la vacuna (vaccineCode.text)."), "Immunization.vaccineCode")
    protocol = (data.get("protocolApplied") or [{}])[0]
    dose = str(protocol.get("doseNumberString") or protocol.get("doseNumberPositiveInt") or "")
    if not dose.strip():
        raise Refused(_("Indique la dosis."), "Immunization.protocolApplied[0]")
    if not data.get("occurrenceDateTime"):
        raise Refused(_("Indique la fecha de aplicación."), "Immunization.occurrenceDateTime")
    recorded = data.get("recorded")
    encounter = data.get("encounter")
    location = data.get("location")
    return {
        "person": ref_uuid(batch, data.get("patient"), "Patient", "Immunization.patient"),
        "encounter": ref_uuid(batch, encounter, "Encounter", "Immunization.encounter")
        if encounter
        else None,
        "location": ref_uuid(batch, location, ("Location", "Organization"), "Immunization.location")
        if location
        else None,
        "vaccine": vaccine,
        "dose": dose.strip(),
        "lot": str(data.get("lotNumber") or "").strip()[:40],
        "occurrence_date": parse_date(
            data["occurrenceDateTime"], "Immunization.occurrenceDateTime"
        ),
        "primary_source": data.get("primarySource") is not False,
        "status": status,
        "recorded_at": parse_date_time(recorded, "Immunization.recorded")
        if recorded
        else timezone.now(),
    }


def load_immunizations(batch: Batch, items: list[Item]) -> None:
    parsed = batch.each(items, partial(_immunization, batch))
    found, visits = clinical_context(batch, [(g["person"], g["encounter"]) for _i, g in parsed])
    places = facilities(g["location"] for _i, g in parsed if g["location"])
    by_country: dict[str, list[VaccineScheduleEntry]] = {}
    rows = []
    for item, given in parsed:

        def build(item: Item = item, g: dict[str, Any] = given) -> dict[str, Any]:
            person = person_of(batch, found, g.pop("person"), "Immunization.patient")
            encounter, facility = encounter_of(
                batch, visits, g.pop("encounter"), person, "Immunization.encounter"
            )
            location = g.pop("location")
            if location is not None:
                facility = facility_of(batch, places, location, "Immunization.location")
            check_day(person, g["occurrence_date"], "Immunization.occurrenceDateTime")
            country = schedule.country_of(person.territory_path)
            if country not in by_country:
                by_country[country] = list(VaccineScheduleEntry.objects.filter(country=country))
            entries = by_country[country]
            name = schedule.canonical_vaccine(g["vaccine"], entries)[:120]
            entry = schedule.matching_entry(
                entries, vaccine=name, dose=g["dose"], birth=person.birth_date
            )
            dose = entry.dose if entry is not None else schedule.canonical_dose(g["dose"])[:40]
            batch.written.append(("Immunization", person.pk))
            return {
                **g,
                "vaccine": name,
                "dose": dose,
                "public_id": item.public_id,
                "person_id": person.pk,
                "facility_id": facility or own_facility(batch, "Immunization.location"),
                "encounter_id": encounter,
                "schedule_entry_id": entry.pk if entry is not None else None,
                "schedule_fit": schedule.fit(
                    entry, birth=person.birth_date, on=g["occurrence_date"]
                ),
                "recorded_by_id": batch.user.pk,
                "version": version_of(item.data),
            }

        row = batch.attempt(item, build)
        if row is not None:
            rows.append(row)
    batch.count("Immunization", len(insert_ignore(Immunization, rows)))
