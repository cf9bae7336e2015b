"""Registration at the clinic desk: look for the person first, register anew only knowingly.

The rule (used by the registration page): a newcomer is registered only when no visible candidate
is a strong match (matching.STRONG), or when the clerk gives a reason for registering anyway; the
reason, the candidates and their scores are kept in the person's provenance and the audit log.
Two clerks registering the same CURP at the same moment produce one person: the unique
(system, value) constraint on identifiers refuses the second (Conflict), whatever the timing.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.access.audit import audit_record
from bienestar.access.models import AuditAction
from bienestar.access.permissions import require
from bienestar.access.roles import Permission
from bienestar.core.errors import Conflict, ValidationFailed
from bienestar.people import candidates as candidates_mod
from bienestar.people import matching
from bienestar.people.models import ChangeSource, Person, PersonChange
from bienestar.people.services import PersonInput, person_register

REASON_MIN = 10
REASON_MAX = 250


class ProbableDuplicate(Conflict):
    code = "probable_duplicate"


def record_of(data: PersonInput) -> matching.Record:
    curp = next((i.value for i in data.identifiers if i.system == "curp"), "")
    return matching.Record(
        given_names=data.given_names,
        first_surname=data.first_surname,
        second_surname=data.second_surname,
        sex=data.sex,
        birth_date=data.birth_date,
        curp=curp,
    )


@transaction.atomic
def person_register_at_desk(
    actor: Actor, *, data: PersonInput, override_reason: str = ""
) -> Person:
    require(actor, Permission.PERSON_WRITE)
    found = candidates_mod.registration_candidates(actor, record=record_of(data))
    strong = found.strong
    reason = " ".join(override_reason.split())
    if strong and not reason:
        raise ProbableDuplicate(
            _(
                "Hay un registro que probablemente es esta persona. Ábralo, o escriba por qué "
                "registra a una persona nueva."
            ),
            field="override_reason",
        )
    if strong and not (REASON_MIN <= len(reason) <= REASON_MAX):
        raise ValidationFailed(
            _("Explique el motivo en %(a)d a %(b)d caracteres.")
            % {"a": REASON_MIN, "b": REASON_MAX},
            field="override_reason",
        )
    person = person_register(actor, data=data, source=ChangeSource.WEB)
    if strong:
        evidence = [
            {"person": str(c.person.public_id), "probability": round(c.match.probability, 4)}
            for c in strong
        ]
        PersonChange.objects.create(
            person=person,
            actor=actor.user,
            source=ChangeSource.WEB,
            action="register-anyway",
            changes={"reason": reason, "candidates": evidence},
        )
        audit_record(
            actor,
            action=AuditAction.CREATE,
            resource_type="Person",
            resource_id=str(person.public_id),
            person_id=person.id,
            query={"override": True, "candidates": [e["person"] for e in evidence]},
        )
    return person
