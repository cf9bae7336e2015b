"""Reads of prescriptions and dispenses: scoped to the caller, every read audited.

Scope: a prescription is visible to an actor with PRESCRIPTION_READ when its person lives inside the
actor's territory (the same rule as the person registry). One exception, the network's promise that
a voucher is redeemable anywhere: a pharmacist (DISPENSE) holding the verification code may open a
prescription of a person from any territory while it can still be dispensed; that opening is audited
with `outside_territory: true`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.access.audit import audit_record
from bienestar.access.errors import Forbidden, OutOfScope
from bienestar.access.models import AuditAction
from bienestar.access.permissions import require
from bienestar.access.roles import Permission
from bienestar.clinical.models import Condition, Encounter
from bienestar.core.errors import ValidationFailed
from bienestar.facilities.models import Facility
from bienestar.inventory.models import StockMovement
from bienestar.people.models import Person
from bienestar.people.selectors import persons_visible_to
from bienestar.prescribing import codes
from bienestar.prescribing.fill_rate import FillRate, fill_rate, fill_rate_by_facility
from bienestar.prescribing.models import (
    Dispense,
    DispenseLine,
    Prescription,
    PrescriptionLine,
    dispensable_on_q,
)
from bienestar.territories.selectors import within

__all__ = [
    "DispenseLineView",
    "DispenseView",
    "FillRate",
    "LotUsed",
    "dispense_get",
    "dispense_lines_visible_to",
    "dispenses_visible_to",
    "encounter_for_prescribing",
    "fill_rate",
    "fill_rate_by_facility",
    "person_for_prescribing",
    "prescription_by_code",
    "prescription_diagnoses",
    "prescription_dispenses",
    "prescription_for_change",
    "prescription_for_dispensing",
    "prescription_get",
    "prescription_lines_by_public_id",
    "prescription_lines_visible_to",
    "prescription_open_for_dispensing",
    "prescription_queue",
    "prescription_refetch",
    "prescriptions_for_person",
    "prescriptions_visible_to",
]

QUEUE_LIMIT_MAX = 100


def prescriptions_visible_to(actor: Actor) -> QuerySet[Prescription]:
    """Every prescription of a person inside the actor's territory. Checks PRESCRIPTION_READ. Not
    audited by itself: the functions below audit what they return."""
    require(actor, Permission.PRESCRIPTION_READ)
    scope = actor.scope_path
    if scope is None:
        return Prescription.objects.none()
    return Prescription.objects.filter(within(scope, "person__territory__path"))


def _with_details(qs: QuerySet[Prescription]) -> QuerySet[Prescription]:
    return qs.select_related(
        "person__territory", "facility", "prescriber", "encounter"
    ).prefetch_related(
        Prefetch(
            "lines",
            queryset=PrescriptionLine.objects.select_related("medicine").order_by("position"),
        )
    )


def _audit_read(actor: Actor, prescription: Prescription, **query: Any) -> None:
    audit_record(
        actor,
        action=AuditAction.READ,
        resource_type="Prescription",
        resource_id=str(prescription.public_id),
        person_id=prescription.person_id,
        query=query or None,
    )


def prescription_get(actor: Actor, *, public_id: uuid.UUID | str) -> Prescription:
    """One prescription with its lines (medicine loaded), person and facility. Out of scope → the
    same 404 as a missing id. Audited."""
    prescription = (
        _with_details(prescriptions_visible_to(actor)).filter(public_id=public_id).first()
    )
    if prescription is None:
        raise OutOfScope()
    _audit_read(actor, prescription)
    return prescription


def prescription_by_code(actor: Actor, *, code: str, today: dt.date | None = None) -> Prescription:
    """The prescription a verification code names (typed or scanned, dashes optional).

    Inside the actor's territory, any status. Outside it, only for an actor who may dispense and
    only while the prescription can still be dispensed (the voucher is redeemable network-wide);
    otherwise 404. A mistyped code (bad check symbol) is a 422 that says so. Audited.
    """
    require(actor, Permission.PRESCRIPTION_READ)
    normalized = codes.normalize(code)
    if not codes.is_valid(normalized):
        raise ValidationFailed(
            _("Código de verificación inválido: revise que esté bien escrito."), field="code"
        )
    prescription = _with_details(Prescription.objects.all()).filter(code=normalized).first()
    if prescription is None:
        raise OutOfScope()
    in_scope = prescriptions_visible_to(actor).filter(pk=prescription.pk).exists()
    if in_scope:
        _audit_read(actor, prescription, by="code")
        return prescription
    today = today or timezone.localdate()
    if actor.can(Permission.DISPENSE) and prescription.is_dispensable_on(today):
        _audit_read(actor, prescription, by="code", outside_territory=True)
        return prescription
    raise OutOfScope()


def prescriptions_for_person(
    actor: Actor, *, person: Person, limit: int = 50
) -> list[Prescription]:
    """A person's prescriptions, newest first, with lines. One audit row (search, person_id)."""
    if not persons_visible_to(actor).filter(pk=person.pk).exists():
        raise OutOfScope()
    limit = max(1, min(limit, QUEUE_LIMIT_MAX))
    rows = list(
        _with_details(prescriptions_visible_to(actor).filter(person=person)).order_by(
            "-authored_at", "-id"
        )[:limit]
    )
    audit_record(
        actor,
        action=AuditAction.SEARCH,
        resource_type="Prescription",
        person_id=person.id,
        query={"person": str(person.public_id), "limit": limit},
        result_ids=[str(p.public_id) for p in rows],
    )
    return rows


