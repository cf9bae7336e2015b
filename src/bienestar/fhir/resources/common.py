"""Search parameters and helpers shared by several resource types."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q

from bienestar.access.actor import Actor
from bienestar.core.errors import DomainError
from bienestar.fhir.mappers.patient import ancestor_paths
from bienestar.fhir.params import NOTHING, id_q, text_q
from bienestar.fhir.registry import DATE, REFERENCE, STRING, TOKEN, SearchParam
from bienestar.territories.models import Territory
from bienestar.territories.selectors import territories_list, within


def id_param(field: str = "public_id", *, uuid_ids: bool = True) -> SearchParam:
    def build(system: str | None, code: str) -> Q:
        return id_q(field, [code], uuid_ids=uuid_ids) if code else NOTHING

    return SearchParam("_id", TOKEN, "Logical id of the resource", token=build)


def last_updated_param(field: str = "updated_at") -> SearchParam:
    return SearchParam(
        "_lastUpdated", DATE, "When the resource last changed", date_fields=(field, None)
    )


def reference_param(
    name: str,
    field: str,
    targets: tuple[str, ...],
    documentation: str,
    *,
    chain: str | None = None,
    uuid_ids: bool = True,
) -> SearchParam:
    return SearchParam(
        name,
        REFERENCE,
        documentation,
        reference_field=field,
        targets=targets,
        chain=chain,
        uuid_ids=uuid_ids,
    )


def patient_params(person: str = "person") -> dict[str, SearchParam]:
    """`patient` and `subject`: the person the record is about; both chain to Patient's own
    parameters (`patient.identifier=<system>|<value>`)."""
    return {
        name: reference_param(
            name,
            f"{person}__public_id",
            ("Patient",),
            "The patient the record is about",
            chain=person,
        )
        for name in ("patient", "subject")
    }


def state_param(territory_field: str) -> SearchParam:
    """`address-state`: the state (2nd territory level) by name, e.g. "Oaxaca"."""

    def build(actor: Actor, value: str, modifier: str) -> Q:
        try:
            qs = territories_list(actor, kind="state")
        except DomainError:
            return NOTHING
        paths = list(qs.filter(text_q("name", value, modifier)).values_list("path", flat=True))
        if not paths:
            return NOTHING
        q = Q()
        for path in paths:
            q |= within(path, territory_field)
        return q

    return SearchParam("address-state", STRING, "State of the address (name)", string=build)


def territory_names(actor: Actor, paths: Iterable[str]) -> dict[str, Territory]:
    """Every territory on the way to each path, by path, in one query (for address parts). A role
    that may not read the territory registry gets no names; the path itself is still given."""
    wanted = {p for path in paths for p in ancestor_paths(path)}
    if not wanted:
        return {}
    try:
        rows = territories_list(actor).filter(path__in=wanted)
    except DomainError:
        return {}
    return {t.path: t for t in rows}
