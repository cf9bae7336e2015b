"""Practitioner, PractitionerRole, Organization, Location and Medication: the registries and the
catalogue (read only, not personal data of patients: not audited)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import Q, QuerySet, Value
from django.db.models.functions import Concat, Trim

from bienestar.access.actor import Actor
from bienestar.access.permissions import require
from bienestar.access.roles import Permission
from bienestar.facilities.models import Facility, FacilityType, Institution
from bienestar.facilities.selectors import facilities_list
from bienestar.fhir import systems
from bienestar.fhir.mappers.medication import medication_to_fhir
from bienestar.fhir.mappers.organization import location_to_fhir, organization_to_fhir
from bienestar.fhir.mappers.practitioner import position_to_fhir, practitioner_to_fhir
from bienestar.fhir.params import NOTHING, choice_token, text_q, word_exact_q
from bienestar.fhir.registry import STRING, TOKEN, Include, ResourceDef, SearchParam, register
from bienestar.fhir.resources.common import (
    id_param,
    last_updated_param,
    reference_param,
    state_param,
    territory_names,
)
from bienestar.terminology.models import Medicine
from bienestar.terminology.selectors import medicines
from bienestar.workforce.models import Practitioner
from bienestar.workforce.selectors import positions_list, practitioners_list

_FAMILY = Trim(Concat("first_surname", Value(" "), "second_surname"))
_BOOL = {"true": True, "false": False}


def _name_param(name: str, documentation: str, build: Any) -> SearchParam:
    return SearchParam(name, STRING, documentation, string=build)


# --- Practitioner ----------------------------------------------------------------------------------


def _licence(system: str | None, code: str) -> Q:
    if system not in (None, systems.PROFESSIONAL_LICENCE):
        return NOTHING
    return Q(licence_number=code.strip()) if code else Q()


def _practitioner_name(actor: Actor, value: str, modifier: str) -> Q:
    if modifier == "exact":
        return word_exact_q("given_names", value) | text_q(_FAMILY, value, "exact")
    return text_q(
        Concat("given_names", Value(" "), "first_surname", Value(" "), "second_surname"),
        value,
        modifier,
    )


def _practitioners_to_fhir(rows: Sequence[Practitioner], actor: Actor) -> list[dict[str, Any]]:
    return [
        practitioner_to_fhir(
            p, specialties=sorted(p.specialties.all(), key=lambda s: (s.name, s.code))
        )
        for p in rows
    ]


PRACTITIONER = register(
    ResourceDef(
        type="Practitioner",
        read_permission=Permission.WORKFORCE_READ,
        queryset=lambda actor: practitioners_list(actor).order_by(),
        load=lambda qs: qs.prefetch_related("specialties"),
        to_fhir=_practitioners_to_fhir,
        documentation="Health professionals of the workforce registry.",
        params={
            "_id": id_param(),
            "_lastUpdated": last_updated_param(),
            "identifier": SearchParam("identifier", TOKEN, "Cédula profesional", token=_licence),
            "name": _name_param("name", "Any part of the name", _practitioner_name),
            "family": _name_param(
                "family",
                "Surnames",
                lambda actor, v, m: (
                    text_q(_FAMILY, v, m)
                    if m != "exact"
                    else Q(first_surname=v) | text_q(_FAMILY, v, "exact")
                ),
            ),
            "given": _name_param(
                "given",
                "Given names",
                lambda actor, v, m: (
                    word_exact_q("given_names", v) if m == "exact" else text_q("given_names", v, m)
                ),
            ),
            "active": SearchParam(
                "active", TOKEN, "true | false", token=choice_token("active", _BOOL)
            ),
        },
        sorts={"family": ("first_surname", "second_surname"), "given": ("given_names",)},
        default_sort=("id",),
    )
)


# --- PractitionerRole ------------------------------------------------------------------------------


def _specialty(system: str | None, code: str) -> Q:
    if system not in (None, systems.SPECIALTY):
        return NOTHING
    return Q(specialty__code=code) if code else Q()


PRACTITIONER_ROLE = register(
    ResourceDef(
        type="PractitionerRole",
        read_permission=Permission.WORKFORCE_READ,
        queryset=lambda actor: positions_list(actor).order_by(),
        load=lambda qs: qs.select_related("facility", "specialty", "practitioner"),
        to_fhir=lambda rows, actor: [position_to_fhir(p) for p in rows],
        documentation="Positions (plazas) at facilities, filled or vacant.",
        params={
            "_id": id_param(),
            "practitioner": reference_param(
                "practitioner", "practitioner__public_id", ("Practitioner",), "Who fills it"
            ),
            "organization": reference_param(
                "organization", "facility__public_id", ("Organization",), "The facility"
            ),
            "location": reference_param(
                "location", "facility__public_id", ("Location",), "The facility"
            ),
            "specialty": SearchParam("specialty", TOKEN, "Specialty code", token=_specialty),
            "active": SearchParam(
                "active",
                TOKEN,
                "true: filled; false: vacant",
                token=choice_token("practitioner__isnull", {"true": False, "false": True}),
            ),
        },
        includes={
            "practitioner": Include("practitioner", "Practitioner", "practitioner"),
            "organization": Include("organization", "Organization", "facility"),
        },
        default_sort=("id",),
    )
)


# --- Organization and Location ---------------------------------------------------------------------


def _facility_identifier(system: str | None, code: str) -> Q:
    key = code.strip().upper()
    if system == systems.CLUES:
        return Q(clues=key) if code else Q(clues__isnull=False)
    if system == systems.FACILITY_CODE:
        return Q(other_code=code.strip()) if code else ~Q(other_code="")
    if system is None:
        return Q(clues=key) | Q(other_code=code.strip())
    return NOTHING


def _facility_type(system: str | None, code: str) -> Q:
    if system in (None, systems.FACILITY_TYPE) and code in FacilityType.values:
        return Q(facility_type=code)
    if system in (None, systems.INSTITUTION) and code in Institution.values:
        return Q(institution=code)
    return NOTHING


def _facility_params(*, partof: bool) -> dict[str, SearchParam]:
    params = {
        "_id": id_param(),
        "_lastUpdated": last_updated_param(),
        "identifier": SearchParam(
            "identifier", TOKEN, "CLUES (or another official key)", token=_facility_identifier
        ),
        "name": _name_param("name", "Name", lambda actor, v, m: text_q("name", v, m)),
        "type": SearchParam(
            "type", TOKEN, "Facility type or institution code", token=_facility_type
        ),
        "address-state": state_param("territory__path"),
    }
    if partof:
        params["partof"] = reference_param(
            "partof", "parent__public_id", ("Organization",), "The parent facility"
        )
        params["active"] = SearchParam(
            "active", TOKEN, "In operation", token=choice_token("in_operation", _BOOL)
        )
    else:
        params["organization"] = reference_param(
            "organization", "public_id", ("Organization",), "The managing organization"
        )
        params["status"] = SearchParam(
            "status",
            TOKEN,
            "active | inactive",
            token=choice_token("in_operation", {"active": True, "inactive": False}),
        )
    return params


def _facilities_to(mapper: Any) -> Any:
    def to_fhir(rows: Sequence[Facility], actor: Actor) -> list[dict[str, Any]]:
        names = territory_names(actor, [f.territory.path for f in rows])
        return [mapper(f, territories=names) for f in rows]

    return to_fhir


def _facilities(actor: Actor) -> QuerySet[Facility]:
    return facilities_list(actor).order_by()


ORGANIZATION = register(
    ResourceDef(
        type="Organization",
        read_permission=Permission.REGISTRY_READ,
        queryset=_facilities,
        load=lambda qs: qs.select_related("territory", "parent"),
        to_fhir=_facilities_to(organization_to_fhir),
        documentation="Health facilities as organizations (CLUES, institution, hierarchy).",
        params=_facility_params(partof=True),
        sorts={"name": ("name",)},
        includes={"partof": Include("partof", "Organization", "parent")},
        default_sort=("id",),
    )
)

LOCATION = register(
    ResourceDef(
        type="Location",
        read_permission=Permission.REGISTRY_READ,
        queryset=_facilities,
        load=lambda qs: qs.select_related("territory"),
        to_fhir=_facilities_to(location_to_fhir),
        documentation="Health facilities as places (address, coordinates).",
        params=_facility_params(partof=False),
        sorts={"name": ("name",)},
        default_sort=("id",),
    )
)


# --- Medication ------------------------------------------------------------------------------------


def _catalogue(actor: Actor) -> QuerySet[Medicine]:
    require(actor, Permission.REGISTRY_READ)
    return medicines().order_by()


def _medicine_code(system: str | None, code: str) -> Q:
    if system not in (None, systems.MEDICINE_CATALOGUE):
        return NOTHING
    return Q(key=code.strip()) if code else Q()


MEDICATION = register(
    ResourceDef(
        type="Medication",
        read_permission=Permission.REGISTRY_READ,
        queryset=_catalogue,
        load=lambda qs: qs,
        to_fhir=lambda rows, actor: [medication_to_fhir(m) for m in rows],
        documentation="Keys of the national medicine catalogue (id = catalogue key).",
        id_field="key",
        uuid_ids=False,
        params={
            "_id": id_param("key", uuid_ids=False),
            "code": SearchParam("code", TOKEN, "Catalogue key", token=_medicine_code),
        },
        sorts={"code": ("key",)},
        default_sort=("key",),
    )
)
