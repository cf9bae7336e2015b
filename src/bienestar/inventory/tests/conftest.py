import pytest

from bienestar.inventory.tests.factories import Network, build_network


@pytest.fixture
def net(geo, users) -> Network:  # type: ignore[no-untyped-def]
    return build_network(geo, users)


@pytest.fixture
def supply(net, geo):  # type: ignore[no-untyped-def]
    from bienestar.inventory.tests.supply_factories import build_supply

    return build_supply(net, geo)
