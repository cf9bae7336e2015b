"""Pages of the people domain: a person's affiliation (issue 14) and registration
(people/registration_views.py). Thin: forms give shape, the services decide."""

from __future__ import annotations

import uuid
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from bienestar.access.actor import Actor
from bienestar.access.errors import OutOfScope
from bienestar.access.roles import Permission
from bienestar.core.errors import DomainError
from bienestar.people import affiliations
from bienestar.people.forms import AffiliationEndForm, AffiliationForm
from bienestar.people.models import ChangeSource, Person
from bienestar.people.selectors import persons_visible_to
from bienestar.web.http import page


def _person(actor: Actor, public_id: uuid.UUID) -> Person:
    """Scoped, unaudited: the affiliation selector and services audit the access."""
    person = persons_visible_to(actor).filter(public_id=public_id).first()
    if person is None:
        raise OutOfScope()
    return person


def _render(
    request: HttpRequest,
    actor: Actor,
    person: Person,
    form: AffiliationForm,
    *,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    today = timezone.localdate()
    history = affiliations.affiliation_history(actor, person=person)
    context: dict[str, Any] = {
        "person": person,
        "form": form,
        "error": error,
        "history": history,
        "current": affiliations.current_affiliations(history, today),
        "end_form": AffiliationEndForm(initial={"end": today}),
        "can_edit": actor.can(Permission.PERSON_WRITE),
    }
    return render(request, "people/affiliation.html", context, status=status)


@page(Permission.PERSON_READ)
def affiliation_page(request: HttpRequest, actor: Actor, public_id: uuid.UUID) -> HttpResponse:
    person = _person(actor, public_id)
    if request.method == "POST":
        form = AffiliationForm(request.POST)
        if not form.is_valid():
            return _render(request, actor, person, form, status=422)
        try:
            affiliations.affiliation_record(
                actor,
                person=person,
                channel=ChangeSource.WEB,
                **form.cleaned_data,
            )
        except DomainError as exc:
            if exc.status not in (409, 422):
                raise
            if exc.field in form.fields:
                form.add_error(exc.field, str(exc.message))
                return _render(request, actor, person, form, status=exc.status)
            return _render(request, actor, person, form, error=str(exc.message), status=exc.status)
        return redirect("person_affiliation", public_id=person.public_id)
    form = AffiliationForm(initial={"start": timezone.localdate(), "source": "self-declared"})
    return _render(request, actor, person, form)


@page(Permission.PERSON_WRITE)
def affiliation_end_page(
    request: HttpRequest, actor: Actor, public_id: uuid.UUID, affiliation_id: uuid.UUID
) -> HttpResponse:
    person = _person(actor, public_id)
    if request.method != "POST":
        return redirect("person_affiliation", public_id=person.public_id)
    form = AffiliationEndForm(request.POST)
    blank = AffiliationForm(initial={"start": timezone.localdate(), "source": "self-declared"})
    if not form.is_valid():
        return _render(request, actor, person, blank, error=str(form.errors), status=422)
    try:
        affiliations.affiliation_end(
            actor,
            person=person,
            affiliation_id=affiliation_id,
            end=form.cleaned_data["end"],
            channel=ChangeSource.WEB,
        )
    except DomainError as exc:
        if exc.status not in (409, 422):
            raise
        return _render(request, actor, person, blank, error=str(exc.message), status=exc.status)
    return redirect("person_affiliation", public_id=person.public_id)
