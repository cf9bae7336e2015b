"""Patient: the person registry, through people.selectors.persons_visible_to."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import Prefetch, Q, QuerySet, Value
from django.db.models.functions import Concat, Trim
from django.utils import timezone

from bienestar.access.actor import Actor
from bienestar.access.roles import Permission
from bienestar.fhir import systems
from bienestar.fhir.mappers.patient import SEX, person_to_fhir
from bienestar.fhir.params import choice_token, text_q, word_exact_q
from bienestar.fhir.registry import DATE, STRING, TOKEN, ResourceDef, SearchParam, register
from bienestar.fhir.resources.common import (
    id_param,
    last_updated_param,
    state_param,
    territory_names,
)
from bienestar.people import affiliations, identifier_systems
from bienestar.people import curp as curp_mod
from bienestar.people.models import Person, PersonAddress, PersonAffiliation, PersonStatus
from bienestar.people.selectors import persons_visible_to

_FAMILY = Trim(Concat("first_surname", Value(" "), "second_surname"))


def _identifier(system: str | None, code: str) -> Q:
    national = code.replace("-", "").replace(" ", "").upper()
    if system == systems.NATIONAL_HEALTH_ID:
        return Q(national_health_id=national) if code else Q()
    if system is None:
        # Any system: a seeded system's value is stored upper-case, any other as given.
        values = {code.strip(), curp_mod.normalize(code)} - {""}
        return Q(national_health_id=national) | Q(identifiers__value__in=values)
    domain = identifier_systems.code_for_uri(system)
    if not code:
        return Q(identifiers__system=domain)
    return Q(
        identifiers__system=domain,
        identifiers__value=identifier_systems.normalize(domain, code),
    )


def _name(actor: Actor, value: str, modifier: str) -> Q:
    if modifier == "exact":
        return (
            word_exact_q("given_names", value)
            | Q(first_surname=value)
            | Q(second_surname=value)
            | text_q(_FAMILY, value, "exact")
        )
    # name_search is the unaccented lower-case "given first second" kept by PostgreSQL (trigram
    # indexed): a word of it starting with the value, or containing it.
    return text_q("name_search", value, modifier, is_plain=True)


def _family(actor: Actor, value: str, modifier: str) -> Q:
    if modifier == "exact":
        return text_q(_FAMILY, value, "exact") | Q(first_surname=value)
    return text_q(_FAMILY, value, modifier)


def _given(actor: Actor, value: str, modifier: str) -> Q:
    if modifier == "exact":
        return word_exact_q("given_names", value)
    return text_q("given_names", value, modifier)


def _load(qs: QuerySet[Person]) -> QuerySet[Person]:
    return qs.select_related("territory", "merged_into").prefetch_related(
        "identifiers",
        Prefetch(
            "addresses",
            queryset=PersonAddress.objects.select_related("territory").order_by(
                "end", "-start", "use", "id"
            ),
        ),
        "contacts",
        Prefetch(
            "affiliations",
            queryset=PersonAffiliation.objects.filter(
                affiliations.covering(timezone.localdate())
            ).order_by("start", "id"),
        ),
    )


def _to_fhir(rows: Sequence[Person], actor: Actor) -> list[dict[str, Any]]:
    paths = [p.territory.path for p in rows] + [
        a.territory.path for p in rows for a in p.addresses.all()
    ]
    names = territory_names(actor, paths)
    return [
        person_to_fhir(
            p,
            identifiers=sorted(p.identifiers.all(), key=lambda i: (i.system, i.value)),
            addresses=list(p.addresses.all()),
            contacts=sorted(p.contacts.all(), key=lambda c: (c.system, c.value)),
            territories=names,
            survivor_id=p.merged_into.public_id if p.merged_into is not None else None,
            affiliations=list(p.affiliations.all()),
        )
        for p in rows
    ]


PATIENT = register(
    ResourceDef(
        type="Patient",
        read_permission=Permission.PERSON_READ,
        write_permission=Permission.PERSON_WRITE,
        queryset=persons_visible_to,
        load=_load,
        to_fhir=_to_fhir,
        audit_type="Person",
        person_attr="id",
        default_sort=("id",),
        documentation="Persons of the registry inside the caller's territory.",
        params={
            "_id": id_param(),
            "_lastUpdated": last_updated_param(),
            "identifier": SearchParam(
                "identifier",
                TOKEN,
                "National Health ID, CURP, NSS or another identifier (system|value)",
                token=_identifier,
                distinct=True,
            ),
            "name": SearchParam("name", STRING, "Any part of the name", string=_name),
            "family": SearchParam("family", STRING, "Surnames", string=_family),
            "given": SearchParam("given", STRING, "Given names", string=_given),
            "birthdate": SearchParam(
                "birthdate", DATE, "Date of birth", date_fields=("birth_date", None), days=True
            ),
            "gender": SearchParam(
                "gender",
                TOKEN,
                "female | male | other | unknown",
                token=choice_token(
                    "sex",
                    {g: s for g, s in SEX.items()},
                    "http://hl7.org/fhir/administrative-gender",
                ),
            ),
            "active": SearchParam(
                "active",
                TOKEN,
                "false for a record merged into another",
                token=choice_token(
                    "status", {"true": PersonStatus.ACTIVE, "false": PersonStatus.MERGED}
                ),
            ),
            "address-state": state_param("territory__path"),
        },
        sorts={
            "_id": ("public_id",),
            "_lastUpdated": ("updated_at",),
            "family": ("first_surname", "second_surname"),
            "name": ("first_surname", "second_surname", "given_names"),
            "given": ("given_names",),
            "birthdate": ("birth_date",),
        },
    )
)
