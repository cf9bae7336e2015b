"""Prescriptions API at /api/prescriptions/: prescribe, read (by id, by code, per person, the
pharmacy's queue), cancel, dispense, and the fill rate. Thin: selectors and services check
permissions, scope and audit. Only opaque ids leave the system.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Header, Path, Query, Router, Schema, Status
from pydantic import StrictInt

from bienestar.access.api_auth import request_actor
from bienestar.access.scopes import reads, writes
from bienestar.core.api import NO_NUL
from bienestar.facilities.selectors import facility_get
from bienestar.people import national_id
from bienestar.prescribing import codes, selectors, services
from bienestar.prescribing.fill_rate import FillRate
from bienestar.prescribing.models import Prescription, PrescriptionLine, UnfilledReason
from bienestar.territories.api import PATH_PATTERN

router = Router(tags=["prescriptions"])

MEDICINE_KEY = r"^[0-9A-Za-z.\-]{1,20}$"


# --- Schemas (shape only) -----------------------------------------------------------------------


class LineIn(Schema):
    medicine: str = Field(..., pattern=MEDICINE_KEY, examples=["010.000.5165.00"])
    quantity: StrictInt = Field(..., gt=0, description="Units to dispense")
    dose: str = Field(..., min_length=1, max_length=80, pattern=NO_NUL, examples=["1 tableta"])
    frequency: str = Field(
        ..., min_length=1, max_length=80, pattern=NO_NUL, examples=["cada 12 horas"]
    )
    duration_days: StrictInt = Field(..., ge=1, le=services.MAX_DURATION_DAYS)
    instructions: str = Field("", max_length=300, pattern=NO_NUL)


class PrescriptionIn(Schema):
    person: UUID
    encounter: UUID | None = None
    facility: str | None = Field(
        None, max_length=36, pattern=NO_NUL, description="Prescribing facility (UUID or CLUES)"
    )
    note: str = Field("", max_length=500, pattern=NO_NUL)
    lines: list[LineIn] = Field(..., min_length=1, max_length=services.MAX_LINES)


class CancelIn(Schema):
    reason: str = Field(..., min_length=1, max_length=300, pattern=NO_NUL)


class DispenseLineIn(Schema):
    line: UUID
    quantity: StrictInt = Field(..., ge=0, description="Units handed over now (0 = none)")
    reason_if_unfilled: UnfilledReason | None = None
    note: str = Field("", max_length=300, pattern=NO_NUL)


class DispenseIn(Schema):
    lines: list[DispenseLineIn] = Field(..., min_length=1, max_length=services.MAX_LINES)


class Ref(Schema):
    public_id: UUID
    name: str


class PersonRef(Schema):
    public_id: UUID
    national_health_id: str
    name: str


class MedicineRef(Schema):
    key: str
    generic_name: str
    form: str
    strength: str


class LineOut(Schema):
    public_id: UUID
    position: int
    medicine: MedicineRef
    dose: str
    frequency: str
    duration_days: int
    instructions: str
    quantity: int
    dispensed_quantity: int
    remaining: int
    status: str


class LotUsedOut(Schema):
    lot_number: str
    expiry: dt.date
    quantity: int


class DispenseLineOut(Schema):
    line: UUID
    medicine: str
    quantity: int
    unfilled_quantity: int
    unfilled_reason: str
    unfilled_note: str
    lots: list[LotUsedOut]


class DispenseOut(Schema):
    public_id: UUID
    at: dt.datetime
    pharmacy: Ref
    dispensed_by: str
    lines: list[DispenseLineOut]


class PrescriptionSummaryOut(Schema):
    public_id: UUID
    code: str
    code_display: str
    person: PersonRef
    facility: Ref
    prescriber: str
    authored_at: dt.datetime
    valid_until: dt.date
    status: str
    lines: list[LineOut]


class PrescriptionOut(PrescriptionSummaryOut):
    encounter: UUID | None
    note: str
    cancel_reason: str
    dispenses: list[DispenseOut]


class FillRateOut(Schema):
    facility: Ref | None
    territory: str | None
    date_from: dt.date
    date_to: dt.date
    prescriptions: int
    lines_prescribed: int
    lines_filled: int
    line_rate: str | None = Field(None, description="Decimal in [0, 1] as a string")
    units_prescribed: int
    units_dispensed: int
    unit_rate: str | None = Field(None, description="Decimal in [0, 1] as a string")
    provisional: bool


# --- Mapping ------------------------------------------------------------------------------------


def _line(line: PrescriptionLine) -> dict[str, Any]:
    m = line.medicine
    return {
        "public_id": line.public_id,
        "position": line.position,
        "medicine": {
            "key": m.key,
            "generic_name": m.generic_name,
            "form": m.form,
            "strength": m.strength,
        },
        "dose": line.dose,
        "frequency": line.frequency,
        "duration_days": line.duration_days,
        "instructions": line.instructions,
        "quantity": line.quantity,
        "dispensed_quantity": line.dispensed_quantity,
        "remaining": line.remaining,
        "status": line.status,
    }


def _summary(p: Prescription) -> dict[str, Any]:
    person = p.person
    return {
        "public_id": p.public_id,
        "code": p.code,
        "code_display": codes.display(p.code),
        "person": {
            "public_id": person.public_id,
            "national_health_id": national_id.display(person.national_health_id),
            "name": " ".join(
                x for x in (person.given_names, person.first_surname, person.second_surname) if x
            ),
        },
        "facility": {"public_id": p.facility.public_id, "name": p.facility.name},
        "prescriber": str(p.prescriber) if p.prescriber else "",
        "authored_at": p.authored_at,
        "valid_until": p.valid_until,
        "status": p.status_on(timezone.localdate()),
        "lines": [_line(line) for line in p.lines.all()],
    }


def _dispense(view: selectors.DispenseView) -> dict[str, Any]:
    d = view.dispense
    return {
        "public_id": d.public_id,
        "at": d.at,
        "pharmacy": {"public_id": d.pharmacy.public_id, "name": d.pharmacy.name},
        "dispensed_by": d.dispensed_by.get_username(),
        "lines": [
            {
                "line": lv.line.prescription_line.public_id,
                "medicine": lv.line.prescription_line.medicine_id,
                "quantity": lv.line.quantity,
                "unfilled_quantity": lv.line.unfilled_quantity,
                "unfilled_reason": lv.line.unfilled_reason,
                "unfilled_note": lv.line.unfilled_note,
                "lots": [
                    {"lot_number": u.lot_number, "expiry": u.expiry, "quantity": u.quantity}
                    for u in lv.lots
                ],
            }
            for lv in view.lines
        ],
    }


def _detail(request: HttpRequest, p: Prescription) -> dict[str, Any]:
    dispenses = selectors.prescription_dispenses(request_actor(request), prescription=p)
    return {
        **_summary(p),
        "encounter": p.encounter.public_id if p.encounter else None,
        "note": p.note,
        "cancel_reason": p.cancel_reason,
        "dispenses": [_dispense(v) for v in dispenses],
    }


def _fill_rate(f: FillRate) -> dict[str, Any]:
    return {
        "facility": {"public_id": f.facility.public_id, "name": f.facility.name}
        if f.facility
        else None,
        "territory": f.territory_path,
        "date_from": f.date_from,
        "date_to": f.date_to,
        "prescriptions": f.prescriptions,
        "lines_prescribed": f.lines_prescribed,
        "lines_filled": f.lines_filled,
        "line_rate": str(f.line_rate) if f.line_rate is not None else None,
        "units_prescribed": f.units_prescribed,
        "units_dispensed": f.units_dispensed,
        "unit_rate": str(f.unit_rate) if f.unit_rate is not None else None,
        "provisional": f.provisional,
    }


# --- Endpoints ----------------------------------------------------------------------------------
# Fixed paths are declared before `/{public_id}` so that they are matched first.


@router.get(
    "/",
    response=list[PrescriptionSummaryOut],
    summary="A person's prescriptions, newest first",
    openapi_extra=reads("MedicationRequest"),
)
def prescriptions_of_person(
    request: HttpRequest, person: UUID, limit: int = Query(50, ge=1, le=100)
) -> list[dict[str, Any]]:
    actor = request_actor(request)
    person_row = selectors.person_for_prescribing(actor, public_id=person)
    rows = selectors.prescriptions_for_person(actor, person=person_row, limit=limit)
    return [_summary(p) for p in rows]


@router.get(
    "/queue",
    response=list[PrescriptionSummaryOut],
    summary="Prescriptions waiting to be dispensed (own facility, or whole territory)",
    openapi_extra=reads("MedicationRequest"),
)
def queue(
    request: HttpRequest,
    whole_territory: bool = False,
    limit: int = Query(50, ge=1, le=100),
    offset: int = Query(0, ge=0, le=10_000),
) -> list[dict[str, Any]]:
    rows = selectors.prescription_queue(
        request_actor(request), whole_territory=whole_territory, limit=limit, offset=offset
    )
    return [_summary(p) for p in rows]


@router.get(
    "/dispenses/{public_id}",
    response=DispenseOut,
    summary="One dispense (its prescription readable, or recorded at the caller's pharmacy)",
    openapi_extra=reads("MedicationDispense"),
)
def dispense_detail(request: HttpRequest, public_id: UUID) -> dict[str, Any]:
    actor = request_actor(request)
    found = selectors.dispense_get(actor, public_id=public_id)
    views = selectors.prescription_dispenses(actor, prescription=found.prescription)
    return _dispense(next(v for v in views if v.dispense.pk == found.pk))


@router.get(
    "/by-code/{code}",
    response=PrescriptionOut,
    summary="One prescription by its code",
    openapi_extra=reads("MedicationRequest"),
)
def by_code(
    request: HttpRequest, code: str = Path(..., max_length=20, pattern=NO_NUL)
) -> dict[str, Any]:
    return _detail(request, selectors.prescription_by_code(request_actor(request), code=code))


@router.get(
    "/fill-rate",
    response=FillRateOut,
    summary="Prescription fill rate",
    openapi_extra=reads("MeasureReport"),
)
def fill_rate(
    request: HttpRequest,
    date_from: dt.date,
    date_to: dt.date,
    facility: str | None = Query(None, max_length=36, pattern=NO_NUL),
    territory: str | None = Query(None, max_length=120, pattern=PATH_PATTERN),
) -> dict[str, Any]:
    actor = request_actor(request)
    facility_row = facility_get(actor, key=facility, with_opening_hours=False) if facility else None
    return _fill_rate(
        selectors.fill_rate(
            actor,
            date_from=date_from,
            date_to=date_to,
            facility=facility_row,
            territory_path=territory,
        )
    )


@router.get(
    "/fill-rate/by-facility",
    response=list[FillRateOut],
    summary="Fill rate of each prescribing facility in a territory",
    openapi_extra=reads("MeasureReport"),
)
def fill_rate_by_facility(
    request: HttpRequest,
    date_from: dt.date,
    date_to: dt.date,
    territory: str | None = Query(None, max_length=120, pattern=PATH_PATTERN),
) -> list[dict[str, Any]]:
    rows = selectors.fill_rate_by_facility(
        request_actor(request), date_from=date_from, date_to=date_to, territory_path=territory
    )
    return [_fill_rate(f) for f in rows]


@router.post(
    "/",
    response={201: PrescriptionOut},
    summary="Prescribe",
    openapi_extra=writes("MedicationRequest"),
)
def prescribe(request: HttpRequest, payload: PrescriptionIn) -> Status[dict[str, Any]]:
    actor = request_actor(request)
    person = selectors.person_for_prescribing(actor, public_id=payload.person)
    encounter = (
        selectors.encounter_for_prescribing(actor, person=person, public_id=payload.encounter)
        if payload.encounter
        else None
    )
    facility = (
        facility_get(actor, key=payload.facility, with_opening_hours=False)
        if payload.facility
        else None
    )
    prescription = services.prescription_create(
        actor,
        person=person,
        encounter=encounter,
        facility=facility,
        note=payload.note,
        lines=[
            services.LineInput(
                medicine_key=line.medicine,
                quantity=line.quantity,
                dose=line.dose,
                frequency=line.frequency,
                duration_days=line.duration_days,
                instructions=line.instructions,
            )
            for line in payload.lines
        ],
    )
    fresh = selectors.prescription_refetch(prescription)
    return Status(201, _detail(request, fresh))


@router.get(
    "/{public_id}",
    response=PrescriptionOut,
    summary="One prescription",
    openapi_extra=reads("MedicationRequest"),
)
def detail(request: HttpRequest, public_id: UUID) -> dict[str, Any]:
    return _detail(request, selectors.prescription_get(request_actor(request), public_id=public_id))


@router.post(
    "/{public_id}/cancel",
    response=PrescriptionOut,
    summary="Cancel a prescription",
    openapi_extra=writes("MedicationRequest"),
)
def cancel(request: HttpRequest, public_id: UUID, payload: CancelIn) -> dict[str, Any]:
    actor = request_actor(request)
    prescription = selectors.prescription_for_change(actor, public_id=public_id)
    services.prescription_cancel(actor, prescription=prescription, reason=payload.reason)
    fresh = selectors.prescription_refetch(prescription)
    return _detail(request, fresh)


IDEMPOTENCY_KEY = r"^[\x21-\x7e]{1,200}$"


@router.post(
    "/{public_id}/dispenses",
    response={201: PrescriptionOut},
    summary="Dispense at the caller's own pharmacy",
    description=(
        "Send an `Idempotency-Key` header (1-200 visible ASCII characters, unique per dispense) "
        "to make the call safe to repeat: the same key from the same user records the dispense "
        "once, and a repeat answers 201 with the prescription as it stands and the header "
        "`Idempotent-Replayed: true`. The same key with other lines or quantities is a 422 "
        "(`idempotency_key_reused`), and for another prescription a 409."
    ),
    openapi_extra=writes("MedicationDispense"),
)
def dispense(
    request: HttpRequest,
    response: HttpResponse,
    public_id: UUID,
    payload: DispenseIn,
    key: str | None = Header(
        None,
        alias="Idempotency-Key",
        pattern=IDEMPOTENCY_KEY,
        description="1-200 visible ASCII characters, unique per dispense",
    ),
) -> Status[dict[str, Any]]:
    actor = request_actor(request)
    pharmacy = services.actor_pharmacy(actor)
    prescription = selectors.prescription_for_dispensing(actor, public_id=public_id)
    lines = selectors.prescription_lines_by_public_id(
        prescription, [item.line for item in payload.lines]
    )
    at = timezone.now()
    recorded = services.dispense_record(
        actor,
        prescription=prescription,
        pharmacy=pharmacy,
        at=at,
        public_id=(
            services.idempotent_dispense_id(user=actor.user, key=key)
            if key is not None and actor.user is not None
            else None
        ),
        lines=[
            services.DispenseLineInput(
                line=lines[item.line],
                quantity=item.quantity,
                reason_if_unfilled=item.reason_if_unfilled or "",
                note=item.note,
            )
            for item in payload.lines
        ],
    )
    if recorded.at != at:
        response["Idempotent-Replayed"] = "true"
    fresh = selectors.prescription_refetch(prescription)
    return Status(201, _detail(request, fresh))
