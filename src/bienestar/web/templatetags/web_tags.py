"""Template helpers of the pages: the header (which depends on the role), IDs and ages for display."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django import template
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.access.roles import Permission, Role
from bienestar.people import national_id as national_id_mod

register = template.Library()


def nav_items(actor: Actor) -> list[tuple[str, str, str]]:
    """(url name or absolute path, label, key) of the header links this actor may follow."""
    items = [(reverse("home"), _("Inicio"), "home")]
    if (
        actor.can(Permission.APPOINTMENT_WRITE)
        and actor.user is not None
        and actor.user.facility_id
    ):
        items.append((reverse("agenda_day"), _("Agenda"), "agenda"))
        items.append((reverse("referrals_received"), _("Referencias"), "referrals"))
    if actor.can(Permission.OUTREACH_FIELD):
        items.append((reverse("outreach:worklist"), _("Mi trabajo"), "outreach"))
    if actor.can(Permission.OUTREACH_PLAN):
        items.append((reverse("outreach:planner"), _("Territorios"), "outreach"))
    if actor.can(Permission.PERSON_READ):
        items.append((reverse("person_search"), _("Personas"), "people"))
    if actor.can(Permission.DISPENSE):
        items.append((reverse("pharmacy_home"), _("Farmacia"), "pharmacy"))
    if actor.can(Permission.STOCK_WRITE):
        items.append((reverse("stock_own"), _("Existencias"), "stock"))
    if actor.can(Permission.AUDIT_READ):
        items.append((reverse("audit_log"), _("Auditoría"), "audit"))
    if actor.can(Permission.INDICATOR_READ) and actor.role in (
        Role.NATIONAL_COORDINATOR,
        Role.STATE_COORDINATOR,
    ):
        items.append((reverse("indicator_list"), _("Indicadores"), "indicators"))
    if actor.role == Role.INTEGRATOR:
        items.append(("/api/docs", _("API"), "api"))
    items.append((reverse("job_list"), _("Trabajos"), "jobs"))
    return items


@register.inclusion_tag("web/_header.html", takes_context=True)
def site_header(context: template.Context, section: str = "") -> dict[str, Any]:
    request = context.get("request")
    actor = Actor.from_request(request) if request is not None else Actor(user=None)
    user = actor.user
    return {
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "signed_in": actor.is_authenticated,
        "display_name": (user.get_full_name() or user.get_username()) if user is not None else "",
        "role_label": user.get_role_display() if user is not None and user.role else "",
        "territory": user.territory if user is not None and user.territory_id else None,
        "nav": nav_items(actor) if actor.is_authenticated else [],
        "section": section,
        "languages": settings.LANGUAGES,
        "current_language": context.get("LANGUAGE_CODE", settings.LANGUAGE_CODE),
        "next_url": request.get_full_path() if request is not None else "/",
    }


@register.filter
def national_id(value: str) -> str:
    """XXXX-XXXX-XXX, the grouping printed on the card and read aloud at the counter."""
    return national_id_mod.display(value or "")


@register.filter
def age(birth_date: dt.date | None) -> int | None:
    if birth_date is None:
        return None
    today = timezone.localdate()
    return (
        today.year
        - birth_date.year
        - ((today.month, today.day) < (birth_date.month, birth_date.day))
    )


@register.filter
def minutes(delta: dt.timedelta | None) -> int:
    if delta is None:
        return 0
    return max(1, round(delta.total_seconds() / 60))


def _field_labels() -> dict[str, str]:
    return {
        "given_names": _("Nombre(s)"),
        "first_surname": _("Primer apellido"),
        "second_surname": _("Segundo apellido"),
        "sex": _("Sexo"),
        "birth_date": _("Fecha de nacimiento"),
        "indigenous": _("Autoadscripción indígena"),
        "indigenous_language": _("Lengua indígena"),
        "disability": _("Discapacidad"),
        "deceased_date": _("Fecha de defunción"),
        "identifiers": _("Identificadores"),
        "merge_id": _("Fusión"),
    }


@register.filter
def changed_fields(changes: Any) -> list[tuple[str, Any, Any]]:
    """A provenance row's changes as (field, before, after); before/after are None when not recorded."""
    if not isinstance(changes, dict):
        return []
    labels = _field_labels()
    out: list[tuple[str, Any, Any]] = []
    for name, value in sorted(changes.items()):
        label = str(labels.get(str(name)) or name)
        if isinstance(value, list) and len(value) == 2 and name != "identifiers":
            out.append((label, value[0], value[1]))
        elif isinstance(value, list):
            out.append((label, None, ", ".join(str(v) for v in value)))
        else:
            out.append((label, None, value))
    return out


@register.filter
def change_action(action: str) -> str:
    labels = {
        "create": _("Alta"),
        "update": _("Modificación"),
        "merge": _("Fusión"),
        "unmerge": _("Separación"),
        "affiliation": _("Afiliación"),
    }
    return str(labels.get(action, action))


@register.filter
def role_label(role: str) -> str:
    return str(Role(role).label) if role in Role.values else role


@register.filter
def user_label(user: Any) -> str:
    """A user as people know them: full name and role ("Pedro Sánchez · Farmacia"), not the
    username (which shows only when no name was recorded)."""
    if user is None:
        return ""
    name = (user.get_full_name() or "").strip() or user.get_username()
    role = getattr(user, "role", "")
    return f"{name} · {Role(role).label}" if role in Role.values else name


@register.filter
def as_json(value: Any) -> str:
    if value in (None, "", [], {}):
        return ""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


@register.filter
def grouped(value: int | None) -> str:
    """12345 → "12,345" (or the active language's separator): counts on the home pages run to millions."""
    if value is None:
        return ""
    return str(number_format(value, force_grouping=True))
