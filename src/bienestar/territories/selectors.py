"""Reads of territories. Registries hold no personal data: any role with REGISTRY_READ may read them."""

from __future__ import annotations

from typing import TypeVar

from django.db.models import F, Func, Model, Q, QuerySet, TextField, Value

from bienestar.access.actor import Actor
from bienestar.access.errors import OutOfScope
from bienestar.access.permissions import require
from bienestar.access.roles import Permission
from bienestar.territories.models import PopulationDenominator, Territory

M = TypeVar("M", bound=Model)


def within(path: str, field: str = "path") -> Q:
    """The territory at `path` and everything inside it (materialised-path prefix match)."""
    return Q(**{field: path}) | Q(**{f"{field}__startswith": path + "."})


def unaccent_contains(
    qs: QuerySet[M], field: str, text: str, *, alias: str = ""
) -> tuple[QuerySet[M], Q]:
    """`qs` annotated so that the returned Q means "`field` contains `text`", ignoring case and
    accents ("mexico" finds "México"), with the same unaccent function the person search uses."""
    alias = alias or f"{field}_plain"
    plain = Func(Value(text), function="bienestar_unaccent", output_field=TextField())
    qs = qs.annotate(
        **{alias: Func(F(field), function="bienestar_unaccent", output_field=TextField())}
    )
    return qs, Q(**{f"{alias}__icontains": plain})


def territories_list(
    actor: Actor,
    *,
    kind: str | None = None,
    parent_path: str | None = None,
    within_path: str | None = None,
    q: str | None = None,
) -> QuerySet[Territory]:
    require(actor, Permission.REGISTRY_READ)
    qs = Territory.objects.select_related("subnetwork")
    if kind:
        qs = qs.filter(kind=kind)
    if parent_path:
        qs = qs.filter(parent__path=parent_path)
    if within_path:
        qs = qs.filter(within(within_path))
    if q:
        qs, name_matches = unaccent_contains(qs, "name", q)
        qs = qs.filter(name_matches | Q(code=q))
    return qs.order_by("path")


def territory_get(actor: Actor, *, path: str) -> Territory:
    require(actor, Permission.REGISTRY_READ)
    territory = Territory.objects.select_related("subnetwork").filter(path=path).first()
    if territory is None:
        raise OutOfScope()
    return territory


def territory_populations(
    actor: Actor, *, territory: Territory, year: int | None = None
) -> list[PopulationDenominator]:
    require(actor, Permission.REGISTRY_READ)
    qs = PopulationDenominator.objects.filter(territory=territory)
    if year is not None:
        qs = qs.filter(year=year)
    return list(qs.order_by("year", "source"))
