"""Shapes of the clinical API. They check shape only (types, lengths, known keys); ranges and every
other rule are the services' (vitals.py holds the physiological ranges). Nothing here queries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from uuid import UUID

from ninja import Field, Schema
from pydantic import ConfigDict

from bienestar.clinical import schedule as schedule_mod
from bienestar.clinical import vitals as vitals_mod
from bienestar.clinical.models import (
    AllergyCategory,
    AllergyCriticality,
    AllergyIntolerance,
    AllergyStatus,
    AllergyType,
    Condition,
    ConditionClinicalStatus,
    ConditionVerification,
    Encounter,
    EncounterClass,
    Immunization,
    Observation,
)
from bienestar.core.api import NO_NUL
from bienestar.terminology.models import Icd10Code

CODE = Field(..., min_length=1, max_length=10, pattern=NO_NUL)
# Quantities travel as JSON numbers or strings and become Decimal; never float.
Quantity = Decimal | None


# --- in ---------------------------------------------------------------------------------------------


class VitalsIn(Schema):
    """Vital signs by key; any may be omitted. The BMI is computed, never sent."""

    model_config = ConfigDict(extra="forbid")

    systolic: Quantity = Field(None, description="mm[Hg] (LOINC 8480-6)")
    diastolic: Quantity = Field(None, description="mm[Hg] (LOINC 8462-4)")
    heart_rate: Quantity = Field(None, description="/min (LOINC 8867-4)")
    temperature: Quantity = Field(None, description="Cel (LOINC 8310-5)")
    weight: Quantity = Field(None, description="kg (LOINC 29463-7)")
    height: Quantity = Field(None, description="cm (LOINC 8302-2)")
    waist: Quantity = Field(None, description="cm (LOINC 8280-0)")
    glucose: Quantity = Field(None, description="mg/dL capillary (LOINC 2339-0)")
    hba1c: Quantity = Field(None, description="% (LOINC 4548-4)")

    def values(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class DiagnosisIn(Schema):
    code: str = CODE
    verification: ConditionVerification = ConditionVerification.CONFIRMED
    onset_date: dt.date | None = None
    note: str = Field("", max_length=500, pattern=NO_NUL)


class EncounterIn(Schema):
    person: UUID
    encounter_class: EncounterClass
    reason_text: str = Field("", max_length=500, pattern=NO_NUL)
    reason_code: str | None = Field(None, min_length=1, max_length=10, pattern=NO_NUL)
    diagnoses: list[DiagnosisIn] = Field(default_factory=list, max_length=20)
    vitals: VitalsIn | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    facility: UUID | None = Field(None, description="Integrators only; others record at their own")
    practitioner: UUID | None = None


class EncounterCloseIn(Schema):
    end: dt.datetime | None = None


class EncounterCancelIn(Schema):
    entered_in_error: bool = False


class ObservationIn(Schema):
    vitals: VitalsIn
    effective_at: dt.datetime | None = None
    facility: UUID | None = None


class ConditionIn(Schema):
    code: str = CODE
    verification: ConditionVerification = ConditionVerification.CONFIRMED
    clinical_status: ConditionClinicalStatus = ConditionClinicalStatus.ACTIVE
    onset_date: dt.date | None = None
    note: str = Field("", max_length=500, pattern=NO_NUL)
    facility: UUID | None = None


class ConditionResolveIn(Schema):
    abatement_date: dt.date | None = None
    clinical_status: ConditionClinicalStatus = ConditionClinicalStatus.RESOLVED


class AllergyIn(Schema):
    category: AllergyCategory
    substance: str = Field("", max_length=200, pattern=NO_NUL)
    medicine_key: str | None = Field(None, max_length=20, pattern=NO_NUL)
    allergy_type: AllergyType = AllergyType.ALLERGY
    criticality: AllergyCriticality = AllergyCriticality.UNABLE_TO_ASSESS
    reaction: str = Field("", max_length=300, pattern=NO_NUL)
    onset_date: dt.date | None = None
    encounter: UUID | None = None
    facility: UUID | None = None


class AllergyStatusIn(Schema):
    status: AllergyStatus


class ImmunizationIn(Schema):
    vaccine: str = Field(..., min_length=1, max_length=120, pattern=NO_NUL)
    dose: str = Field(..., min_length=1, max_length=40, pattern=NO_NUL)
    occurrence_date: dt.date
    lot: str = Field("", max_length=40, pattern=NO_NUL)
    primary_source: bool = True
    encounter: UUID | None = None
    facility: UUID | None = None


# --- out ------------------------------------------------------------------------------------------


class Icd10Out(Schema):
    code: str
    description: str
    level: int
    chapter: str


class Icd10Page(Schema):
    count: int | None
    limit: int
    offset: int
    next: str | None
    items: list[Icd10Out]


class FacilityRef(Schema):
    public_id: UUID
    clues: str | None
    name: str


class PractitionerRef(Schema):
    public_id: UUID
    name: str


class CodeRef(Schema):
    code: str
    description: str


class ConditionOut(Schema):
    public_id: UUID
    person: UUID
    encounter: UUID | None
    code: CodeRef
    clinical_status: str
    verification_status: str
    rank: int | None
    onset_date: dt.date | None
    abatement_date: dt.date | None
    note: str
    recorded_at: dt.datetime


class ObservationOut(Schema):
    public_id: UUID
    code: str
    key: str | None
    value: Decimal | None
    unit: str
    derived: bool
    panel: UUID | None
    effective_at: dt.datetime


class EncounterOut(Schema):
    public_id: UUID
    person: UUID
    facility: FacilityRef
    practitioner: PractitionerRef | None
    encounter_class: str
    status: str
    reason_text: str
    reason_code: CodeRef | None
    start: dt.datetime
    end: dt.datetime | None
    diagnoses: list[ConditionOut]
    vitals: dict[str, Decimal]


class EncounterPage(Schema):
    count: int | None
    limit: int
    offset: int
    next: str | None
    items: list[EncounterOut]


class VitalPointOut(Schema):
    at: dt.datetime
    value: Decimal
    value2: Decimal | None
    unit: str


class AllergyOut(Schema):
    public_id: UUID
    medicine_key: str | None
    substance: str
    allergy_type: str
    category: str
    criticality: str
    reaction: str
    status: str
    onset_date: dt.date | None
    recorded_at: dt.datetime


class ImmunizationOut(Schema):
    public_id: UUID
    vaccine: str
    dose: str
    lot: str
    occurrence_date: dt.date
    primary_source: bool
    schedule_fit: str
    facility: FacilityRef


class ScheduledDoseOut(Schema):
    vaccine: str
    dose: str
    age_months: int
    age_label: str
    condition: str
    status: str
    due_date: dt.date
    immunization: UUID | None


# --- mapping (plain attribute reads of rows the selectors loaded) ---------------------------------


def code_ref(code: Icd10Code) -> dict[str, Any]:
    return {"code": code.code, "description": code.description_es}


def icd10_out(code: Icd10Code) -> dict[str, Any]:
    return {**code_ref(code), "level": code.level, "chapter": code.chapter}


def facility_ref(f: Any) -> dict[str, Any]:
    return {"public_id": f.public_id, "clues": f.clues, "name": f.name}


def condition_out(c: Condition, *, person: UUID, encounter: UUID | None) -> dict[str, Any]:
    return {
        "public_id": c.public_id,
        "person": person,
        "encounter": encounter,
        "code": code_ref(c.code),
        "clinical_status": c.clinical_status,
        "verification_status": c.verification_status,
        "rank": c.rank,
        "onset_date": c.onset_date,
        "abatement_date": c.abatement_date,
        "note": c.note,
        "recorded_at": c.recorded_at,
    }


def observation_out(o: Observation, panel: UUID | None = None) -> dict[str, Any]:
    spec = vitals_mod.BY_CODE.get(o.code)
    return {
        "public_id": o.public_id,
        "code": o.code,
        "key": spec.key if spec else ("bp" if o.code == vitals_mod.BP_PANEL else None),
        "value": o.value,
        "unit": o.unit,
        "derived": o.derived,
        "panel": panel,
        "effective_at": o.effective_at,
    }


def encounter_out(e: Encounter, vitals: dict[str, Decimal]) -> dict[str, Any]:
    """`e` must come from a selector (person, facility, practitioner, diagnoses loaded)."""
    person = e.person.public_id
    return {
        "public_id": e.public_id,
        "person": person,
        "facility": facility_ref(e.facility),
        "practitioner": (
            {"public_id": e.practitioner.public_id, "name": str(e.practitioner)}
            if e.practitioner is not None
            else None
        ),
        "encounter_class": e.encounter_class,
        "status": e.status,
        "reason_text": e.reason_text,
        "reason_code": code_ref(e.reason_code) if e.reason_code is not None else None,
        "start": e.start,
        "end": e.end,
        "diagnoses": [
            condition_out(c, person=person, encounter=e.public_id) for c in e.conditions.all()
        ],
        "vitals": vitals,
    }


def allergy_out(a: AllergyIntolerance) -> dict[str, Any]:
    return {
        "public_id": a.public_id,
        "medicine_key": a.medicine_id,
        "substance": a.substance,
        "allergy_type": a.allergy_type,
        "category": a.category,
        "criticality": a.criticality,
        "reaction": a.reaction,
        "status": a.status,
        "onset_date": a.onset_date,
        "recorded_at": a.recorded_at,
    }


def immunization_out(i: Immunization) -> dict[str, Any]:
    return {
        "public_id": i.public_id,
        "vaccine": i.vaccine,
        "dose": i.dose,
        "lot": i.lot,
        "occurrence_date": i.occurrence_date,
        "primary_source": i.primary_source,
        "schedule_fit": i.schedule_fit,
        "facility": facility_ref(i.facility),
    }


def scheduled_dose_out(d: schedule_mod.ScheduledDose) -> dict[str, Any]:
    return {
        "vaccine": d.entry.vaccine,
        "dose": d.entry.dose,
        "age_months": d.entry.age_months,
        "age_label": d.entry.age_label,
        "condition": d.entry.condition,
        "status": d.status,
        "due_date": d.due_date,
        "immunization": d.immunization.public_id if d.immunization is not None else None,
    }
