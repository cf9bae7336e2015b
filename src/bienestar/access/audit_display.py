"""The audit log in its users' words: the kind of record in Spanish, who acted by name and role, the
person concerned by name and national health ID, and the query as readable filters.

An auditor sees the name of a person concerned only when that person lives inside the auditor's
territory (a national auditor: everyone); otherwise the row says the person is of another territory.
The names shown are themselves a disclosure, so the auditor's own audit row lists those persons
(`person_ids`), and filtering by person is audited with that person's id.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bienestar.access.actor import Actor
from bienestar.access.audit import audit_record
from bienestar.access.models import AuditAction, AuditEvent, User
from bienestar.access.roles import Role
from bienestar.access.selectors import (
    AUDIT_PAGE_MAX,
    EXPORT_CHUNK,
    AuditFilters,
    audit_events,
    person_for_audit,
)
from bienestar.access.selectors import _within as within_scope

# The kinds of record, as the users of the network name them. A type not listed shows as written.
RESOURCE_LABELS: dict[str, Any] = {
    "Person": gettext_lazy("Persona (padrón)"),
    "Patient": gettext_lazy("Persona (padrón)"),
    "Household": gettext_lazy("Hogar"),
    "ClinicalChart": gettext_lazy("Expediente clínico"),
    "Encounter": gettext_lazy("Expediente clínico: atención"),
    "Condition": gettext_lazy("Expediente clínico: diagnóstico"),
    "Observation": gettext_lazy("Expediente clínico: signos vitales"),
    "AllergyIntolerance": gettext_lazy("Expediente clínico: alergia"),
    "Immunization": gettext_lazy("Expediente clínico: vacuna"),
    "Prescription": gettext_lazy("Receta"),
    "MedicationRequest": gettext_lazy("Receta"),
    "Dispense": gettext_lazy("Surtimiento de receta"),
    "MedicationDispense": gettext_lazy("Surtimiento de receta"),
    "Appointment": gettext_lazy("Cita"),
    "Referral": gettext_lazy("Referencia"),
    "PersonAffiliation": gettext_lazy("Afiliación"),
    "Screening": gettext_lazy("Tamizaje"),
    "Visit": gettext_lazy("Visita domiciliaria"),
    "AuditEvent": gettext_lazy("Bitácora de auditoría"),
    "ApiToken": gettext_lazy("Token de API"),
    "Job": gettext_lazy("Trabajo en segundo plano"),
    "JobResult": gettext_lazy("Resultado de un trabajo"),
}

# The keys of `query`, as filters. A key not listed shows as written.
QUERY_LABELS: dict[str, Any] = {
    "kind": gettext_lazy("tipo de búsqueda"),
    "text": gettext_lazy("texto buscado"),
    "q": gettext_lazy("texto buscado"),
    "name": gettext_lazy("nombre"),
    "limit": gettext_lazy("máximo"),
    "offset": gettext_lazy("desde el resultado"),
    "status": gettext_lazy("estado"),
    "person": gettext_lazy("persona"),
    "via": gettext_lazy("desde"),
    "by": gettext_lazy("por"),
    "code": gettext_lazy("código"),
    "queue": gettext_lazy("fila de recetas"),
    "prescription": gettext_lazy("receta"),
    "units": gettext_lazy("unidades"),
    "outside_territory": gettext_lazy("fuera de su territorio"),
    "change": gettext_lazy("cambio"),
    "as_of": gettext_lazy("al día"),
    "count": gettext_lazy("cantidad"),
    "actor": gettext_lazy("usuario"),
    "action": gettext_lazy("acción"),
    "resource_type": gettext_lazy("tipo de registro"),
    "date_from": gettext_lazy("desde"),
    "date_to": gettext_lazy("hasta"),
    "territory": gettext_lazy("territorio"),
    "household": gettext_lazy("hogar"),
    "national_health_id": gettext_lazy("clave de salud"),
}

VALUE_LABELS: dict[str, Any] = {
    "name": gettext_lazy("nombre"),
    "curp": gettext_lazy("CURP"),
    "national_health_id": gettext_lazy("clave de salud"),
    "dispense_page": gettext_lazy("pantalla de surtimiento"),
    "receipt": gettext_lazy("comprobante de surtimiento"),
    "code": gettext_lazy("código de la receta"),
    "territory": gettext_lazy("todo el territorio"),
    "cancel": gettext_lazy("cancelación"),
    "expire": gettext_lazy("vencimiento"),
    "<exact>": gettext_lazy("(dato exacto, no se guarda)"),
    "person": gettext_lazy("ficha de la persona"),
}


@dataclass(frozen=True)
class PersonShown:
    name: str
    national_health_id: str


@dataclass(frozen=True)
class AuditRow:
    event: AuditEvent
    actor_name: str
    role_label: str
    resource_label: str
    person: PersonShown | None
    # True when the row concerns a person the auditor may not see by name.
    person_hidden: bool
    filters: list[tuple[str, str]]

    @property
    def filters_text(self) -> str:
        return "; ".join(f"{label}: {value}" for label, value in self.filters)

    @property
    def person_text(self) -> str:
        if self.person is not None:
            return f"{self.person.name} ({self.person.national_health_id})"
        return _("Persona de otro territorio") if self.person_hidden else ""


def _value(value: Any) -> str:
    if value is True:
        return _("sí")
    if value is False:
        return _("no")
    if isinstance(value, list | tuple):
        return ", ".join(_value(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{_label(k)} {_value(v)}" for k, v in value.items())
    text = str(value)
    return str(VALUE_LABELS.get(text, text))


def _label(key: str) -> str:
    return str(QUERY_LABELS.get(key, key.replace("_", " ")))


def readable_filters(query: Any) -> list[tuple[str, str]]:
    """`{"kind": "name", "limit": 20}` → [("tipo de búsqueda", "nombre"), ("máximo", "20")]."""
    if not isinstance(query, dict):
        return [] if query in (None, "") else [(_("consulta"), _value(query))]
    return [(_label(key), _value(value)) for key, value in query.items() if value not in (None, "")]


def _full_name(user: User) -> str:
    return user.get_full_name().strip() or user.get_username()


def _persons_shown(actor: Actor, ids: Iterable[int]) -> dict[int, PersonShown]:
    """Name and national health ID of the persons among `ids` living inside the auditor's
    territory (all of them for a national auditor)."""
    wanted = {i for i in ids if i is not None}
    scope = actor.scope_path
    if not wanted or scope is None:
        return {}
    person = apps.get_model("people", "Person")  # access is below people: no import at load time
    qs = person.objects.filter(pk__in=wanted)
    if "." in scope:
        qs = qs.filter(within_scope("territory__path", scope))
    return {
        p.pk: PersonShown(
            name=" ".join(x for x in (p.given_names, p.first_surname, p.second_surname) if x),
            national_health_id=p.national_health_id,
        )
        for p in qs.only(
            "pk", "given_names", "first_surname", "second_surname", "national_health_id"
        )
    }


def describe(actor: Actor, events: list[AuditEvent]) -> list[AuditRow]:
    """The events as rows in the users' words. Two queries (users, persons); writes nothing."""
    user_ids = {e.actor_id for e in events if e.actor_id is not None}
    users = {u.pk: u for u in User.objects.filter(pk__in=user_ids)}
    shown = _persons_shown(actor, [e.person_id for e in events if e.person_id is not None])
    rows = []
    for e in events:
        user = users.get(e.actor_id) if e.actor_id is not None else None
        rows.append(
            AuditRow(
                event=e,
                actor_name=_full_name(user) if user is not None else e.actor_username,
                role_label=str(Role(e.role).label) if e.role in Role.values else e.role,
                resource_label=str(RESOURCE_LABELS.get(e.resource_type, e.resource_type)),
                person=shown.get(e.person_id) if e.person_id is not None else None,
                person_hidden=e.person_id is not None and e.person_id not in shown,
                filters=readable_filters(e.query),
            )
        )
    return rows


