"""The registration page: CURP decoded into the form, candidates while typing (htmx), register
anew only knowingly (people/registration.py decides)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.access.roles import Permission
from bienestar.core.errors import DomainError
from bienestar.people import candidates as candidates_mod
from bienestar.people import curp as curp_mod
from bienestar.people import matching, registration
from bienestar.people.forms import RegistrationForm
from bienestar.people.models import IdentifierSystem, PersonIdentifier
from bienestar.people.services import IdentifierInput, PersonInput
from bienestar.territories.models import Territory, TerritoryKind
from bienestar.web.http import page

TERRITORY_CHOICES_MAX = 3000


def _territories(actor: Actor) -> list[tuple[str, str]]:
    scope = actor.scope_path
    if scope is None:
        return []
    rows = (
        Territory.objects.filter(kind=TerritoryKind.MUNICIPALITY)
        .filter(path__startswith=scope + ".")
        .select_related("parent")
        .order_by("parent__name", "name")[:TERRITORY_CHOICES_MAX]
    )
    return [("", "—")] + [
        (t.path, f"{t.name} ({t.parent.name})" if t.parent else t.name) for t in rows
    ]


def _record(data: Any) -> matching.Record:
    """What was typed so far, tolerant of half-typed fields (for candidates while typing)."""
    born = None
    try:
        raw = (data.get("birth_date") or "").strip()
        born = dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        born = None
    return matching.Record(
        given_names=(data.get("given_names") or "")[:120],
        first_surname=(data.get("first_surname") or "")[:80],
        second_surname=(data.get("second_surname") or "")[:80],
        sex=(data.get("sex") or "")[:1],
        birth_date=born,
        curp=curp_mod.normalize(data.get("curp") or "")[:18],
    )


def _candidates_context(actor: Actor, record: matching.Record) -> dict[str, Any]:
    found = candidates_mod.registration_candidates(actor, record=record)
    return {"found": found, "typed": record}


@page(Permission.PERSON_WRITE)
def register_page(request: HttpRequest, actor: Actor) -> HttpResponse:
    territories = _territories(actor)
    if request.method != "POST":
        form = RegistrationForm(territories=territories)
        return render(request, "people/register.html", {"form": form, "found": None})
    form = RegistrationForm(request.POST, territories=territories)
    found = None
    status = 422
    if form.is_valid():
        data = form.cleaned_data
        curp = curp_mod.normalize(data["curp"])
        person_input = PersonInput(
            given_names=data["given_names"],
            first_surname=data["first_surname"],
            second_surname=data["second_surname"],
            sex=data["sex"],
            birth_date=data["birth_date"],
            territory_path=data["territory"],
            identifiers=[IdentifierInput(system=IdentifierSystem.CURP, value=curp)] if curp else [],
        )
        try:
            person = registration.person_register_at_desk(
                actor, data=person_input, override_reason=data["override_reason"]
            )
        except DomainError as exc:
            if exc.status not in (409, 422):
                raise
            status = exc.status
            field = {"identifiers": "curp", "territory": "territory"}.get(
                exc.field or "", exc.field
            )
            if field in form.fields:
                form.add_error(field, str(exc.message))
            else:
                form.add_error(None, str(exc.message))
        else:
            return redirect("person_detail", public_id=person.public_id)
    found = _candidates_context(actor, _record(request.POST))
    existing = None
    curp = curp_mod.normalize(request.POST.get("curp", ""))
    if curp:
        existing = (
            PersonIdentifier.objects.filter(system=IdentifierSystem.CURP, value=curp)
            .values_list("person__public_id", flat=True)
            .first()
        )
    context = {"form": form, **found, "existing_curp_owner": existing}
    return render(request, "people/register.html", context, status=status)


@page(Permission.PERSON_WRITE)
def register_candidates(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The candidates panel for what is typed so far (htmx)."""
    context = _candidates_context(actor, _record(request.GET))
    return render(request, "people/_candidates.html", context)


@page(Permission.PERSON_WRITE)
def register_curp(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The fields a CURP fills (sex, birth date, birth state), or why it cannot fill them."""
    curp = curp_mod.normalize(request.GET.get("curp", ""))[:18]
    parts = curp_mod.decode(curp) if curp else None
    problem = curp_mod.validate(curp) if curp else None
    form = RegistrationForm(
        initial={
            "sex": parts.sex if parts else request.GET.get("sex", ""),
            "birth_date": parts.birth_date if parts else request.GET.get("birth_date", ""),
        },
        territories=[],
    )
    context = {
        "form": form,
        "parts": parts,
        "curp_problem": _(problem) if (curp and len(curp) == 18 and problem) else "",
    }
    return render(request, "people/_curp_fields.html", context)