def prescription_queue(
    actor: Actor,
    *,
    facility: Facility | None = None,
    whole_territory: bool = False,
    limit: int = 50,
    offset: int = 0,
    today: dt.date | None = None,
) -> list[Prescription]:
    """Prescriptions waiting at a pharmacy: still dispensable today (active or partially dispensed,
    not past `valid_until`), newest first.

    By default those written at the actor's own facility (or `facility`, which must be the actor's
    own or inside its territory); with `whole_territory`, every waiting prescription of a person in
    the actor's territory. One audit row lists the prescriptions returned.
    """
    qs = prescriptions_visible_to(actor)
    today = today or timezone.localdate()
    if not whole_territory:
        facility = facility or (actor.user.facility if actor.user is not None else None)
        if facility is None:
            raise ValidationFailed(_("Indique el establecimiento."), field="facility")
        own = actor.user.facility_id if actor.user is not None else None
        scope = actor.scope_path or ""
        path = facility.territory.path
        if facility.id != own and not (scope and (path == scope or path.startswith(scope + "."))):
            raise Forbidden(_("Este establecimiento está fuera de su ámbito."))
        qs = qs.filter(facility=facility)
    limit = max(1, min(limit, QUEUE_LIMIT_MAX))
    offset = max(0, offset)
    rows = list(
        _with_details(qs.filter(dispensable_on_q(today))).order_by("-authored_at", "-id")[
            offset : offset + limit
        ]
    )
    audit_record(
        actor,
        action=AuditAction.SEARCH,
        resource_type="Prescription",
        query={
            "queue": "territory"
            if whole_territory
            else str(facility.public_id if facility else ""),
            "limit": limit,
            "offset": offset,
        },
        result_ids=[str(p.public_id) for p in rows],
        person_ids=[p.person_id for p in rows],
    )
    return rows


@dataclass(frozen=True)
class LotUsed:
    lot_number: str
    expiry: dt.date
    quantity: int


@dataclass(frozen=True)
class DispenseLineView:
    line: DispenseLine
    lots: list[LotUsed]


@dataclass(frozen=True)
class DispenseView:
    dispense: Dispense
    lines: list[DispenseLineView]


