"""Clinical record API, mounted at /api/clinical/. Thin: selectors and services check permissions,
scope and input, and audit; this module maps HTTP to them. Only opaque public ids leave the system."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import HttpRequest
from ninja import Query, Router, Status

from bienestar.access.api_auth import request_actor
from bienestar.access.scopes import reads, writes
from bienestar.clinical import selectors, services
from bienestar.clinical import vitals as vitals_mod
from bienestar.clinical.schemas import (
    AllergyIn,
    AllergyOut,
    AllergyStatusIn,
    ConditionIn,
    ConditionOut,
    ConditionResolveIn,
    EncounterCancelIn,
    EncounterCloseIn,
    EncounterIn,
    EncounterOut,
    EncounterPage,
    Icd10Page,
    ImmunizationIn,
    ImmunizationOut,
    ObservationIn,
    ObservationOut,
    ScheduledDoseOut,
    VitalPointOut,
    allergy_out,
    condition_out,
    encounter_out,
    icd10_out,
    immunization_out,
    observation_out,
    scheduled_dose_out,
)
from bienestar.core.api import MAX_LIMIT, MAX_OFFSET, NO_NUL, page

router = Router(tags=["clinical"])


def _encounter(e: Any) -> dict[str, Any]:
    return encounter_out(e, selectors.vitals_of(e))


def _condition(c: Any) -> dict[str, Any]:
    """`c` comes from a selector or a service, with its person and encounter loaded."""
    return condition_out(
        c,
        person=c.person.public_id,
        encounter=c.encounter.public_id if c.encounter is not None else None,
    )


def _observations(rows: list[Any]) -> list[dict[str, Any]]:
    panels = {o.pk: o.public_id for o in rows if o.code == vitals_mod.BP_PANEL}
    return [observation_out(o, panels.get(o.panel_id)) for o in rows]


# --- terminology ----------------------------------------------------------------------------------


@router.get(
    "/icd10",
    response=Icd10Page,
    summary="Search CIE-10 diagnoses by code or words",
    openapi_extra=reads("CodeSystem"),
)
def icd10_search(
    request: HttpRequest,
    q: str = Query(..., min_length=1, max_length=100, pattern=NO_NUL),
    limit: int = Query(20, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> dict[str, Any]:
    result = selectors.icd10_search(request_actor(request), text=q, limit=limit, offset=offset)
    return page(
        request,
        items=[icd10_out(c) for c in result.items],
        limit=limit,
        offset=offset,
        count=result.count,
    )


# --- encounters -----------------------------------------------------------------------------------


@router.post(
    "/encounters",
    response={201: EncounterOut},
    summary="Record an encounter with its diagnoses and vital signs (one transaction)",
    openapi_extra=writes("Encounter", "Condition", "Observation"),
)
def encounter_record(request: HttpRequest, payload: EncounterIn) -> Status[dict[str, Any]]:
    encounter = services.encounter_record(
        request_actor(request),
        person=payload.person,
        encounter_class=payload.encounter_class,
        reason_text=payload.reason_text,
        reason_code=payload.reason_code,
        diagnoses=[
            services.DiagnosisInput(
                code=d.code, verification=d.verification, onset_date=d.onset_date, note=d.note
            )
            for d in payload.diagnoses
        ],
        vitals=payload.vitals.values() if payload.vitals else None,
        start=payload.start,
        end=payload.end,
        facility=payload.facility,
        practitioner=payload.practitioner,
    )
    return Status(201, _encounter(selectors.encounter_written(encounter)))


@router.get(
    "/encounters/{public_id}",
    response=EncounterOut,
    summary="One encounter",
    openapi_extra=reads("Encounter"),
)
def encounter_detail(request: HttpRequest, public_id: UUID) -> dict[str, Any]:
    return _encounter(selectors.encounter_get(request_actor(request), encounter=public_id))


@router.post(
    "/encounters/{public_id}/close",
    response=EncounterOut,
    summary="Finish an encounter",
    openapi_extra=writes("Encounter"),
)
def encounter_close(
    request: HttpRequest, public_id: UUID, payload: EncounterCloseIn
) -> dict[str, Any]:
    encounter = services.encounter_close(
        request_actor(request), encounter=public_id, end=payload.end
    )
    return _encounter(selectors.encounter_written(encounter))


@router.post(
    "/encounters/{public_id}/cancel",
    response=EncounterOut,
    summary="Cancel an encounter, or mark it entered in error",
    openapi_extra=writes("Encounter"),
)
def encounter_cancel(
    request: HttpRequest, public_id: UUID, payload: EncounterCancelIn
) -> dict[str, Any]:
    encounter = services.encounter_cancel(
        request_actor(request), encounter=public_id, entered_in_error=payload.entered_in_error
    )
    return _encounter(selectors.encounter_written(encounter))


@router.post(
    "/encounters/{public_id}/observations",
    response={201: list[ObservationOut]},
    summary="Record vital signs in an encounter",
    openapi_extra=writes("Observation"),
)
def encounter_observations(
    request: HttpRequest, public_id: UUID, payload: ObservationIn
) -> Status[list[dict[str, Any]]]:
    rows = services.observation_record(
        request_actor(request),
        encounter=public_id,
        vitals=payload.vitals.values(),
        effective_at=payload.effective_at,
    )
    return Status(201, _observations(rows))


@router.post(
    "/encounters/{public_id}/conditions",
    response={201: ConditionOut},
    summary="Add a diagnosis to an encounter",
    openapi_extra=writes("Condition"),
)
def encounter_condition(
    request: HttpRequest, public_id: UUID, payload: ConditionIn
) -> Status[dict[str, Any]]:
    condition = services.condition_add(
        request_actor(request),
        encounter=public_id,
        code=payload.code,
        verification=payload.verification,
        clinical_status=payload.clinical_status,
        onset_date=payload.onset_date,
        note=payload.note,
    )
    return Status(201, _condition(condition))


# --- per person -----------------------------------------------------------------------------------


@router.get(
    "/persons/{public_id}/encounters",
    response=EncounterPage,
    summary="Encounter timeline",
    openapi_extra=reads("Encounter"),
)
def person_encounters(
    request: HttpRequest,
    public_id: UUID,
    limit: int = Query(20, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> dict[str, Any]:
    result = selectors.encounter_timeline(
        request_actor(request), person=public_id, limit=limit, offset=offset
    )
    out = page(
        request, items=[_encounter(e) for e in result.items], limit=limit, offset=offset, count=None
    )
    if not result.has_more:
        out["next"] = None
    return out


@router.get(
    "/persons/{public_id}/problems",
    response=list[ConditionOut],
    summary="Active problem list",
    openapi_extra=reads("Condition"),
)
def person_problems(request: HttpRequest, public_id: UUID) -> list[dict[str, Any]]:
    return [_condition(c) for c in selectors.problem_list(request_actor(request), person=public_id)]


@router.post(
    "/persons/{public_id}/conditions",
    response={201: ConditionOut},
    summary="Add a diagnosis to the problem list, outside an encounter",
    openapi_extra=writes("Condition"),
)
def person_condition(
    request: HttpRequest, public_id: UUID, payload: ConditionIn
) -> Status[dict[str, Any]]:
    condition = services.condition_add(
        request_actor(request),
        person=public_id,
        code=payload.code,
        verification=payload.verification,
        clinical_status=payload.clinical_status,
        onset_date=payload.onset_date,
        note=payload.note,
        facility=payload.facility,
    )
    return Status(201, _condition(condition))


@router.post(
    "/conditions/{public_id}/resolve",
    response=ConditionOut,
    summary="Resolve a problem",
    openapi_extra=writes("Condition"),
)
def condition_resolve(
    request: HttpRequest, public_id: UUID, payload: ConditionResolveIn
) -> dict[str, Any]:
    condition = services.condition_resolve(
        request_actor(request),
        condition=public_id,
        abatement_date=payload.abatement_date,
        clinical_status=payload.clinical_status,
    )
    return _condition(condition)


@router.get(
    "/persons/{public_id}/vitals",
    response=dict[str, ObservationOut],
    summary="Latest value of each vital sign",
    openapi_extra=reads("Observation"),
)
def person_latest_vitals(request: HttpRequest, public_id: UUID) -> dict[str, Any]:
    latest = selectors.latest_vitals(request_actor(request), person=public_id)
    return {key: observation_out(o) for key, o in latest.items()}


@router.post(
    "/persons/{public_id}/observations",
    response={201: list[ObservationOut]},
    summary="Record vital signs outside an encounter",
    openapi_extra=writes("Observation"),
)
def person_observations(
    request: HttpRequest, public_id: UUID, payload: ObservationIn
) -> Status[list[dict[str, Any]]]:
    rows = services.observation_record(
        request_actor(request),
        person=public_id,
        vitals=payload.vitals.values(),
        effective_at=payload.effective_at,
        facility=payload.facility,
    )
    return Status(201, _observations(rows))


@router.get(
    "/persons/{public_id}/vitals/{key}",
    response=list[VitalPointOut],
    summary="Series of one vital sign for a chart (key: bp, glucose, weight…)",
    openapi_extra=reads("Observation"),
)
def person_vitals_series(
    request: HttpRequest, public_id: UUID, key: str, limit: int = Query(100, ge=1, le=500)
) -> list[dict[str, Any]]:
    points = selectors.vitals_series(request_actor(request), person=public_id, key=key, limit=limit)
    return [{"at": p.at, "value": p.value, "value2": p.value2, "unit": p.unit} for p in points]


@router.get(
    "/persons/{public_id}/allergies",
    response=list[AllergyOut],
    summary="Allergies",
    openapi_extra=reads("AllergyIntolerance"),
)
def person_allergies(
    request: HttpRequest, public_id: UUID, include_inactive: bool = False
) -> list[dict[str, Any]]:
    rows = selectors.allergy_list(
        request_actor(request), person=public_id, include_inactive=include_inactive
    )
    return [allergy_out(a) for a in rows]


@router.post(
    "/persons/{public_id}/allergies",
    response={201: AllergyOut},
    summary="Record an allergy",
    openapi_extra=writes("AllergyIntolerance"),
)
def person_allergy_add(
    request: HttpRequest, public_id: UUID, payload: AllergyIn
) -> Status[dict[str, Any]]:
    allergy = services.allergy_add(request_actor(request), person=public_id, **payload.model_dump())
    return Status(201, allergy_out(allergy))


@router.post(
    "/allergies/{public_id}/status",
    response=AllergyOut,
    summary="Change an allergy's status",
    openapi_extra=writes("AllergyIntolerance"),
)
def allergy_status(
    request: HttpRequest, public_id: UUID, payload: AllergyStatusIn
) -> dict[str, Any]:
    allergy = services.allergy_set_status(
        request_actor(request), allergy=public_id, status=payload.status
    )
    return allergy_out(allergy)


@router.get(
    "/persons/{public_id}/immunizations",
    response=list[ImmunizationOut],
    summary="Vaccines applied",
    openapi_extra=reads("Immunization"),
)
def person_immunizations(request: HttpRequest, public_id: UUID) -> list[dict[str, Any]]:
    return [
        immunization_out(i)
        for i in selectors.immunization_list(request_actor(request), person=public_id)
    ]


@router.get(
    "/persons/{public_id}/immunizations/schedule",
    response=list[ScheduledDoseOut],
    summary="The national schedule with each dose's status for this person",
    openapi_extra=reads("Immunization"),
)
def person_immunization_schedule(request: HttpRequest, public_id: UUID) -> list[dict[str, Any]]:
    doses = selectors.immunization_schedule(request_actor(request), person=public_id)
    return [scheduled_dose_out(d) for d in doses]


@router.post(
    "/persons/{public_id}/immunizations",
    response={201: ImmunizationOut},
    summary="Record a vaccine dose (checked against the national schedule)",
    openapi_extra=writes("Immunization"),
)
def person_immunization_record(
    request: HttpRequest, public_id: UUID, payload: ImmunizationIn
) -> Status[dict[str, Any]]:
    immunization = services.immunization_record(
        request_actor(request), person=public_id, **payload.model_dump()
    )
    return Status(201, immunization_out(immunization))
