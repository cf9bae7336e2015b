"""Persons API: search, read, register and update, always scoped to the caller and audited.

Thin: the selectors and services check permissions, scope and audit; this module maps HTTP to them.
Only opaque `public_id` UUIDs leave the system, never the internal bigint id.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Path, Query, Router, Schema, Status
from pydantic import model_validator

from bienestar.access.api_auth import request_actor
from bienestar.access.errors import OutOfScope
from bienestar.access.scopes import reads, writes
from bienestar.core.api import NO_NUL, page
from bienestar.people import affiliations, identifier_systems, national_id, selectors, services
from bienestar.people.models import (
    AffiliationScheme,
    AffiliationSource,
    ChangeSource,
    Disability,
    Person,
    PersonAffiliation,
    PersonIdentifier,
    Sex,
)
from bienestar.territories.api import PATH_PATTERN

router = Router(tags=["people"])


# --- Schemas (shape only) ---------------------------------------------------------------------


class IdentifierIn(Schema):
    system: str = Field(
        ...,
        min_length=1,
        max_length=255,
        pattern=NO_NUL,
        description="A registered system's code (curp, imss-nss, co-cc…) or any system URI",
        examples=["curp", "urn:oid:2.16.840.1.113883.4.629"],
    )
    value: str = Field(..., min_length=1, max_length=120, pattern=NO_NUL)
    source: str = Field("", max_length=40, pattern=NO_NUL)


class PersonIn(Schema):
    given_names: str = Field(..., min_length=1, max_length=120, pattern=NO_NUL)
    first_surname: str = Field(..., min_length=1, max_length=80, pattern=NO_NUL)
    second_surname: str = Field("", max_length=80, pattern=NO_NUL)
    sex: Sex
    birth_date: dt.date
    territory: str = Field(
        ...,
        max_length=120,
        pattern=PATH_PATTERN,
        description="Territory path of residence",
        examples=["MX.20.067"],
    )
    indigenous: bool | None = None
    indigenous_language: str = Field("", max_length=60, pattern=NO_NUL)
    disability: Disability = Disability.UNKNOWN
    identifiers: list[IdentifierIn] = Field(default_factory=list, max_length=10)


_NOT_NULLABLE = (
    "given_names",
    "first_surname",
    "second_surname",
    "sex",
    "birth_date",
    "indigenous_language",
    "disability",
)


class PersonPatch(Schema):
    """Only the fields sent are changed. `null` is accepted only where the record allows it."""

    given_names: str | None = Field(None, min_length=1, max_length=120, pattern=NO_NUL)
    first_surname: str | None = Field(None, min_length=1, max_length=80, pattern=NO_NUL)
    second_surname: str | None = Field(None, max_length=80, pattern=NO_NUL)
    sex: Sex | None = None
    birth_date: dt.date | None = None
    indigenous: bool | None = None
    indigenous_language: str | None = Field(None, max_length=60, pattern=NO_NUL)
    disability: Disability | None = None
    deceased_date: dt.date | None = None

    @model_validator(mode="after")
    def _check(self) -> PersonPatch:
        for name in _NOT_NULLABLE:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name}: null is not allowed")
        if self.deceased_date is not None and self.deceased_date > timezone.localdate():
            raise ValueError("deceased_date: cannot be in the future")
        return self


class TerritoryRef(Schema):
    path: str
    name: str


class IdentifierOut(Schema):
    system: str
    system_uri: str
    value: str
    source: str
    valid_until: dt.date | None


class PersonSummaryOut(Schema):
    public_id: UUID
    national_health_id: str
    national_health_id_display: str
    given_names: str
    first_surname: str
    second_surname: str
    sex: str
    birth_date: dt.date
    birth_date_estimated: bool
    territory: TerritoryRef
    status: str


class PersonOut(PersonSummaryOut):
    indigenous: bool | None
    indigenous_language: str
    disability: str
    deceased_date: dt.date | None
    merged_into: UUID | None
    identifiers: list[IdentifierOut]
    created_at: dt.datetime
    updated_at: dt.datetime


class PersonPage(Schema):
    count: int | None = Field(
        None, description="Not computed for searches: follow `next` while present"
    )
    limit: int
    offset: int
    next: str | None
    items: list[PersonSummaryOut]


def _summary(p: Person) -> dict[str, Any]:
    return {
        "public_id": p.public_id,
        "national_health_id": p.national_health_id,
        "national_health_id_display": national_id.display(p.national_health_id),
        "given_names": p.given_names,
        "first_surname": p.first_surname,
        "second_surname": p.second_surname,
        "sex": p.sex,
        "birth_date": p.birth_date,
        "birth_date_estimated": p.birth_date_estimated,
        # The selectors load the territory with the person.
        "territory": {"path": p.territory.path, "name": p.territory.name},
        "status": p.status,
    }


def _identifier(i: PersonIdentifier) -> dict[str, Any]:
    return {
        "system": i.system,
        "system_uri": identifier_systems.uri_for_code(i.system),
        "value": i.value,
        "source": i.source,
        "valid_until": i.valid_until,
    }


def _detail(p: Person) -> dict[str, Any]:
    return {
        **_summary(p),
        "indigenous": p.indigenous,
        "indigenous_language": p.indigenous_language,
        "disability": p.disability,
        "deceased_date": p.deceased_date,
        "merged_into": p.merged_into.public_id if p.merged_into is not None else None,
        "identifiers": [_identifier(i) for i in p.identifiers.order_by("system", "id")],
        "created_at": p.created_at,
        "updated_at": p.updated_at,
    }


# --- Endpoints ----------------------------------------------------------------------------------
# Fixed paths are declared before `/{public_id}` so that they are matched first.


@router.get(
    "/",
    response=PersonPage,
    summary="Search persons by name, national health ID or CURP",
    openapi_extra=reads("Patient"),
)
def person_search(
    request: HttpRequest,
    q: str = Query(
        ..., max_length=200, pattern=NO_NUL, description="Name (typos tolerated), health ID or CURP"
    ),
    limit: int = Query(20, ge=1, le=selectors.SEARCH_LIMIT_MAX),
    offset: int = Query(0, ge=0, le=10_000),
    include_merged: bool = False,
) -> dict[str, Any]:
    results = selectors.person_search(
        request_actor(request), text=q, limit=limit, offset=offset, include_merged=include_merged
    )
    # No total: counting a fuzzy search costs as much as the search. A full page means "maybe more".
    return page(
        request, items=[_summary(p) for p in results], limit=limit, offset=offset, count=None
    )


@router.get(
    "/by-national-id/{value}",
    response=PersonOut,
    summary="One person by national health ID",
    openapi_extra=reads("Patient"),
)
def person_by_national_id(
    request: HttpRequest, value: str = Path(..., max_length=20, pattern=NO_NUL)
) -> dict[str, Any]:
    return _detail(selectors.person_by_national_id(request_actor(request), value=value))


@router.get(
    "/by-identifier",
    response=PersonOut,
    summary="One person by identifier (CURP, NSS, Colombian document…)",
    openapi_extra=reads("Patient"),
)
def person_by_identifier(
    request: HttpRequest,
    system: str = Query(..., min_length=1, max_length=255, pattern=NO_NUL),
    value: str = Query(..., min_length=1, max_length=120, pattern=NO_NUL),
) -> dict[str, Any]:
    return _detail(
        selectors.person_by_identifier(request_actor(request), system=system, value=value)
    )


@router.post(
    "/",
    response={201: PersonOut},
    summary="Register a person and issue a national health ID",
    openapi_extra=writes("Patient"),
)
def person_register(request: HttpRequest, payload: PersonIn) -> Status[dict[str, Any]]:
    data = services.PersonInput(
        given_names=payload.given_names,
        first_surname=payload.first_surname,
        second_surname=payload.second_surname,
        sex=payload.sex,
        birth_date=payload.birth_date,
        territory_path=payload.territory,
        indigenous=payload.indigenous,
        indigenous_language=payload.indigenous_language,
        disability=payload.disability,
        identifiers=[
            services.IdentifierInput(system=i.system, value=i.value, source=i.source)
            for i in payload.identifiers
        ],
    )
    person = services.person_register(request_actor(request), data=data, source=ChangeSource.API)
    return Status(201, _detail(person))


@router.get(
    "/{public_id}",
    response=PersonOut,
    summary="One person by public_id",
    openapi_extra=reads("Patient"),
)
def person_detail(request: HttpRequest, public_id: UUID) -> dict[str, Any]:
    return _detail(selectors.person_get(request_actor(request), public_id=public_id))


@router.get(
    "/{public_id}/identifiers",
    response=list[IdentifierOut],
    summary="A person's identifiers",
    openapi_extra=reads("Patient"),
)
def person_identifiers(request: HttpRequest, public_id: UUID) -> list[dict[str, Any]]:
    person = selectors.person_get(request_actor(request), public_id=public_id)
    return [_identifier(i) for i in person.identifiers.order_by("system", "id")]


@router.patch(
    "/{public_id}",
    response=PersonOut,
    summary="Update a person's demographic fields",
    openapi_extra=writes("Patient"),
)
def person_update(request: HttpRequest, public_id: UUID, payload: PersonPatch) -> dict[str, Any]:
    actor = request_actor(request)
    changes = payload.model_dump(exclude_unset=True)
    # An unaudited scoped lookup: the update service audits the access together with the change,
    # so one PATCH leaves exactly one audit row.
    person = selectors.persons_visible_to(actor).filter(public_id=public_id).first()
    if person is None:
        raise OutOfScope()
    updated = services.person_update(actor, person=person, changes=changes, source=ChangeSource.API)
    return _detail(updated)


# --- Affiliation and insurer (issue 14): dated facts with their source, history kept -------------


class AffiliationIn(Schema):
    scheme: AffiliationScheme
    start: dt.date
    source: AffiliationSource = Field(
        ..., description="self-declared, institution-list or insurer-list"
    )
    insurer: str = Field("", max_length=120, pattern=NO_NUL, description="EPS or insurer")
    member_number: str = Field("", max_length=40, pattern=NO_NUL)


class AffiliationEndIn(Schema):
    end: dt.date


class AffiliationOut(Schema):
    public_id: UUID
    scheme: str
    insurer: str
    member_number: str
    start: dt.date | None
    end: dt.date | None
    source: str
    recorded_at: dt.datetime
    recorded_by: str | None


def _affiliation(a: PersonAffiliation) -> dict[str, Any]:
    return {
        "public_id": a.public_id,
        "scheme": a.scheme,
        "insurer": a.insurer,
        "member_number": a.member_number,
        "start": a.start,
        "end": a.end,
        "source": a.source,
        "recorded_at": a.recorded_at,
        "recorded_by": a.recorded_by.username if a.recorded_by else None,
    }


def _scoped_person(request: HttpRequest, public_id: UUID) -> tuple[Any, Person]:
    """An unaudited scoped lookup: the affiliation service or selector audits the access."""
    actor = request_actor(request)
    person = selectors.persons_visible_to(actor).filter(public_id=public_id).first()
    if person is None:
        raise OutOfScope()
    return actor, person


@router.get(
    "/{public_id}/affiliations",
    response=list[AffiliationOut],
    summary="A person's affiliation history (in force first)",
    openapi_extra=reads("Patient"),
)
def person_affiliations(request: HttpRequest, public_id: UUID) -> list[dict[str, Any]]:
    actor, person = _scoped_person(request, public_id)
    return [_affiliation(a) for a in affiliations.affiliation_history(actor, person=person)]


@router.post(
    "/{public_id}/affiliations",
    response={201: AffiliationOut},
    summary="Record an affiliation (ends the facts it replaces)",
    openapi_extra=writes("Patient"),
)
def affiliation_record(
    request: HttpRequest, public_id: UUID, payload: AffiliationIn
) -> Status[dict[str, Any]]:
    actor, person = _scoped_person(request, public_id)
    fact = affiliations.affiliation_record(
        actor,
        person=person,
        scheme=payload.scheme,
        start=payload.start,
        source=payload.source,
        insurer=payload.insurer,
        member_number=payload.member_number,
        channel=ChangeSource.API,
    )
    return Status(201, _affiliation(fact))


@router.post(
    "/{public_id}/affiliations/{affiliation_id}/end",
    response=AffiliationOut,
    summary="End an affiliation (it stays in the history)",
    openapi_extra=writes("Patient"),
)
def affiliation_end(
    request: HttpRequest, public_id: UUID, affiliation_id: UUID, payload: AffiliationEndIn
) -> dict[str, Any]:
    actor, person = _scoped_person(request, public_id)
    fact = affiliations.affiliation_end(
        actor,
        person=person,
        affiliation_id=affiliation_id,
        end=payload.end,
        channel=ChangeSource.API,
    )
    return _affiliation(fact)
