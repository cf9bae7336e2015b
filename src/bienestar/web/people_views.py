"""Person search and the person page."""

from __future__ import annotations

import uuid
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.access.roles import Permission
from bienestar.core.errors import DomainError
from bienestar.people import selectors as people
from bienestar.web.http import is_htmx, page
from bienestar.web.selectors import person_household

PAGE_SIZE = 20
QUERY_MAX = 100
MIN_QUERY = 2


def _page_number(raw: str | None) -> int:
    try:
        return max(1, min(int(raw or 1), 500))
    except ValueError:
        return 1


def _search(actor: Actor, text: str, page_number: int) -> tuple[dict[str, Any], int]:
    """The search's template context and HTTP status (422 when the text cannot be searched)."""
    context: dict[str, Any] = {"q": text, "page": page_number, "results": None, "error": None}
    if not text:
        return context, 200
    if len(text) < MIN_QUERY:
        context["error"] = _("Escriba al menos %(n)d caracteres para buscar.") % {"n": MIN_QUERY}
        return context, 422
    if len(text) > QUERY_MAX:
        context["error"] = _("Escriba como máximo %(n)d caracteres.") % {"n": QUERY_MAX}
        return context, 422
    try:
        # Exactly one page is fetched, so the audit row lists only the people this page shows.
        results = people.person_search(
            actor, text=text, limit=PAGE_SIZE, offset=(page_number - 1) * PAGE_SIZE
        )
    except DomainError as exc:
        if exc.status != 422:
            raise
        context["error"] = _(str(exc.message))
        return context, 422
    context.update(
        results=results,
        has_previous=page_number > 1,
        has_next=len(results) == PAGE_SIZE,
        first_index=(page_number - 1) * PAGE_SIZE + 1,
        last_index=(page_number - 1) * PAGE_SIZE + len(results),
    )
    return context, 200


@page(Permission.PERSON_READ)
def person_search(request: HttpRequest, actor: Actor) -> HttpResponse:
    text = " ".join(request.GET.get("q", "").split())
    context, status = _search(actor, text, _page_number(request.GET.get("page")))
    context["perms_person_write"] = actor.can(Permission.PERSON_WRITE)
    template = "web/people/_results.html" if is_htmx(request) else "web/people/search.html"
    return render(request, template, context, status=status)


@page(Permission.PERSON_READ)
def person_detail(request: HttpRequest, actor: Actor, public_id: uuid.UUID) -> HttpResponse:
    person = people.person_get(actor, public_id=public_id)
    context: dict[str, Any] = {
        "person": person,
        "details": people.person_details(actor, person=person),
        "household": person_household(actor, person=person)
        if actor.can(Permission.HOUSEHOLD_READ)
        else None,
        "can_see_household": actor.can(Permission.HOUSEHOLD_READ),
        "can_see_chart": actor.can(Permission.CLINICAL_READ),
        "changes": people.person_changes(actor, person=person)
        if actor.can(Permission.PERSON_WRITE)
        else None,
    }
    return render(request, "web/people/detail.html", context)
