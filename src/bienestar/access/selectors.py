"""Reads of the audit log, for auditors only. Reading the log is itself recorded in the log: it reveals
who looked at whose record, so the people who look at it are accountable too."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from django.apps import apps
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bienestar.access.actor import Actor
from bienestar.access.audit import audit_record
from bienestar.access.models import AuditAction, AuditEvent
from bienestar.access.permissions import require
from bienestar.access.roles import Permission
from bienestar.core.db_routing import lag_tolerant
from bienestar.core.errors import ValidationFailed

AUDIT_PAGE_MAX = 200
EXPORT_CHUNK = 2000


@dataclass(frozen=True)
class AuditFilters:
    actor: str = ""
    action: str = ""
    resource_type: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    # The person concerned: national health ID or opaque id (see `person_for_audit`).
    person: str = ""

    def as_query(self) -> dict[str, Any]:
        """For the audit row of this read: only the filters that were set."""
        return {
            k: (v.isoformat() if isinstance(v, dt.date) else v)
            for k, v in asdict(self).items()
            if v
        }


def _day_start(day: dt.date) -> dt.datetime:
    """Midnight of `day` in the configured time zone: a date range means the users' calendar days."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _within(field: str, scope: str) -> Q:
    return Q(**{field: scope}) | Q(**{f"{field}__startswith": scope + "."})


def _in_scope(actor: Actor, qs: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
    """An auditor of a country sees its whole log; an auditor of a state (or a smaller territory)
    sees what concerns it: accesses to the records of persons living there, by anyone, and what
    the users of that territory did."""
    scope = actor.scope_path
    if scope is None:
        return qs.none()
    if "." not in scope:
        return qs
    person = apps.get_model("people", "Person")  # access is below people: no import at load time
    residents = person.objects.filter(_within("territory__path", scope)).values("pk")
    return qs.filter(Q(person_id__in=residents) | _within("actor__territory__path", scope))


def person_for_audit(actor: Actor, text: str) -> Any:
    """The person an auditor filters the log by, named by national health ID or opaque id: inside
    the auditor's territory (a national auditor: anyone), else a 422 that says so."""
    require(actor, Permission.AUDIT_READ)
    person = apps.get_model("people", "Person")  # access is below people: no import at load time
    scope = actor.scope_path
    text = "".join(text.split()).upper()
    qs = person.objects.all()
    if scope is None:
        qs = qs.none()
    elif "." in scope:
        qs = qs.filter(_within("territory__path", scope))
    try:
        by_id = Q(public_id=uuid.UUID(text))
    except ValueError:
        by_id = Q(pk__in=[])
    found = qs.filter(Q(national_health_id=text) | by_id).first()
    if found is None:
        raise ValidationFailed(
            _("No hay ninguna persona con esa clave de salud en su territorio."), field="person"
        )
    return found


def audit_events(actor: Actor, *, filters: AuditFilters) -> QuerySet[AuditEvent]:
    """Newest first, within the auditor's territory (`_in_scope`). Not audited by itself:
    `audit_page` and `audit_export` record the read."""
    require(actor, Permission.AUDIT_READ)
    if filters.action and filters.action not in AuditAction.values:
        raise ValidationFailed(_("Acción desconocida."), field="action")
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise ValidationFailed(_("La fecha inicial es posterior a la final."), field="date_from")
    qs = _in_scope(actor, AuditEvent.objects.order_by("-at", "-id"))
    if filters.person:
        # "Who saw or changed this person's record": rows about the person, and rows listing it.
        pk = person_for_audit(actor, filters.person).pk
        qs = qs.filter(Q(person_id=pk) | Q(person_ids__contains=[pk]))
    if filters.actor:
        qs = qs.filter(actor_username=filters.actor.strip())
    if filters.action:
        qs = qs.filter(action=filters.action)
    if filters.resource_type:
        qs = qs.filter(resource_type=filters.resource_type.strip())
    if filters.date_from:
        qs = qs.filter(at__gte=_day_start(filters.date_from))
    if filters.date_to:
        qs = qs.filter(at__lt=_day_start(filters.date_to + dt.timedelta(days=1)))
    return lag_tolerant(qs)


def audit_page(
    actor: Actor, *, filters: AuditFilters, limit: int = 50, offset: int = 0
) -> list[AuditEvent]:
    """One page of events; asks for `limit + 1` rows so the caller knows whether a next page exists
    without counting a table that grows without bound."""
    limit = max(1, min(limit, AUDIT_PAGE_MAX))
    offset = max(0, offset)
    rows = list(audit_events(actor, filters=filters)[offset : offset + limit + 1])
    audit_record(
        actor,
        action=AuditAction.SEARCH,
        resource_type="AuditEvent",
        query={**filters.as_query(), "limit": limit, "offset": offset},
    )
    return rows


def audit_export(actor: Actor, *, filters: AuditFilters) -> Iterator[AuditEvent]:
    """Every matching event, streamed from a server-side cursor in chunks. The export is recorded
    before the first row is read, so an interrupted download is still on record."""
    qs = audit_events(actor, filters=filters)
    audit_record(
        actor, action=AuditAction.EXPORT, resource_type="AuditEvent", query=filters.as_query()
    )
    return qs.iterator(chunk_size=EXPORT_CHUNK)


def audit_resource_types() -> list[str]:
    """The resource types the filter offers. A fixed list rather than SELECT DISTINCT, which would
    scan the whole log; typing any other type in the filter still works."""
    return [
        "Person",
        "Household",
        "AuditEvent",
        "Encounter",
        "Prescription",
        "Dispense",
        "ApiToken",
    ]