def prescription_dispenses(actor: Actor, *, prescription: Prescription) -> list[DispenseView]:
    """The dispenses of a prescription already read through `prescription_get` or
    `prescription_by_code` (which wrote the audit row for that read), oldest first, each line with
    the lots its units came from. Three queries."""
    require(actor, Permission.PRESCRIPTION_READ)
    dispenses = list(
        Dispense.objects.filter(prescription=prescription)
        .select_related("pharmacy", "dispensed_by")
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=DispenseLine.objects.select_related(
                    "prescription_line__medicine"
                ).order_by("prescription_line__position"),
            )
        )
        .order_by("at", "id")
    )
    refs = {line.stock_reference: line for dispense in dispenses for line in dispense.lines.all()}
    lots: dict[str, list[LotUsed]] = defaultdict(list)
    for ref, number, expiry, quantity in (
        StockMovement.objects.filter(reference__in=list(refs))
        .order_by("id")
        .values_list("reference", "lot__lot_number", "lot__expiry", "quantity")
    ):
        lots[ref].append(LotUsed(lot_number=number, expiry=expiry, quantity=-quantity))
    return [
        DispenseView(
            dispense=d,
            lines=[
                DispenseLineView(line=li, lots=lots[li.stock_reference]) for li in d.lines.all()
            ],
        )
        for d in dispenses
    ]


# --- Look-ups for the write endpoints. Not audited: the service they feed audits the access together
# with the change, so one request leaves one audit row (as people/api.py does for updates).


def person_for_prescribing(actor: Actor, *, public_id: uuid.UUID) -> Person:
    person = persons_visible_to(actor).filter(public_id=public_id).first()
    if person is None:
        raise OutOfScope()
    return person


def encounter_for_prescribing(actor: Actor, *, person: Person, public_id: uuid.UUID) -> Encounter:
    """An encounter of that person (already checked visible), else 422."""
    encounter = (
        Encounter.objects.select_related("facility")
        .filter(public_id=public_id, person=person)
        .first()
    )
    if encounter is None:
        raise ValidationFailed(_("Atención desconocida para esta persona."), field="encounter")
    return encounter


def prescription_for_change(actor: Actor, *, public_id: uuid.UUID) -> Prescription:
    prescription = prescriptions_visible_to(actor).filter(public_id=public_id).first()
    if prescription is None:
        raise OutOfScope()
    return prescription


def prescription_for_dispensing(
    actor: Actor, *, public_id: uuid.UUID, today: dt.date | None = None
) -> Prescription:
    """A prescription the actor may dispense: inside its territory, or — for a pharmacist, as with
    `prescription_by_code` — one of any territory that can still be dispensed."""
    require(actor, Permission.PRESCRIPTION_READ)
    prescription = Prescription.objects.filter(public_id=public_id).first()
    if prescription is None:
        raise OutOfScope()
    if prescriptions_visible_to(actor).filter(pk=prescription.pk).exists():
        return prescription
    if actor.can(Permission.DISPENSE) and prescription.is_dispensable_on(
        today or timezone.localdate()
    ):
        return prescription
    raise OutOfScope()


def prescription_lines_by_public_id(
    prescription: Prescription, public_ids: list[uuid.UUID]
) -> dict[uuid.UUID, PrescriptionLine]:
    """The prescription's lines named by opaque id; an id of no line of it is refused."""
    found = {
        line.public_id: line
        for line in PrescriptionLine.objects.filter(
            prescription=prescription, public_id__in=public_ids
        )
    }
    missing = set(public_ids) - set(found)
    if missing:
        raise ValidationFailed(_("El renglón no pertenece a esta receta."), field="line")
    return found


def prescription_diagnoses(prescription: Prescription) -> list[Condition]:
    """The diagnoses (CIE-10) of the encounter a prescription was written in, principal first: a
    Mexican prescription carries them. For a prescription already read through `prescription_get`
    (which audited the read); [] when it was written outside an encounter."""
    if prescription.encounter_id is None:
        return []
    return list(
        Condition.objects.filter(encounter_id=prescription.encounter_id)
        .select_related("code")
        .order_by("rank", "id")
    )


