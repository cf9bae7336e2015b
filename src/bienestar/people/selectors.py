"""Reads of persons, always scoped to what the caller may see, always audited."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from bienestar.access.actor import Actor
from bienestar.access.audit import audit_record
from bienestar.access.errors import OutOfScope
from bienestar.access.models import AuditAction
from bienestar.access.permissions import require
from bienestar.access.roles import Permission
from bienestar.core.errors import ValidationFailed
from bienestar.people import curp as curp_mod
from bienestar.people import identifier_systems, national_id
from bienestar.people.models import IdentifierSystem, Person, PersonStatus
from bienestar.people.name_search import search_by_name

SEARCH_LIMIT_MAX = 100


def persons_visible_to(actor: Actor) -> QuerySet[Person]:
    """Every person (active or merged) inside the actor's territory. Checks PERSON_READ first."""
    require(actor, Permission.PERSON_READ)
    scope = actor.scope_path
    if scope is None:
        return Person.objects.none()
    return Person.objects.select_related("territory").filter(
        Q(territory__path=scope) | Q(territory__path__startswith=scope + ".")
    )


def _audited_read(actor: Actor, person: Person, *, query: dict[str, Any] | None = None) -> Person:
    audit_record(
        actor,
        action=AuditAction.READ,
        resource_type="Person",
        resource_id=str(person.public_id),
        person_id=person.id,
        query=query,
    )
    return person


def person_get(actor: Actor, *, public_id: Any) -> Person:
    """One person by opaque id. Outside the actor's territory → the same 404 as a missing id."""
    person = persons_visible_to(actor).filter(public_id=public_id).first()
    if person is None:
        raise OutOfScope()
    return _audited_read(actor, person)


def person_by_national_id(actor: Actor, *, value: str) -> Person:
    normalized = national_id.normalize(value)
    if not national_id.is_valid(normalized):
        raise ValidationFailed(
            "ID del Sistema Nacional de Salud inválido.", field="national_health_id"
        )
    person = persons_visible_to(actor).filter(national_health_id=normalized).first()
    if person is None:
        raise OutOfScope()
    return _audited_read(actor, person, query={"national_health_id": "<exact>"})


def person_by_identifier(actor: Actor, *, system: str, value: str) -> Person:
    # Same normalisation as the registration applies when storing (identifier_systems).
    system = identifier_systems.code_for_uri((system or "").strip())
    if not identifier_systems.is_plausible(system):
        raise ValidationFailed(
            "Sistema de identificador desconocido: use un código registrado o un URI.",
            field="system",
        )
    value = identifier_systems.normalize(system, value)
    person = (
        persons_visible_to(actor)
        .filter(identifiers__system=system, identifiers__value=value)
        .first()
    )
    if person is None:
        raise OutOfScope()
    return _audited_read(actor, person, query={"identifier_system": system})


def _normalize_query(text: str) -> str:
    return " ".join((text or "").lower().split())


def person_search(
    actor: Actor, *, text: str, limit: int = 20, offset: int = 0, include_merged: bool = False
) -> list[Person]:
    """Exact by national health ID or CURP when the text is one; otherwise by name, accent-insensitive
    and tolerant of typos (`name_search.search_by_name`), best match first: highest trigram word similarity of
    the query with the unaccented full name, then highest similarity (least left over), then first
    surname. One audit row records the query's kind and every person returned."""
    qs = persons_visible_to(actor)
    limit = max(1, min(limit, SEARCH_LIMIT_MAX))
    raw = (text or "").strip()
    if len(raw) < 2:
        raise ValidationFailed("Escriba al menos 2 caracteres para buscar.", field="q")
    compact = raw.replace("-", "").replace(" ", "").upper()
    kind: str
    if national_id.is_valid(compact):
        kind = "national_health_id"
        results = list(qs.filter(national_health_id=compact)[:1])
    elif len(compact) == 18 and curp_mod.CURP_RE.match(compact):
        kind = "curp"
        results = list(
            qs.filter(identifiers__system=IdentifierSystem.CURP, identifiers__value=compact)[:1]
        )
    else:
        kind = "name"
        q = _normalize_query(raw)
        if not include_merged:
            qs = qs.filter(status=PersonStatus.ACTIVE)
        results = search_by_name(qs, q, offset, limit)
    audit_record(
        actor,
        action=AuditAction.SEARCH,
        resource_type="Person",
        query={
            "kind": kind,
            "text": raw if kind == "name" else "<exact>",
            "limit": limit,
            "offset": offset,
        },
        result_ids=[str(p.public_id) for p in results],
        person_ids=[p.pk for p in results],
    )
    return results


# --- For the person page (web). These take a person already read through `person_get`, which wrote the
# audit row for that read; they re-check the scope so that they cannot be used to read around it.


def _require_visible(actor: Actor, person: Person) -> None:
    if not persons_visible_to(actor).filter(pk=person.pk).exists():
        raise OutOfScope()


class PersonDetails:
    """What identifies and reaches a person: identifiers, affiliations, addresses and contacts."""

    def __init__(self, person: Person) -> None:
        self.identifiers = list(person.identifiers.order_by("system", "value"))
        self.affiliations = list(person.affiliations.order_by("-start", "scheme"))
        self.addresses = list(
            person.addresses.select_related("territory").order_by("end", "-start", "use")
        )
        self.contacts = list(person.contacts.order_by("system", "value"))


def person_details(actor: Actor, *, person: Person) -> PersonDetails:
    _require_visible(actor, person)
    return PersonDetails(person)


def person_changes(actor: Actor, *, person: Person, limit: int = 50) -> list[Any]:
    """Provenance (PersonChange rows, newest first). Only roles that may write persons see it."""
    require(actor, Permission.PERSON_WRITE)
    _require_visible(actor, person)
    return list(
        person.changes.select_related("actor").order_by("-at", "-id")[: max(1, min(limit, 200))]
    )
