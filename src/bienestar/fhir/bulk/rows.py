"""From NDJSON lines to domain rows, one resource type at a time, for the bulk import.

Each line goes through the same checks as a resource sent to the API: the R4B structure
(fhir.resources), the mapper (`*_from_fhir`, which refuses with the path of the element at fault),
and the rules the domain services apply on the way in (the registration's validation of names,
birth date and identifiers; the physiological ranges of vital signs; CIE-10 codes that exist; dates
neither in the future nor before birth; the person inside the importer's territory). What the
services decide at the moment of writing (e.g. "now" as the recording time) comes from the
resource instead, so that an export imported elsewhere keeps its history and versions.

Refusals name the element (FHIRPath) and never stop the batch: the other lines go on. A line whose
id already exists is left alone ("existing"): an import creates, it never updates.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.access.models import User
from bienestar.clinical.selectors import encounters_visible_to
from bienestar.core.errors import DomainError
from bienestar.facilities.models import Facility
from bienestar.fhir.bulk.sql import stable_uuid
from bienestar.fhir.errors import MappingError
from bienestar.fhir.mappers.common import (
    reference_id,
)
from bienestar.people.selectors import persons_visible_to
from bienestar.terminology.models import Icd10Code
from bienestar.workforce.models import Practitioner

T = TypeVar("T")
CLOCK_SKEW = dt.timedelta(minutes=5)


class Refused(Exception):
    def __init__(self, message: Any, path: str = "") -> None:
        super().__init__(str(message))
        self.message = str(message)
        self.path = path


@dataclass
class Item:
    """One NDJSON line of a batch, parsed."""

    file_no: int
    line_no: int
    data: dict[str, Any]
    resource_type: str
    resource_id: str
    public_id: uuid.UUID


@dataclass(frozen=True)
class PersonRow:
    pk: int
    birth_date: dt.date
    territory_path: str


@dataclass
class Batch:
    """What a batch refused and wrote, and the audit it owes."""

    actor: Actor
    user: User
    job_key: str
    refused: list[tuple[Item, str]] = field(default_factory=list)
    created: dict[str, int] = field(default_factory=dict)
    # (domain resource type, person pk) of every record written, for the audit rows.
    written: list[tuple[str, int]] = field(default_factory=list)
    # Domain field → FHIR element, for refusals raised by domain checks.
    paths: dict[str, str] = field(default_factory=dict)
    # Public id → the reference as written ("Patient/p-1"), for messages.
    names: dict[uuid.UUID, str] = field(default_factory=dict)

    def ref(self, resource_type: str, resource_id: str) -> uuid.UUID:
        key = stable_uuid(resource_type, resource_id)
        self.names.setdefault(key, f"{resource_type}/{resource_id}")
        return key

    def refuse(self, item: Item, exc: Exception) -> None:
        path = getattr(exc, "path", "") or ""
        message = str(getattr(exc, "message", "") or exc)
        self.refused.append((item, f"{path}: {message}" if path else message))

    def attempt(self, item: Item, build: Callable[[], T]) -> T | None:
        """`build()`, or None with the line refused (mapping error, domain rule, refusal)."""
        try:
            return build()
        except (MappingError, Refused) as exc:
            self.refuse(item, exc)
        except DomainError as exc:
            field_name = exc.field or ""
            self.refuse(item, Refused(exc.message, self.paths.get(field_name, field_name)))
        return None

    def each(self, items: list[Item], parse: Callable[[Item], T]) -> list[tuple[Item, T]]:
        """(item, parse(item)) of every item that parses; the others refused."""
        out = []
        for item in items:
            result = self.attempt(item, partial(parse, item))
            if result is not None:
                out.append((item, result))
        return out

    def count(self, resource_type: str, n: int) -> None:
        self.created[resource_type] = self.created.get(resource_type, 0) + n


# --- lookups (one query per batch each) ---------------------------------------------------------------


def in_scope(actor: Actor, path: str) -> bool:
    scope = actor.scope_path
    return scope is not None and (path == scope or path.startswith(scope + "."))


def persons(actor: Actor, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, PersonRow]:
    """Persons the importer may see, by public id."""
    rows = persons_visible_to(actor).filter(public_id__in=set(ids))
    return {
        r.public_id: PersonRow(r.pk, r.birth_date, r.territory.path)
        for r in rows.select_related("territory")
    }


def facilities(ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, tuple[int, str]]:
    rows = Facility.objects.filter(public_id__in=set(ids)).values_list(
        "public_id", "pk", "territory__path"
    )
    return {public_id: (pk, path) for public_id, pk, path in rows}


def practitioners(ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
    return dict(Practitioner.objects.filter(public_id__in=set(ids)).values_list("public_id", "pk"))


def encounters(actor: Actor, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, tuple[int, int, int]]:
    """(pk, person pk, facility pk) of the encounters the importer may see."""
    wanted = set(ids)
    if not wanted:
        return {}
    rows = encounters_visible_to(actor).filter(public_id__in=wanted)
    return {
        p: (pk, person, fac)
        for p, pk, person, fac in rows.values_list("public_id", "pk", "person_id", "facility_id")
    }


def icd10_codes(codes: Iterable[str]) -> dict[str, str]:
    """Code as written (any case, with or without the dot) → the catalogue's code."""
    wanted = {c.strip().upper() for c in codes if c}
    if not wanted:
        return {}
    found = Icd10Code.objects.filter(
        Q(code__in=wanted) | Q(code_nodot__in={w.replace(".", "") for w in wanted})
    ).values_list("code", "code_nodot")
    out: dict[str, str] = {}
    for code, nodot in found:
        out.setdefault(code, code)
        out.setdefault(nodot, code)
    return {w: out[w] if w in out else out.get(w.replace(".", ""), "") for w in wanted}


