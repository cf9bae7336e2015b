"""Affiliation and insurer: a recorded, dated fact with its source, history kept.

One place for the rule, used by the page (people/views.py), the JSON API (people/api.py) and FHIR
(the Patient's affiliation extension): facts are never rewritten nor deleted; recording a new one
ends the person's open facts that it replaces, and every change leaves a PersonChange (before and
after) and an audit row.

Which open facts a new one replaces:
- a "none" fact (no social security) ends every other open fact;
- any other fact ends the open "none" fact and the open fact of the same scheme (a new insurer or
  member number); facts of other schemes stay open (a person may hold IMSS and private insurance).

"Uninsured" (`uninsured_as_of`), as INEGI counts "sin afiliación a servicios de salud" in
the census and IMSS-Bienestar counts its population: no social-security institution and no
Colombian EPS covers the person on that day, and at least one fact covers that day (a person of
whom nothing is known is "unknown", never counted as uninsured). IMSS-Bienestar and private
insurance are not social security.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.access.audit import audit_record
from bienestar.access.errors import OutOfScope
from bienestar.access.models import AuditAction
from bienestar.access.permissions import require
from bienestar.access.roles import Permission
from bienestar.core.errors import Conflict, ValidationFailed
from bienestar.people.models import (
    AffiliationScheme,
    AffiliationSource,
    ChangeSource,
    Person,
    PersonAffiliation,
    PersonChange,
    PersonStatus,
)
from bienestar.people.selectors import persons_visible_to

SOCIAL_SECURITY: frozenset[str] = frozenset(
    {
        AffiliationScheme.IMSS,
        AffiliationScheme.ISSSTE,
        AffiliationScheme.PEMEX,
        AffiliationScheme.SEDENA,
        AffiliationScheme.SEMAR,
        AffiliationScheme.CO_CONTRIBUTORY,
        AffiliationScheme.CO_SUBSIDISED,
        AffiliationScheme.CO_SPECIAL,
    }
)
COLOMBIAN: frozenset[str] = frozenset(
    {
        AffiliationScheme.CO_CONTRIBUTORY,
        AffiliationScheme.CO_SUBSIDISED,
        AffiliationScheme.CO_SPECIAL,
    }
)
RECORDABLE_SOURCES = (
    AffiliationSource.SELF_DECLARED,
    AffiliationSource.INSTITUTION_LIST,
    AffiliationSource.INSURER_LIST,
)
HISTORY_MAX = 200


def covering(on: dt.date) -> Q:
    """Facts (PersonAffiliation rows) in force on `on`; an unknown start or end is open."""
    return (Q(start__isnull=True) | Q(start__lte=on)) & (Q(end__isnull=True) | Q(end__gte=on))


# --- selectors -----------------------------------------------------------------------------------


def uninsured_as_of(persons: QuerySet[Person], *, on: dt.date) -> QuerySet[Person]:
    """The persons of `persons` without social security on `on` (see the module's docstring).

    A filter for aggregate figures (the coverage indicators): it neither scopes nor audits, so
    the caller passes an already scoped queryset (e.g. `persons_visible_to(actor)`) and must not
    show the persons one by one without going through the audited selectors. Merged records are
    left out: their survivor is the person."""
    facts = PersonAffiliation.objects.filter(covering(on), person=OuterRef("pk"))
    return persons.filter(status=PersonStatus.ACTIVE).filter(
        Exists(facts), ~Exists(facts.filter(scheme__in=SOCIAL_SECURITY))
    )


def affiliation_unknown_as_of(persons: QuerySet[Person], *, on: dt.date) -> QuerySet[Person]:
    """The persons of `persons` of whom no fact covers `on` (neither insured nor uninsured)."""
    facts = PersonAffiliation.objects.filter(covering(on), person=OuterRef("pk"))
    return persons.filter(status=PersonStatus.ACTIVE).filter(~Exists(facts))


def affiliation_history(actor: Actor, *, person: Person) -> list[PersonAffiliation]:
    """Every fact of a person, in force first, then newest first. Audited as a read."""
    _visible(actor, person, Permission.PERSON_READ)
    rows = list(
        PersonAffiliation.objects.filter(person=person)
        .select_related("recorded_by")
        .order_by("end", "-start", "-recorded_at", "-id")[:HISTORY_MAX]
    )
    audit_record(
        actor,
        action=AuditAction.READ,
        resource_type="PersonAffiliation",
        resource_id=str(person.public_id),
        person_id=person.id,
        query={"history": len(rows)},
    )
    return rows


def current_affiliations(rows: list[PersonAffiliation], on: dt.date) -> list[PersonAffiliation]:
    return [
        r for r in rows if (r.start is None or r.start <= on) and (r.end is None or r.end >= on)
    ]


def _visible(actor: Actor, person: Person, permission: Permission) -> Person:
    require(actor, permission)
    found = persons_visible_to(actor).filter(pk=person.pk).first()
    if found is None:
        raise OutOfScope()
    return found


# --- services ------------------------------------------------------------------------------------


def _fact(row: PersonAffiliation) -> dict[str, Any]:
    return {
        "id": row.pk,
        "scheme": row.scheme,
        "insurer": row.insurer,
        "start": row.start.isoformat() if row.start else None,
        "end": row.end.isoformat() if row.end else None,
        "source": row.source,
    }


@transaction.atomic
def affiliation_record(
    actor: Actor,
    *,
    person: Person,
    scheme: str,
    start: dt.date,
    source: str,
    insurer: str = "",
    member_number: str = "",
    channel: str = ChangeSource.WEB,
) -> PersonAffiliation:
    """Record that from `start` the person is covered by `scheme` per `source`; ends the open
    facts it replaces the day before `start`. The person's row is locked: two clerks recording at
    once are serialised."""
    require(actor, Permission.PERSON_WRITE)
    locked = Person.objects.select_for_update().select_related("territory").get(pk=person.pk)
    if not persons_visible_to(actor).filter(pk=locked.pk).exists():
        raise OutOfScope()
    if locked.status != PersonStatus.ACTIVE:
        raise Conflict(_("La persona fue fusionada con otra; actualice el registro que sobrevive."))
    if scheme not in AffiliationScheme.values:
        raise ValidationFailed(_("Esquema de afiliación desconocido."), field="scheme")
    if source not in RECORDABLE_SOURCES:
        raise ValidationFailed(_("Indique la fuente de la afiliación."), field="source")
    today = timezone.localdate()
    if start > today:
        raise ValidationFailed(_("La fecha de inicio no puede ser futura."), field="start")
    if start < locked.birth_date:
        raise ValidationFailed(
            _("La fecha de inicio no puede ser anterior al nacimiento."), field="start"
        )
    insurer, member_number = insurer.strip(), member_number.strip()
    if scheme in COLOMBIAN and not insurer:
        raise ValidationFailed(_("Indique la EPS."), field="insurer")
    if scheme == AffiliationScheme.NONE and (insurer or member_number):
        raise ValidationFailed(
            _("Sin seguridad social no lleva aseguradora ni número de afiliación."),
            field="insurer",
        )
    open_facts = PersonAffiliation.objects.select_for_update().filter(
        person=locked, end__isnull=True
    )
    if scheme == AffiliationScheme.NONE:
        replaced = list(open_facts)
    else:
        replaced = list(open_facts.filter(scheme__in=[AffiliationScheme.NONE, scheme]))
    ended: list[dict[str, Any]] = []
    for row in replaced:
        if row.start is not None and row.start >= start:
            raise Conflict(
                _("Ya hay una afiliación vigente desde %(d)s; la nueva debe empezar después.")
                % {"d": row.start.strftime("%d/%m/%Y")},
                field="start",
            )
        before = _fact(row)
        row.end = start - dt.timedelta(days=1)
        row.save(update_fields=["end", "updated_at"])
        ended.append({"before": before, "after": _fact(row)})
    fact = PersonAffiliation.objects.create(
        person=locked,
        scheme=scheme,
        insurer=insurer,
        member_number=member_number,
        start=start,
        source=source,
        recorded_by=actor.user,
    )
    PersonChange.objects.create(
        person=locked,
        actor=actor.user,
        source=channel,
        action="affiliation",
        changes={"recorded": _fact(fact), "ended": ended},
    )
    audit_record(
        actor,
        action=AuditAction.CREATE,
        resource_type="PersonAffiliation",
        resource_id=str(fact.public_id),
        person_id=locked.id,
        query={"scheme": scheme, "ended": len(ended)},
    )
    return fact


@transaction.atomic
def affiliation_end(
    actor: Actor,
    *,
    person: Person,
    affiliation_id: Any,
    end: dt.date,
    channel: str = ChangeSource.WEB,
) -> PersonAffiliation:
    """End an open fact on `end` (the last day it covered). The fact stays in the history."""
    require(actor, Permission.PERSON_WRITE)
    locked = Person.objects.select_for_update().get(pk=person.pk)
    if not persons_visible_to(actor).filter(pk=locked.pk).exists():
        raise OutOfScope()
    row = (
        PersonAffiliation.objects.select_for_update()
        .filter(person=locked, public_id=affiliation_id)
        .first()
    )
    if row is None:
        raise OutOfScope()
    if row.end is not None:
        raise Conflict(_("Esta afiliación ya terminó."), field="end")
    if end > timezone.localdate():
        raise ValidationFailed(_("La fecha de término no puede ser futura."), field="end")
    if row.start is not None and end < row.start:
        raise ValidationFailed(
            _("La fecha de término no puede ser anterior al inicio."), field="end"
        )
    before = _fact(row)
    row.end = end
    row.save(update_fields=["end", "updated_at"])
    PersonChange.objects.create(
        person=locked,
        actor=actor.user,
        source=channel,
        action="affiliation",
        changes={"recorded": None, "ended": [{"before": before, "after": _fact(row)}]},
    )
    audit_record(
        actor,
        action=AuditAction.UPDATE,
        resource_type="PersonAffiliation",
        resource_id=str(row.public_id),
        person_id=locked.id,
        query={"end": True},
    )
    return row
