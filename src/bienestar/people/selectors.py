"""Reads of persons, always scoped to what the caller may see, always audited."""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.db.models import F, FloatField, Func, Q, QuerySet, Value

from bienestar.access.actor import Actor
from bienestar.access.audit import audit_record
from bienestar.access.errors import OutOfScope
from bienestar.access.models import AuditAction
from bienestar.access.permissions import require
from bienestar.access.roles import Permission
from bienestar.core.errors import ValidationFailed
from bienestar.people import curp as curp_mod
from bienestar.people import national_id
from bienestar.people.models import IdentifierSystem, Person, PersonStatus

SEARCH_LIMIT_MAX = 100
# Default 0.6 misses one swapped pair of letters in a short name ("jsoe lopez" scores 0.55).
NAME_MATCH_THRESHOLD = 0.5
# Higher thresholds tried first (see `_best_matches`): same results, far fewer rows sorted.
NAME_MATCH_STEPS = (0.8, 0.65)


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
    # Same normalisation as services.validate_identifier applies when storing (for every system).
    value = curp_mod.normalize(value)
    person = (
        persons_visible_to(actor)
        .filter(identifiers__system=system, identifiers__value=value)
        .first()
    )
    if person is None:
        raise OutOfScope()
    return _audited_read(actor, person, query={"identifier_system": system})


class Similarity(Func):
    output_field = FloatField()


def _normalize_query(text: str) -> str:
    return " ".join((text or "").lower().split())


def _best_matches(qs: QuerySet[Person], offset: int, limit: int) -> list[Person]:
    """The page `[offset, offset + limit)` of the name matches, best first, found by lowering the
    word-similarity threshold step by step down to NAME_MATCH_THRESHOLD.

    The page is exactly the one the lowest threshold alone would give: rows are ordered by score
    (word similarity) first, so when at least `offset + limit` rows score at or above a higher
    threshold, every row below it ranks after them and cannot be on the page. The higher steps are
    cheap because pg_trgm's GIN index keeps only rows holding that share of the query's trigrams:
    "maria hernadnez" at 0.5 also matches every Hernández (tens of thousands at a million people)
    and sorts them all; at 0.7 it keeps the few thousand María Hernández."""
    page: list[Person] = []
    for threshold in (*NAME_MATCH_STEPS, NAME_MATCH_THRESHOLD):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL pg_trgm.word_similarity_threshold = %s", [threshold])
            page = list(qs[offset : offset + limit])
        if len(page) == limit:
            break
    return page


def person_search(
    actor: Actor, *, text: str, limit: int = 20, offset: int = 0, include_merged: bool = False
) -> list[Person]:
    """Exact by national health ID or CURP when the text is one; otherwise by name, accent-insensitive
    and tolerant of typos (trigram word similarity on the unaccented full name), best match first.
    One audit row records the query's kind and every person returned."""
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
        unaccented = Func(Value(q), function="bienestar_unaccent")
        qs = (
            qs.annotate(
                score=Similarity(unaccented, F("name_search"), function="word_similarity"),
                # Ties on the best-matching words go to the name with least left over.
                closeness=Similarity(unaccented, F("name_search"), function="similarity"),
            )
            .extra(where=["bienestar_unaccent(%s) <%% people_person.name_search"], params=[q])
            .order_by("-score", "-closeness", "first_surname", "id")
        )
        results = _best_matches(qs, offset, limit)
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
