import factory

from bienestar.territories.models import Territory, TerritoryKind


class TerritoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Territory
        django_get_or_create = ("path",)

    kind = TerritoryKind.STATE
    code = factory.Sequence(lambda n: f"{n:02d}")
    name = factory.Sequence(lambda n: f"Estado {n}")
    path = factory.LazyAttribute(
        lambda o: f"{o.parent.path}.{o.code}" if o.parent else f"MX.{o.code}"
    )
    parent = None


def mexico() -> Territory:
    return TerritoryFactory(kind=TerritoryKind.COUNTRY, code="MX", name="México", path="MX")


def state(code: str, name: str) -> Territory:
    return TerritoryFactory(
        kind=TerritoryKind.STATE, code=code, name=name, path=f"MX.{code}", parent=mexico()
    )


def municipality(parent: Territory, code: str, name: str) -> Territory:
    return TerritoryFactory(
        kind=TerritoryKind.MUNICIPALITY,
        code=code,
        name=name,
        path=f"{parent.path}.{code}",
        parent=parent,
    )
