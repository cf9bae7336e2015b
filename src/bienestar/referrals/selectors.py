"""Reads of referrals, scoped like the clinical record (the person's territory) and audited."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from bienestar.access.actor import Actor
from bienestar.access.audit import audit_record
from bienestar.access.errors import OutOfScope
from bienestar.access.models import AuditAction
from bienestar.access.permissions import require
from bienestar.access.roles import Permission
from bienestar.clinical.scope import parse_uuid, visible_person
from bienestar.people.selectors import persons_visible_to
from bienestar.referrals.models import OPEN, Referral


def referrals_visible_to(actor: Actor) -> QuerySet[Referral]:
    """Referrals of the persons the actor may see (a patient-bound token: that patient only)."""
    require(actor, Permission.CLINICAL_READ)
    qs = Referral.objects.filter(person__in=persons_visible_to(actor))
    if actor.patient_id is not None:
        qs = qs.filter(person_id=actor.patient_id)
    return qs.select_related(
        "person",
        "origin_facility",
        "destination_facility",
        "specialty",
        "requested_by",
        "appointment",
        "counter_referral__written_by",
    )


def referral_get(actor: Actor, *, referral: Any, audit: bool = True) -> Referral:
    key = parse_uuid(referral)
    found = referrals_visible_to(actor).filter(public_id=key).first() if key else None
    if found is None:
        raise OutOfScope()
    if audit:
        audit_record(
            actor,
            action=AuditAction.READ,
            resource_type="Referral",
            resource_id=str(found.public_id),
            person_id=found.person_id,
        )
    return found


def referrals_of_person(actor: Actor, *, person: Any) -> list[Referral]:
    """Sent and received referrals of one person, newest first (both charts show them)."""
    who = visible_person(actor, person, permission=Permission.CLINICAL_READ)
    rows = list(referrals_visible_to(actor).filter(person=who)[:100])
    audit_record(
        actor,
        action=AuditAction.READ,
        resource_type="Referral",
        person_id=who.pk,
        query={"person": str(who.public_id)},
        result_ids=[str(r.public_id) for r in rows],
    )
    return rows


def referrals_received(actor: Actor, *, only_open: bool = True, limit: int = 200) -> list[Referral]:
    """The referrals addressed to the actor's own unit, most urgent deadline first."""
    unit = actor.user.facility_id if actor.user is not None else None
    if unit is None:
        return []
    qs = referrals_visible_to(actor).filter(destination_facility_id=unit)
    if only_open:
        qs = qs.filter(status__in=OPEN)
    rows = list(qs.order_by("due_by", "created_at")[:limit])
    if rows:
        audit_record(
            actor,
            action=AuditAction.SEARCH,
            resource_type="Referral",
            query={"destination": "own unit", "open": only_open},
            result_ids=[str(r.public_id) for r in rows],
        )
    return rows
