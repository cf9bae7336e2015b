"""What the FHIR API knows about each resource type: where its rows come from (a scoped selector),
how they become FHIR (a mapper), which search parameters, sorts and includes it supports, and who
may read and write it. The CapabilityStatement, the search engine, the interactions and (later)
bundles and bulk export all read this one registry.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.access.roles import Permission
from bienestar.fhir.errors import FhirError

TOKEN = "token"  # noqa: S105 - a search parameter type, not a secret
STRING = "string"
DATE = "date"
REFERENCE = "reference"
QUANTITY = "quantity"


@dataclass(frozen=True)
class SearchParam:
    """One search parameter. Exactly one of the builders matters, by `type`:

    - token: `token(system, code)` → Q; system None = any system, "" = no system;
    - string: `string(actor, value, modifier)` → Q; modifier "", "exact" or "contains";
    - date: `date_fields` = (start, end or None), `days` for date-only targets;
    - reference: `reference_field` (path to the target's id), `targets` (types), and `chain`
      (the foreign key whose target's own parameters may be chained: `patient.identifier`);
    - quantity: `quantity_fields` = (value, unit).
    """

    name: str
    type: str
    documentation: str
    token: Callable[[str | None, str], Q] | None = None
    string: Callable[[Actor, str, str], Q] | None = None
    date_fields: tuple[str, str | None] | None = None
    days: bool = False
    reference_field: str | None = None
    targets: tuple[str, ...] = ()
    chain: str | None = None
    quantity_fields: tuple[str, str] | None = None
    uuid_ids: bool = True
    # The filter joins a to-many relation, so one row could match twice: the search adds DISTINCT.
    distinct: bool = False


@dataclass(frozen=True)
class Include:
    """`_include=<Type>:<name>` follows `fk` (a foreign key to `target`); the same pair read
    backwards is `_revinclude=<Type>:<name>` from a search of `target`."""

    name: str
    target: str
    fk: str


@dataclass
class ResourceDef:
    type: str
    read_permission: Permission
    # Scoped rows (a domain selector); raises Forbidden when the role may not read them.
    queryset: Callable[[Actor], QuerySet[Any]]
    # What mapping needs loaded (select_related / prefetch_related).
    load: Callable[[QuerySet[Any]], QuerySet[Any]]
    # Maps a page of loaded rows to FHIR dicts; may fetch shared context once for the page.
    to_fhir: Callable[[Sequence[Any], Actor], list[dict[str, Any]]]
    params: dict[str, SearchParam] = field(default_factory=dict)
    sorts: dict[str, tuple[str, ...]] = field(default_factory=dict)
    default_sort: tuple[str, ...] = ("-id",)
    includes: dict[str, Include] = field(default_factory=dict)
    id_field: str = "public_id"
    uuid_ids: bool = True
    # Audit: the domain name of the row (None: not personal data, not audited) and where the
    # person's internal id is on the row.
    audit_type: str | None = None
    person_attr: str = "person_id"
    write_permission: Permission | None = None
    documentation: str = ""
    profile: str = ""

    @property
    def writable(self) -> bool:
        return self.write_permission is not None

    def visible(self, actor: Actor) -> QuerySet[Any]:
        """The rows the actor may read: the scoped selector's, and for a patient-bound token
        (SMART launch context) only that patient's own records."""
        qs = self.queryset(actor)
        if actor.patient_id is not None and self.audit_type:
            field_name = "pk" if self.person_attr == "id" else self.person_attr
            qs = qs.filter(**{field_name: actor.patient_id})
        return qs

    def id_q(self, resource_id: str) -> Q:
        from bienestar.fhir.params import id_q

        return id_q(self.id_field, [resource_id], uuid_ids=self.uuid_ids)

    def person_id(self, row: Any) -> int | None:
        value = getattr(row, self.person_attr, None) if self.audit_type else None
        return int(value) if value is not None else None


REGISTRY: dict[str, ResourceDef] = {}


def register(definition: ResourceDef) -> ResourceDef:
    REGISTRY[definition.type] = definition
    return definition


def get(resource_type: str) -> ResourceDef:
    _ensure_loaded()
    definition = REGISTRY.get(resource_type)
    if definition is None:
        raise FhirError(
            404,
            _("Tipo de recurso no admitido: %(type)s.") % {"type": resource_type},
            code="not-supported",
        )
    return definition


def all_types() -> list[ResourceDef]:
    _ensure_loaded()
    return [REGISTRY[name] for name in sorted(REGISTRY)]


_loading = threading.Lock()
_loaded = False


def _ensure_loaded() -> None:
    """Import the resource modules (they register every type) once. Under a lock, and marked done
    only after the import finished: a gunicorn worker's threads all arrive at once on a fresh
    process, and one seeing the registry half filled answered "type not supported"."""
    global _loaded
    if _loaded:
        return
    with _loading:
        if not _loaded:
            from bienestar.fhir import resources  # noqa: F401 - registers every type

            _loaded = True
