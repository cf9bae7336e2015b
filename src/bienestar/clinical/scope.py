"""Who may touch which clinical record, and where it is recorded.

Scoping of clinical records is the person's territory (people.selectors.persons_visible_to). A
clinician records at their own facility; only an integrator (an API client of another institution)
names the facility, and it must lie inside the integrator's territory.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.access.errors import Forbidden, OutOfScope
from bienestar.access.permissions import require
from bienestar.access.roles import Permission, Role
from bienestar.clinical.models import Encounter, EncounterStatus
from bienestar.core.errors import Conflict, ValidationFailed
from bienestar.facilities.models import Facility
from bienestar.people.models import Person, PersonStatus
from bienestar.people.selectors import persons_visible_to
from bienestar.workforce.models import Practitioner

PersonRef = Person | uuid.UUID | str
EncounterRef = Encounter | uuid.UUID | str
FacilityRef = Facility | uuid.UUID | str


def parse_uuid(value: Any) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        return None


# The person and everyone merged into them, however deep the chain: a subquery, so no extra query.
_MERGED_FAMILY = """
WITH RECURSIVE family(id) AS (
    SELECT %s::bigint
    UNION
    SELECT p.id FROM people_person p JOIN family f ON p.merged_into_id = f.id
)
SELECT id FROM family
"""


def of_person_family(person: Person, field_name: str = "person_id") -> Q:
    """Rows of `person` or of anyone merged into them (a survivor's record includes theirs)."""
    return Q(**{f"{field_name}__in": RawSQL(_MERGED_FAMILY, [person.pk])})  # noqa: S611 - fixed SQL, bound id


def survivor_of(person: Person) -> Person:
    """The person a merged record now lives in (itself when active)."""
    seen = {person.pk}
    while person.merged_into_id is not None and person.merged_into_id not in seen:
        seen.add(person.merged_into_id)
        person = Person.objects.select_related("territory").get(pk=person.merged_into_id)
    return person


def _in_scope(actor: Actor, path: str) -> bool:
    scope = actor.scope_path
    return scope is not None and (path == scope or path.startswith(scope + "."))


def visible_person(actor: Actor, person: PersonRef, *, permission: Permission) -> Person:
    """The person, if the actor holds `permission` and may see them; otherwise Forbidden or the
    404 of a missing record (so callers cannot learn who exists elsewhere). One query. Not audited:
    the calling selector or service records the access with what it disclosed or wrote."""
    require(actor, permission)
    qs = persons_visible_to(actor)
    if isinstance(person, Person):
        found = qs.filter(pk=person.pk).first()
    else:
        public_id = parse_uuid(person)
        found = qs.filter(public_id=public_id).first() if public_id else None
    if found is None:
        raise OutOfScope()
    return found


def writable_person(actor: Actor, person: PersonRef) -> Person:
    found = visible_person(actor, person, permission=Permission.CLINICAL_WRITE)
    if found.status != PersonStatus.ACTIVE:
        raise Conflict(
            _("La persona fue fusionada con otra; registre en el expediente que sobrevive."),
            field="person",
        )
    return found


def is_integrator(actor: Actor) -> bool:
    return actor.role == Role.INTEGRATOR


def recording_facility(actor: Actor, facility: FacilityRef | None = None) -> Facility:
    """Where a write is recorded: the actor's own facility; an integrator may name another one
    inside its territory."""
    own = actor.user.facility if actor.user is not None else None
    if facility is None:
        if own is None:
            if is_integrator(actor):
                raise ValidationFailed(
                    _("Indique el establecimiento donde se registra la atención."),
                    field="facility",
                )
            raise Forbidden(
                _("Su usuario no tiene un establecimiento asignado; no puede registrar atenciones.")
            )
        return own
    if isinstance(facility, Facility):
        chosen: Facility | None = facility
    else:
        public_id = parse_uuid(facility)
        chosen = (
            Facility.objects.select_related("territory").filter(public_id=public_id).first()
            if public_id
            else None
        )
    if chosen is None:
        raise ValidationFailed(_("Establecimiento desconocido."), field="facility")
    if own is not None and chosen.pk == own.pk:
        return own
    if not is_integrator(actor):
        raise Forbidden(_("Solo puede registrar en su propio establecimiento."))
    if not _in_scope(actor, chosen.territory.path):
        raise ValidationFailed(_("Establecimiento fuera de su territorio."), field="facility")
    return chosen


def practitioner_for(
    actor: Actor, practitioner: Practitioner | uuid.UUID | str | None
) -> Practitioner | None:
    """The practitioner named, or the one linked to the actor's user."""
    if practitioner is None:
        return actor.user.practitioner if actor.user is not None else None
    if isinstance(practitioner, Practitioner):
        return practitioner
    public_id = parse_uuid(practitioner)
    found = Practitioner.objects.filter(public_id=public_id).first() if public_id else None
    if found is None:
        raise ValidationFailed(_("Profesional de la salud desconocido."), field="practitioner")
    return found


def writable_encounter(actor: Actor, encounter: EncounterRef, *, lock: bool = False) -> Encounter:
    """An encounter the actor may write into: its person visible, recorded at the actor's facility
    (or any facility for an integrator), and neither cancelled nor entered in error. With `lock`,
    the row is locked until the transaction ends, so concurrent status changes serialise."""
    require(actor, Permission.CLINICAL_WRITE)
    public_id = encounter.public_id if isinstance(encounter, Encounter) else parse_uuid(encounter)
    if public_id is None:
        raise OutOfScope()
    qs = Encounter.objects.filter(public_id=public_id, person__in=persons_visible_to(actor))
    if lock:
        qs = qs.select_for_update(of=("self",))
    found = qs.select_related("person", "facility").first()
    if found is None:
        raise OutOfScope()
    if not is_integrator(actor):
        own = actor.user.facility_id if actor.user is not None else None
        if found.facility_id != own:
            raise Forbidden(_("La atención pertenece a otro establecimiento."))
    if found.status in (EncounterStatus.CANCELLED, EncounterStatus.ENTERED_IN_ERROR):
        raise Conflict(
            _("La atención está cancelada o fue registrada por error; no admite cambios."),
            field="encounter",
        )
    return found