def prescription_refetch(prescription: Prescription) -> Prescription:
    """The same prescription reloaded with its lines and relations, right after a service wrote it
    (and audited the access). Not for reading a prescription the caller has not just written."""
    return _with_details(Prescription.objects.filter(pk=prescription.pk)).get()


def prescription_lines_visible_to(actor: Actor) -> QuerySet[PrescriptionLine]:
    """Every prescription line of a person inside the actor's territory (PRESCRIPTION_READ). Not
    audited by itself: the caller (the FHIR API) audits each line it discloses."""
    require(actor, Permission.PRESCRIPTION_READ)
    scope = actor.scope_path
    if scope is None:
        return PrescriptionLine.objects.none()
    return PrescriptionLine.objects.filter(within(scope, "person__territory__path"))


def _dispense_scope(actor: Actor, prefix: str = "") -> Q | None:
    """Who may read a dispense: anyone who may read its prescription (the person inside the
    actor's territory), and the pharmacists of the pharmacy that recorded it — a voucher is
    redeemable network-wide, so a pharmacy dispenses to people of other territories and must be
    able to read back what it handed over. None: nothing."""
    require(actor, Permission.PRESCRIPTION_READ)
    scope = actor.scope_path
    q = within(scope, f"{prefix}person__territory__path") if scope is not None else None
    own = actor.user.facility_id if actor.user is not None else None
    if own is not None and actor.can(Permission.DISPENSE):
        at_own = Q(**{f"{prefix}pharmacy_id": own})
        q = at_own if q is None else q | at_own
    return q


def dispenses_visible_to(actor: Actor) -> QuerySet[Dispense]:
    """Every dispense the actor may read (`_dispense_scope`). Not audited by itself."""
    q = _dispense_scope(actor)
    return Dispense.objects.none() if q is None else Dispense.objects.filter(q)


def dispense_lines_visible_to(actor: Actor) -> QuerySet[DispenseLine]:
    """Every dispensed line the actor may read: the same rule as `dispenses_visible_to`. Not
    audited by itself."""
    q = _dispense_scope(actor)
    return DispenseLine.objects.none() if q is None else DispenseLine.objects.filter(q)


def dispense_get(actor: Actor, *, public_id: uuid.UUID | str, via: str = "") -> Dispense:
    """One dispense the actor may read (`dispenses_visible_to`), its prescription loaded; out of
    scope → the same 404 as a missing id. One audit row (read)."""
    dispense = (
        dispenses_visible_to(actor)
        .select_related("prescription", "pharmacy", "dispensed_by")
        .filter(public_id=public_id)
        .first()
    )
    if dispense is None:
        raise OutOfScope()
    audit_record(
        actor,
        action=AuditAction.READ,
        resource_type="Dispense",
        resource_id=str(dispense.public_id),
        person_id=dispense.person_id,
        query={"via": via} if via else None,
    )
    return dispense


def prescription_open_for_dispensing(
    actor: Actor, *, public_id: uuid.UUID, via: str = "", today: dt.date | None = None
) -> Prescription:
    """The prescription a pharmacist opens to dispense, with its lines, person and facility
    loaded: access exactly as `prescription_for_dispensing` (inside the actor's territory, or — for
    a pharmacist — any prescription that can still be dispensed). One audit row (read), flagged
    `outside_territory` in the second case."""
    found = prescription_for_dispensing(actor, public_id=public_id, today=today)
    prescription = prescription_refetch(found)
    query: dict[str, Any] = {"via": via} if via else {}
    if not prescriptions_visible_to(actor).filter(pk=prescription.pk).exists():
        query["outside_territory"] = True
    _audit_read(actor, prescription, **query)
    return prescription
