"""Encounter, Condition, Observation, AllergyIntolerance and Immunization: the clinical record,
through clinical.selectors' scoped querysets (the person's territory decides)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import Q, QuerySet

from bienestar.access.actor import Actor
from bienestar.access.roles import Permission
from bienestar.clinical import selectors
from bienestar.clinical.models import (
    ConditionVerification,
    EncounterStatus,
    ImmunizationStatus,
    Observation,
    ObservationStatus,
)
from bienestar.fhir import systems
from bienestar.fhir.mappers.allergy import allergy_to_fhir
from bienestar.fhir.mappers.condition import condition_to_fhir
from bienestar.fhir.mappers.encounter import CLASS_BY_CODE, encounter_to_fhir
from bienestar.fhir.mappers.immunization import immunization_to_fhir
from bienestar.fhir.mappers.observation import observation_to_fhir
from bienestar.fhir.params import NOTHING, choice_token
from bienestar.fhir.registry import (
    DATE,
    QUANTITY,
    TOKEN,
    Include,
    ResourceDef,
    SearchParam,
    register,
)
from bienestar.fhir.resources.common import (
    id_param,
    last_updated_param,
    patient_params,
    reference_param,
)

_PATIENT_INCLUDES = {
    "patient": Include("patient", "Patient", "person"),
    "subject": Include("subject", "Patient", "person"),
}


def _common(**extra: SearchParam) -> dict[str, SearchParam]:
    return {"_id": id_param(), "_lastUpdated": last_updated_param(), **patient_params(), **extra}


def _encounter_param() -> SearchParam:
    return reference_param(
        "encounter", "encounter__public_id", ("Encounter",), "The encounter it was recorded in"
    )


def _identity(values: Sequence[str]) -> dict[str, str]:
    return {v: v for v in values}


# --- Encounter -------------------------------------------------------------------------------------


def _icd10_token(field: str) -> Any:
    """A CIE-10 code, written with or without its dot."""

    def build(system: str | None, code: str) -> Q:
        if system not in (None, systems.ICD10):
            return NOTHING
        if not code:
            return Q()
        raw = code.strip().upper()
        return Q(**{f"{field}__code": raw}) | Q(**{f"{field}__code_nodot": raw.replace(".", "")})

    return build


ENCOUNTER = register(
    ResourceDef(
        type="Encounter",
        read_permission=Permission.CLINICAL_READ,
        write_permission=Permission.CLINICAL_WRITE,
        queryset=selectors.encounters_visible_to,
        load=lambda qs: qs.select_related("person", "facility", "practitioner", "reason_code"),
        to_fhir=lambda rows, actor: [encounter_to_fhir(e) for e in rows],
        audit_type="Encounter",
        documentation="Encounters of persons inside the caller's territory.",
        params=_common(
            date=SearchParam("date", DATE, "Period of the encounter", date_fields=("start", "end")),
            status=SearchParam(
                "status",
                TOKEN,
                "planned | in-progress | finished | cancelled | entered-in-error",
                token=choice_token("status", _identity(EncounterStatus.values)),
            ),
            **{
                "class": SearchParam(
                    "class",
                    TOKEN,
                    "AMB | EMER | IMP | HH | VR (v3 ActCode)",
                    token=choice_token("encounter_class", CLASS_BY_CODE, systems.ACT_CODE),
                ),
                "service-provider": reference_param(
                    "service-provider",
                    "facility__public_id",
                    ("Organization",),
                    "The facility responsible",
                ),
                "location": reference_param(
                    "location", "facility__public_id", ("Location",), "Where it took place"
                ),
                "practitioner": reference_param(
                    "practitioner",
                    "practitioner__public_id",
                    ("Practitioner",),
                    "The practitioner who attended",
                ),
                "reason-code": SearchParam(
                    "reason-code", TOKEN, "CIE-10 reason", token=_icd10_token("reason_code")
                ),
            },
        ),
        sorts={"date": ("start",), "_lastUpdated": ("updated_at",), "_id": ("public_id",)},
        includes={
            **_PATIENT_INCLUDES,
            "service-provider": Include("service-provider", "Organization", "facility"),
            "location": Include("location", "Location", "facility"),
            "practitioner": Include("practitioner", "Practitioner", "practitioner"),
        },
    )
)


# --- Condition -------------------------------------------------------------------------------------


def _clinical_status(system: str | None, code: str) -> Q:
    if system not in (None, systems.CONDITION_CLINICAL):
        return NOTHING
    live = ~Q(verification_status=ConditionVerification.ENTERED_IN_ERROR)
    return live & Q(clinical_status=code) if code else live


def _condition_category(system: str | None, code: str) -> Q:
    if system not in (None, systems.CONDITION_CATEGORY):
        return NOTHING
    return {
        "encounter-diagnosis": Q(encounter__isnull=False),
        "problem-list-item": Q(encounter__isnull=True),
        "": Q(),
    }.get(code, NOTHING)


CONDITION = register(
    ResourceDef(
        type="Condition",
        read_permission=Permission.CLINICAL_READ,
        write_permission=Permission.CLINICAL_WRITE,
        queryset=selectors.conditions_visible_to,
        load=lambda qs: qs.select_related("person", "encounter", "code"),
        to_fhir=lambda rows, actor: [condition_to_fhir(c) for c in rows],
        audit_type="Condition",
        documentation="CIE-10 diagnoses of persons inside the caller's territory.",
        params=_common(
            code=SearchParam("code", TOKEN, "CIE-10 code", token=_icd10_token("code")),
            encounter=_encounter_param(),
            category=SearchParam(
                "category",
                TOKEN,
                "encounter-diagnosis | problem-list-item",
                token=_condition_category,
            ),
            **{
                "clinical-status": SearchParam(
                    "clinical-status",
                    TOKEN,
                    "active | inactive | resolved",
                    token=_clinical_status,
                ),
                "verification-status": SearchParam(
                    "verification-status",
                    TOKEN,
                    "confirmed | provisional | entered-in-error",
                    token=choice_token(
                        "verification_status",
                        _identity(ConditionVerification.values),
                        systems.CONDITION_VERIFICATION,
                    ),
                ),
                "onset-date": SearchParam(
                    "onset-date", DATE, "Onset", date_fields=("onset_date", None), days=True
                ),
                "recorded-date": SearchParam(
                    "recorded-date", DATE, "When recorded", date_fields=("recorded_at", None)
                ),
            },
        ),
        sorts={
            "recorded-date": ("recorded_at",),
            "onset-date": ("onset_date",),
            "_lastUpdated": ("updated_at",),
        },
        includes={**_PATIENT_INCLUDES, "encounter": Include("encounter", "Encounter", "encounter")},
    )
)


# --- Observation -----------------------------------------------------------------------------------


def _observations(actor: Actor) -> QuerySet[Observation]:
    # The systolic and diastolic rows live inside their panel's resource, not on their own.
    return selectors.observations_visible_to(actor).filter(panel__isnull=True)


def _loinc(system: str | None, code: str) -> Q:
    if system not in (None, systems.LOINC):
        return NOTHING
    return Q(code=code) if code else Q()


def _observation_category(system: str | None, code: str) -> Q:
    if system not in (None, systems.OBSERVATION_CATEGORY):
        return NOTHING
    lab = list(systems.LABORATORY_CODES)
    return {
        "laboratory": Q(code__in=lab),
        "vital-signs": ~Q(code__in=lab),
        "": Q(),
    }.get(code, NOTHING)


def _observations_to_fhir(rows: Sequence[Observation], actor: Actor) -> list[dict[str, Any]]:
    return [observation_to_fhir(o, components=list(o.components.all())) for o in rows]


OBSERVATION = register(
    ResourceDef(
        type="Observation",
        read_permission=Permission.CLINICAL_READ,
        write_permission=Permission.CLINICAL_WRITE,
        queryset=_observations,
        load=lambda qs: qs.select_related("person", "encounter").prefetch_related("components"),
        to_fhir=_observations_to_fhir,
        audit_type="Observation",
        documentation="Vital signs and measurements (LOINC, UCUM) of persons inside the caller's "
        "territory; blood pressure as one panel with two components.",
        params=_common(
            code=SearchParam("code", TOKEN, "LOINC code", token=_loinc),
            category=SearchParam(
                "category", TOKEN, "vital-signs | laboratory", token=_observation_category
            ),
            date=SearchParam("date", DATE, "When measured", date_fields=("effective_at", None)),
            status=SearchParam(
                "status",
                TOKEN,
                "final | amended | entered-in-error",
                token=choice_token("status", _identity(ObservationStatus.values)),
            ),
            encounter=_encounter_param(),
            **{
                "value-quantity": SearchParam(
                    "value-quantity",
                    QUANTITY,
                    "The measured value ([prefix]number|system|code)",
                    quantity_fields=("value", "unit"),
                )
            },
        ),
        sorts={"date": ("effective_at",), "_lastUpdated": ("updated_at",)},
        includes={**_PATIENT_INCLUDES, "encounter": Include("encounter", "Encounter", "encounter")},
    )
)


# --- AllergyIntolerance and Immunization ---------------------------------------------------------

ALLERGY = register(
    ResourceDef(
        type="AllergyIntolerance",
        read_permission=Permission.CLINICAL_READ,
        write_permission=Permission.CLINICAL_WRITE,
        queryset=selectors.allergies_visible_to,
        load=lambda qs: qs.select_related("person", "encounter", "medicine"),
        to_fhir=lambda rows, actor: [allergy_to_fhir(a) for a in rows],
        audit_type="AllergyIntolerance",
        documentation="Allergies and intolerances of persons inside the caller's territory.",
        params=_common(
            category=SearchParam(
                "category",
                TOKEN,
                "medication | food | environment | biologic",
                token=choice_token(
                    "category", _identity(["medication", "food", "environment", "biologic"])
                ),
            ),
            criticality=SearchParam(
                "criticality",
                TOKEN,
                "low | high | unable-to-assess",
                token=choice_token("criticality", _identity(["low", "high", "unable-to-assess"])),
            ),
            **{
                "clinical-status": SearchParam(
                    "clinical-status",
                    TOKEN,
                    "active | inactive | resolved",
                    token=choice_token(
                        "status",
                        _identity(["active", "inactive", "resolved"]),
                        systems.ALLERGY_CLINICAL,
                    ),
                )
            },
        ),
        sorts={"date": ("recorded_at",), "_lastUpdated": ("updated_at",)},
        includes=dict(_PATIENT_INCLUDES),
    )
)

IMMUNIZATION = register(
    ResourceDef(
        type="Immunization",
        read_permission=Permission.CLINICAL_READ,
        write_permission=Permission.CLINICAL_WRITE,
        queryset=selectors.immunizations_visible_to,
        load=lambda qs: qs.select_related("person", "encounter", "facility"),
        to_fhir=lambda rows, actor: [immunization_to_fhir(i) for i in rows],
        audit_type="Immunization",
        documentation="Vaccine doses of persons inside the caller's territory.",
        params=_common(
            date=SearchParam(
                "date", DATE, "Date applied", date_fields=("occurrence_date", None), days=True
            ),
            status=SearchParam(
                "status",
                TOKEN,
                "completed | entered-in-error",
                token=choice_token("status", _identity(ImmunizationStatus.values)),
            ),
        ),
        sorts={"date": ("occurrence_date",), "_lastUpdated": ("updated_at",)},
        includes=dict(_PATIENT_INCLUDES),
    )
)

__all__ = ["ALLERGY", "CONDITION", "ENCOUNTER", "IMMUNIZATION", "OBSERVATION"]
