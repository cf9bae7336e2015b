from __future__ import annotations

import pytest

from bienestar.access.errors import Forbidden, NotAuthenticated, OutOfScope
from bienestar.access.tests.factories import actor_for
from bienestar.territories import selectors

pytestmark = pytest.mark.django_db


def test_within_matches_the_territory_and_its_descendants_only(geo):
    from bienestar.territories.tests.factories import state

    state("2", "Baja California")  # "MX.2" must not match "MX.20"
    paths = list(
        selectors.territories_list(_reader(), within_path="MX.20").values_list("path", flat=True)
    )
    assert paths == ["MX.20", "MX.20.067"]


def _reader():
    from bienestar.access.tests.factories import UserFactory

    return actor_for(UserFactory(username="reader", role="warehouse_manager"))


def test_registry_reads_need_an_authenticated_user_with_a_role(geo):
    from bienestar.access.tests.factories import UserFactory

    with pytest.raises(NotAuthenticated):
        selectors.territories_list(actor_for(None))
    with pytest.raises(Forbidden):
        selectors.territory_get(actor_for(UserFactory(username="x", role="")), path="MX.20")


def test_unknown_path_is_not_found(geo):
    with pytest.raises(OutOfScope):
        selectors.territory_get(_reader(), path="MX.77")
