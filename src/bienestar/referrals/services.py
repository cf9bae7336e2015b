"""Writes of referrals: send, receive, accept or reject, book at the receiving unit, attend, answer
with a counter-referral, expire. Each is atomic, locks the referral row, keeps the change in the
history and is audited. Who may act depends on the side: the sending unit drafts, sends and
cancels; the receiving unit receives, accepts, rejects, books, attends and answers. An integrator
(another institution's system, with no unit of ours) may act on either side within its territory.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.access.audit import audit_record
from bienestar.access.errors import Forbidden
from bienestar.access.models import AuditAction
from bienestar.access.permissions import require
from bienestar.access.roles import Permission
from bienestar.clinical import vitals as vitals_mod
from bienestar.clinical.models import Observation
from bienestar.clinical.scope import is_integrator, parse_uuid, recording_facility, writable_person
from bienestar.clinical.services.common import icd10
from bienestar.core.errors import Conflict, ValidationFailed
from bienestar.facilities.models import Facility
from bienestar.referrals import selectors
from bienestar.referrals.models import (
    DEADLINES,
    CareRoute,
    CounterReferral,
    Origin,
    Priority,
    Referral,
    ReferralChange,
    ReferralStatus,
)
from bienestar.scheduling import services as scheduling
from bienestar.workforce.models import Specialty

R = ReferralStatus
ORIGIN, DESTINATION = "origin", "destination"

# (from, to) → which side may make the change through `referral_transition`. Booking, attending
# and the counter-referral have their own services.
TRANSITIONS: dict[tuple[str, str], str] = {
    (R.DRAFT, R.REQUESTED): ORIGIN,
    (R.DRAFT, R.CANCELLED): ORIGIN,
    (R.REQUESTED, R.CANCELLED): ORIGIN,
    (R.REQUESTED, R.RECEIVED): DESTINATION,
    (R.REQUESTED, R.REJECTED): DESTINATION,
    (R.RECEIVED, R.ACCEPTED): DESTINATION,
    (R.RECEIVED, R.REJECTED): DESTINATION,
    (R.ACCEPTED, R.FAILED): DESTINATION,
    (R.SCHEDULED, R.ATTENDED): DESTINATION,
    (R.SCHEDULED, R.FAILED): DESTINATION,
}
NEEDS_REASON = {R.REJECTED, R.FAILED, R.CANCELLED}
# The vital signs copied into the referral: the latest of each.
SUMMARY_CODES = tuple(spec.code for spec in vitals_mod.VITALS.values())


def _user(actor: Actor) -> Any:
    if actor.user is None:
        raise Forbidden()
    return actor.user


def _side_allowed(actor: Actor, referral: Referral, side: str) -> None:
    if is_integrator(actor):
        return
    own = actor.user.facility_id if actor.user is not None else None
    unit = referral.origin_facility_id if side == ORIGIN else referral.destination_facility_id
    if own != unit:
        raise Forbidden(
            _("Solo la unidad que envía puede hacer esto.")
            if side == ORIGIN
            else _("Solo la unidad que recibe puede hacer esto.")
        )


def _locked(actor: Actor, referral: Any) -> Referral:
    require(actor, Permission.CLINICAL_WRITE)
    found = selectors.referral_get(actor, referral=referral, audit=False)
    return (
        Referral.objects.select_for_update()
        .select_related("person", "origin_facility", "destination_facility__territory")
        .get(pk=found.pk)
    )


def _change(referral: Referral, actor: Actor, before: str, reason: str = "") -> None:
    ReferralChange.objects.create(
        referral=referral,
        at=timezone.now(),
        by=actor.username,
        from_status=before,
        to_status=referral.status,
        reason=reason[:300],
    )
    audit_record(
        actor,
        action=AuditAction.CREATE if not before else AuditAction.UPDATE,
        resource_type="Referral",
        resource_id=str(referral.public_id),
        person_id=referral.person_id,
        query={"status": [before, referral.status]} if before else None,
    )


def latest_vitals(person_id: int) -> list[dict[str, Any]]:
    rows = (
        Observation.objects.filter(person_id=person_id, code__in=SUMMARY_CODES, value__isnull=False)
        .order_by("code", "-effective_at")
        .distinct("code")
        .values("code", "value", "unit", "effective_at")
    )
    labels = {spec.code: str(spec.label) for spec in vitals_mod.VITALS.values()}
    return [
        {
            "code": r["code"],
            "label": labels.get(r["code"], r["code"]),
            "value": str(r["value"]),
            "unit": vitals_mod.DISPLAY_UNITS.get(r["unit"], r["unit"]),
            "at": r["effective_at"].isoformat(),
        }
        for r in rows
    ]


def referral_create(
    actor: Actor,
    *,
    person: Any,
    destination: Any,
    priority: str,
    reason: str,
    diagnosis_code: str,
    clinical_summary: str = "",
    specialty: Specialty | None = None,
    care_route: str = "",
    origin: str = Origin.CLINIC,
    send: bool = True,
    facility: Any = None,
) -> Referral:
    """A referral from the actor's unit, sent at once (or kept as a draft). The deadline follows
    the priority; the latest vital signs are copied in."""
    if priority not in Priority.values:
        raise ValidationFailed(_("Prioridad desconocida."), field="priority")
    if care_route not in CareRoute.values:
        raise ValidationFailed(_("Ruta de atención desconocida."), field="care_route")
    if origin not in Origin.values:
        raise ValidationFailed(_("Origen desconocido."), field="origin")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Escriba el motivo de la referencia."), field="reason")
    with transaction.atomic():
        who = writable_person(actor, person)
        sender = recording_facility(actor, facility)
        key = parse_uuid(destination)
        receiver = (
            Facility.objects.filter(public_id=key, in_operation=True).first() if key else None
        )
        if receiver is None:
            raise ValidationFailed(_("Unidad de destino desconocida."), field="destination")
        if receiver.pk == sender.pk:
            raise ValidationFailed(_("La referencia es a otra unidad."), field="destination")
        code = icd10(diagnosis_code, field="diagnosis_code")
        now = timezone.now()
        referral = Referral.objects.create(
            person=who,
            origin_facility=sender,
            destination_facility=receiver,
            specialty=specialty,
            requested_by=_user(actor),
            origin=origin,
            priority=priority,
            care_route=care_route,
            reason=reason[:500],
            diagnosis_code=code.code,
            diagnosis_text=code.description_es,
            clinical_summary=(clinical_summary or "").strip(),
            vitals=latest_vitals(who.pk),
            status=R.REQUESTED if send else R.DRAFT,
            requested_at=now if send else None,
            due_by=now + DEADLINES[Priority(priority)] if send else None,
        )
        _change(referral, actor, "")
        return referral


def referral_transition(
    actor: Actor, *, referral: Any, to: str, reason: str = "", expected_status: str | None = None
) -> Referral:
    with transaction.atomic():
        row = _locked(actor, referral)
        if expected_status is not None and row.status != expected_status:
            raise Conflict(_("La referencia cambió mientras la veía; recargue."), field="status")
        side = TRANSITIONS.get((row.status, to))
        if side is None:
            raise Conflict(
                _("Una referencia «%(a)s» no puede pasar a «%(b)s».")
                % {"a": R(row.status).label, "b": R(to).label if to in R.values else to},
                field="status",
            )
        _side_allowed(actor, row, side)
        if to in NEEDS_REASON and not (reason or "").strip():
            raise ValidationFailed(_("Indique el motivo."), field="reason")
        before = row.status
        row.status = to
        row.status_reason = (reason or "")[:300]
        if to == R.REQUESTED:
            row.requested_at = timezone.now()
            row.due_by = row.requested_at + DEADLINES[Priority(row.priority)]
        row.save()
        _change(row, actor, before, reason)
        return row


def referral_book(actor: Actor, *, referral: Any, slot: str, reason: str = "") -> Referral:
    """Book the person at the receiving unit from the referral (received or accepted: booking
    accepts it). The appointment is made by the scheduling service, with its guarantees."""
    with transaction.atomic():
        row = _locked(actor, referral)
        _side_allowed(actor, row, DESTINATION)
        if row.status not in (R.RECEIVED, R.ACCEPTED, R.REQUESTED):
            raise Conflict(_("Esta referencia ya no se puede agendar."), field="status")
        appointment = scheduling.appointment_book(
            actor, person=row.person.public_id, slot=slot, reason=reason or row.reason[:300]
        )
        if appointment.facility_id != row.destination_facility_id:
            raise ValidationFailed(_("El horario no es de la unidad que recibe."), field="slot")
        before = row.status
        row.status = R.SCHEDULED
        row.appointment = appointment
        row.save()
        _change(row, actor, before)
        return row


def counter_referral_record(
    actor: Actor,
    *,
    referral: Any,
    attended: bool,
    not_attended_reason: str = "",
    diagnosis_code: str = "",
    plan: str = "",
    return_instructions: str = "",
) -> CounterReferral:
    """The receiving unit's answer; closes the referral (completed when attended, failed when
    not, with the reason). Shown in both charts."""
    with transaction.atomic():
        row = _locked(actor, referral)
        _side_allowed(actor, row, DESTINATION)
        if row.status not in (R.RECEIVED, R.ACCEPTED, R.SCHEDULED, R.ATTENDED):
            raise Conflict(_("Esta referencia ya está cerrada."), field="status")
        if not attended and not (not_attended_reason or "").strip():
            raise ValidationFailed(_("Indique por qué no se atendió."), field="not_attended_reason")
        code = icd10(diagnosis_code, field="diagnosis_code") if diagnosis_code else None
        if attended and code is None:
            raise ValidationFailed(_("Indique el diagnóstico."), field="diagnosis_code")
        answer = CounterReferral.objects.create(
            referral=row,
            attended=attended,
            not_attended_reason=(not_attended_reason or "")[:300],
            diagnosis_code=code.code if code else "",
            diagnosis_text=code.description_es if code else "",
            plan=plan or "",
            return_instructions=return_instructions or "",
            written_by=_user(actor),
        )
        before = row.status
        row.status = R.COMPLETED if attended else R.FAILED
        row.status_reason = "" if attended else not_attended_reason[:300]
        row.save()
        _change(row, actor, before, "" if attended else not_attended_reason)
        return answer


def referrals_expire(*, as_of: Any = None) -> int:
    """Referrals nobody acted on by their deadline fail as expired. Idempotent."""
    as_of = as_of or timezone.now()
    system = Actor.system(channel="job")
    with transaction.atomic():
        rows = list(
            Referral.objects.select_for_update(skip_locked=True).filter(
                status__in=(R.REQUESTED, R.RECEIVED, R.ACCEPTED), due_by__lt=as_of
            )
        )
        for row in rows:
            before = row.status
            row.status = R.FAILED
            row.status_reason = _("Venció sin respuesta")
            row.save(update_fields=["status", "status_reason", "updated_at"])
            _change(row, system, before, row.status_reason)
    return len(rows)
