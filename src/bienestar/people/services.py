"""Writes to persons. Each service owns one transaction, records provenance and an audit row."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.access.audit import audit_record
from bienestar.access.errors import OutOfScope
from bienestar.access.models import AuditAction
from bienestar.access.permissions import require
from bienestar.access.roles import Permission
from bienestar.core.errors import Conflict, ValidationFailed
from bienestar.people import identifier_systems, national_id
from bienestar.people.models import (
    ChangeSource,
    Person,
    PersonChange,
    PersonIdentifier,
    PersonMerge,
    PersonStatus,
    Sex,
)
from bienestar.territories.models import Territory

MAX_ID_ATTEMPTS = 8
UPDATABLE_FIELDS = (
    "given_names",
    "first_surname",
    "second_surname",
    "sex",
    "birth_date",
    "indigenous",
    "indigenous_language",
    "disability",
    "deceased_date",
)


@dataclass
class IdentifierInput:
    system: str
    value: str
    source: str = ""


@dataclass
class PersonInput:
    given_names: str
    first_surname: str
    sex: str
    birth_date: dt.date
    territory_path: str
    second_surname: str = ""
    indigenous: bool | None = None
    indigenous_language: str = ""
    disability: str = "unknown"
    identifiers: list[IdentifierInput] = field(default_factory=list)


def validate_identifier(system: str, value: str) -> str:
    """Normalised value, or ValidationFailed naming the problem. `system` is a registered code or a
    URI; an unknown URI is added to the registry as unverified (identifier_systems)."""
    return identifier_systems.resolve_and_validate(system, value)[1]


def resolve_identifier(system: str, value: str, *, via: str = "") -> tuple[str, str]:
    """(stored system code, normalised value); see identifier_systems.resolve_and_validate."""
    return identifier_systems.resolve_and_validate(system, value, via=via)


def _validate_person(data: PersonInput) -> None:
    for name in ("given_names", "first_surname"):
        if not getattr(data, name).strip():
            raise ValidationFailed(_("Este campo es obligatorio."), field=name)
    if data.sex not in Sex.values:
        raise ValidationFailed(_("Sexo inválido."), field="sex")
    today = timezone.localdate()
    if data.birth_date > today:
        raise ValidationFailed(_("La fecha de nacimiento no puede ser futura."), field="birth_date")
    if data.birth_date < today.replace(year=today.year - 125):
        raise ValidationFailed(
            _("La fecha de nacimiento es demasiado antigua."), field="birth_date"
        )


def _in_scope(actor: Actor, territory: Territory) -> bool:
    scope = actor.scope_path
    return scope is not None and (territory.path == scope or territory.path.startswith(scope + "."))


def issue_national_health_id() -> str:
    """Reserve a fresh ID in the issued-ID registry. Must run inside a transaction."""
    return issue_national_health_ids(1)[0]


def issue_national_health_ids(count: int) -> list[str]:
    """Reserve `count` fresh IDs in the issued-ID registry with one statement per round (bulk
    import issues hundreds at once). Must run inside a transaction."""
    issued: list[str] = []
    for _attempt in range(MAX_ID_ATTEMPTS):
        wanted = count - len(issued)
        if wanted <= 0:
            return issued
        candidates = list({national_id.generate() for _ in range(wanted)})
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO people_issuedhealthid (value, issued_at) "
                "SELECT unnest(%s::text[]), now() ON CONFLICT (value) DO NOTHING RETURNING value",
                [candidates],
            )
            issued += [row[0] for row in cursor.fetchall()]
    if len(issued) < count:  # pragma: no cover - 31^10 values
        raise RuntimeError("could not issue unique national health IDs")
    return issued


@transaction.atomic
def person_register(actor: Actor, *, data: PersonInput, source: str = ChangeSource.WEB) -> Person:
    """Register a person and issue their national health ID.

    Atomic: the person, identifiers, provenance and audit row are written together or not at all.
    A duplicate identifier raises Conflict and writes nothing.
    """
    require(actor, Permission.PERSON_WRITE)
    _validate_person(data)
    territory = Territory.objects.filter(path=data.territory_path).first()
    if territory is None:
        raise ValidationFailed(_("Territorio desconocido."), field="territory")
    if not _in_scope(actor, territory):
        raise OutOfScope()
    identifiers = [
        (*resolve_identifier(i.system, i.value, via=source), i.source) for i in data.identifiers
    ]
    for system, value, _source in identifiers:
        if PersonIdentifier.objects.filter(system=system, value=value).exists():
            raise Conflict(
                _("Ya existe una persona con ese identificador (%(s)s).") % {"s": system},
                field="identifiers",
            )
    person = Person.objects.create(
        national_health_id=issue_national_health_id(),
        given_names=data.given_names.strip(),
        first_surname=data.first_surname.strip(),
        second_surname=data.second_surname.strip(),
        sex=data.sex,
        birth_date=data.birth_date,
        indigenous=data.indigenous,
        indigenous_language=data.indigenous_language,
        disability=data.disability,
        territory=territory,
    )
    try:
        for system, value, id_source in identifiers:
            PersonIdentifier.objects.create(
                person=person, system=system, value=value, source=id_source or source
            )
    except IntegrityError:
        # The same identifier twice in one request, or a concurrent registration that won the
        # unique index after the check above: a 409, and the whole registration rolls back.
        raise Conflict(
            _("Ya existe una persona con ese identificador."), field="identifiers"
        ) from None
    PersonChange.objects.create(
        person=person,
        actor=actor.user,
        source=source,
        action="create",
        changes={"identifiers": [s for s, _v, _x in identifiers]},
    )
    audit_record(
        actor,
        action=AuditAction.CREATE,
        resource_type="Person",
        resource_id=str(person.public_id),
        person_id=person.id,
    )
    return person


@transaction.atomic
def person_update(
    actor: Actor, *, person: Person, changes: dict[str, Any], source: str = ChangeSource.WEB
) -> Person:
    """Update demographic fields. Locks the row; records before/after of each changed field."""
    require(actor, Permission.PERSON_WRITE)
    locked = Person.objects.select_for_update().select_related("territory").get(pk=person.pk)
    if not _in_scope(actor, locked.territory):
        raise OutOfScope()
    if locked.status != PersonStatus.ACTIVE:
        raise Conflict(_("La persona fue fusionada con otra; actualice el registro que sobrevive."))
    unknown = set(changes) - set(UPDATABLE_FIELDS)
    if unknown:
        raise ValidationFailed(
            _("Campos no modificables: %(f)s") % {"f": ", ".join(sorted(unknown))}
        )
    diff: dict[str, list[Any]] = {}
    for name, value in changes.items():
        old = getattr(locked, name)
        if old != value:
            diff[name] = [
                str(old) if old is not None else None,
                str(value) if value is not None else None,
            ]
            setattr(locked, name, value)
    _validate_person(
        PersonInput(
            given_names=locked.given_names,
            first_surname=locked.first_surname,
            sex=locked.sex,
            birth_date=locked.birth_date,
            territory_path=locked.territory.path,
        )
    )
    if diff:
        locked.save(update_fields=[*diff.keys(), "updated_at"])
        PersonChange.objects.create(
            person=locked,
            actor=actor.user,
            source=source,
            action="update",
            changes={k: v for k, v in diff.items()},
        )
    audit_record(
        actor,
        action=AuditAction.UPDATE,
        resource_type="Person",
        resource_id=str(locked.public_id),
        person_id=locked.id,
        query={"fields": sorted(diff)},
    )
    return locked


@transaction.atomic
def person_merge(
    actor: Actor, *, survivor: Person, merged: Person, reason: str, match_score: float | None = None
) -> PersonMerge:
    """Fold `merged` into `survivor` without destroying anything: `merged` keeps all its rows and
    points at the survivor. Both rows are locked in id order to avoid deadlocks."""
    require(actor, Permission.PERSON_WRITE)
    if survivor.pk == merged.pk:
        raise ValidationFailed(_("No se puede fusionar una persona consigo misma."))
    rows = {
        p.pk: p
        for p in Person.objects.select_for_update()
        .select_related("territory")
        .filter(pk__in=[survivor.pk, merged.pk])
        .order_by("pk")
    }
    s, m = rows[survivor.pk], rows[merged.pk]
    if not (_in_scope(actor, s.territory) and _in_scope(actor, m.territory)):
        raise OutOfScope()
    if s.status != PersonStatus.ACTIVE or m.status != PersonStatus.ACTIVE:
        raise Conflict(_("Solo se fusionan personas activas."))
    m.status, m.merged_into = PersonStatus.MERGED, s
    m.save(update_fields=["status", "merged_into", "updated_at"])
    merge = PersonMerge.objects.create(
        survivor=s, merged=m, actor=actor.user, reason=reason, match_score=match_score
    )
    for p in (s, m):
        PersonChange.objects.create(
            person=p,
            actor=actor.user,
            source=ChangeSource.MPI,
            action="merge",
            changes={"merge_id": merge.pk},
        )
        audit_record(
            actor,
            action=AuditAction.MERGE,
            resource_type="Person",
            resource_id=str(p.public_id),
            person_id=p.id,
            query={"merge_id": merge.pk},
        )
    return merge


@transaction.atomic
def person_unmerge(actor: Actor, *, merge: PersonMerge) -> Person:
    """Undo a merge: the absorbed person becomes active again with everything it had."""
    require(actor, Permission.PERSON_WRITE)
    locked = PersonMerge.objects.select_for_update().get(pk=merge.pk)
    if locked.undone_at is not None:
        raise Conflict(_("Esta fusión ya fue deshecha."))
    m = Person.objects.select_for_update().select_related("territory").get(pk=locked.merged_id)
    if not _in_scope(actor, m.territory):
        raise OutOfScope()
    m.status, m.merged_into = PersonStatus.ACTIVE, None
    m.save(update_fields=["status", "merged_into", "updated_at"])
    locked.undone_at, locked.undone_by = timezone.now(), actor.user
    locked.save(update_fields=["undone_at", "undone_by"])
    PersonChange.objects.create(
        person=m,
        actor=actor.user,
        source=ChangeSource.MPI,
        action="unmerge",
        changes={"merge_id": locked.pk},
    )
    audit_record(
        actor,
        action=AuditAction.UNMERGE,
        resource_type="Person",
        resource_id=str(m.public_id),
        person_id=m.id,
        query={"merge_id": locked.pk},
    )
    return m