def audit_page_rows(
    actor: Actor, *, filters: AuditFilters, limit: int = 50, offset: int = 0
) -> tuple[list[AuditRow], bool]:
    """One page of the log as rows, and whether a next page exists. One audit row of the auditor's
    own read: the filters, the person filtered by (`person_id`) and the persons named on the page
    (`person_ids`)."""
    limit = max(1, min(limit, AUDIT_PAGE_MAX))
    offset = max(0, offset)
    person = person_for_audit(actor, filters.person) if filters.person else None
    events = list(audit_events(actor, filters=filters)[offset : offset + limit + 1])
    rows = describe(actor, events[:limit])
    audit_record(
        actor,
        action=AuditAction.SEARCH,
        resource_type="AuditEvent",
        person_id=person.pk if person is not None else None,
        query={**filters.as_query(), "limit": limit, "offset": offset},
        person_ids=sorted(
            {r.event.person_id for r in rows if r.person is not None and r.event.person_id}
        ),
    )
    return rows, len(events) > limit


def audit_export_rows(actor: Actor, *, filters: AuditFilters) -> Iterator[AuditRow]:
    """Every matching event as rows, streamed in chunks. The export is recorded before the first
    row is read (with the person filtered by), so an interrupted download is still on record."""
    person = person_for_audit(actor, filters.person) if filters.person else None
    qs = audit_events(actor, filters=filters)
    audit_record(
        actor,
        action=AuditAction.EXPORT,
        resource_type="AuditEvent",
        person_id=person.pk if person is not None else None,
        query=filters.as_query(),
    )
    events = qs.iterator(chunk_size=EXPORT_CHUNK)
    while chunk := list(itertools.islice(events, EXPORT_CHUNK)):
        yield from describe(actor, chunk)


def local_time(at: dt.datetime) -> str:
    return timezone.localtime(at).strftime("%d/%m/%Y %H:%M:%S")
