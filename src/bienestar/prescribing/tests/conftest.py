import pytest

from bienestar.inventory.tests.factories import Network, build_network
from bienestar.people.tests.factories import PersonFactory


@pytest.fixture
def net(geo, users) -> Network:  # type: ignore[no-untyped-def]
    return build_network(geo, users)


@pytest.fixture
def jose(geo):  # type: ignore[no-untyped-def]
    """A patient who lives in Oaxaca."""
    return PersonFactory(territory=geo["oaxaca_centro"])


@pytest.fixture
def maria(geo):  # type: ignore[no-untyped-def]
    """A patient who lives in Hidalgo."""
    return PersonFactory(territory=geo["pachuca"], given_names="María", sex="F")
