import pytest

from bienestar.inventory.tests.factories import Network, build_network


@pytest.fixture
def net(geo, users) -> Network:  # type: ignore[no-untyped-def]
    return build_network(geo, users)