def ref_uuid(batch: Batch, value: Any, target: str | Sequence[str], path: str) -> uuid.UUID:
    targets = (target,) if isinstance(target, str) else tuple(target)
    ident = reference_id(value, targets, path)
    return batch.ref(targets[0], ident)


def check_moment(person: PersonRow, at: dt.datetime, path: str) -> None:
    if at > timezone.now() + CLOCK_SKEW:
        raise Refused(_("La fecha y hora no puede ser futura."), path)
    if timezone.localdate(at) < person.birth_date:
        raise Refused(_("La fecha y hora es anterior al nacimiento de la persona."), path)


def check_day(person: PersonRow, day: dt.date | None, path: str) -> None:
    if day is None:
        return
    if day > timezone.localdate():
        raise Refused(_("La fecha no puede ser futura."), path)
    if day < person.birth_date:
        raise Refused(_("La fecha es anterior al nacimiento de la persona."), path)


def version_of(data: dict[str, Any]) -> int:
    value = str((data.get("meta") or {}).get("versionId") or "1")
    return int(value) if value.isdigit() and 0 < int(value) < 2**31 else 1


def person_of(
    batch: Batch, found: dict[uuid.UUID, PersonRow], key: uuid.UUID, path: str
) -> PersonRow:
    person = found.get(key)
    if person is None:
        raise Refused(
            _("No existe %(ref)s o está fuera de su ámbito.")
            % {"ref": batch.names.get(key, f"Patient/{key}")},
            path,
        )
    return person


def own_facility(batch: Batch, path: str) -> int:
    if batch.user.facility_id is None:
        raise Refused(_("Indique el establecimiento (el usuario que importa no tiene uno)."), path)
    return int(batch.user.facility_id)


def facility_of(
    batch: Batch, found: dict[uuid.UUID, tuple[int, str]], key: uuid.UUID, path: str
) -> int:
    facility = found.get(key)
    if facility is None:
        raise Refused(_("Establecimiento desconocido: %(id)s.") % {"id": key}, path)
    pk, territory = facility
    if pk != batch.user.facility_id and not in_scope(batch.actor, territory):
        raise Refused(_("Establecimiento fuera de su territorio."), path)
    return pk


def encounter_of(
    batch: Batch,
    found: dict[uuid.UUID, tuple[int, int, int]],
    key: uuid.UUID | None,
    person: PersonRow,
    path: str,
) -> tuple[int | None, int | None]:
    """(encounter pk, its facility pk); refused when it is missing or another person's."""
    if key is None:
        return None, None
    encounter = found.get(key)
    if encounter is None:
        raise Refused(
            _("No existe %(ref)s o está fuera de su ámbito.")
            % {"ref": batch.names.get(key, f"Encounter/{key}")},
            path,
        )
    if encounter[1] != person.pk:
        raise Refused(_("La atención es de otra persona."), path)
    return encounter[0], encounter[2]


def clinical_context(
    batch: Batch, items_refs: list[tuple[uuid.UUID, uuid.UUID | None]]
) -> tuple[dict[uuid.UUID, PersonRow], dict[uuid.UUID, tuple[int, int, int]]]:
    found = persons(batch.actor, [p for p, _e in items_refs])
    visits = encounters(batch.actor, [e for _p, e in items_refs if e is not None])
    return found, visits
