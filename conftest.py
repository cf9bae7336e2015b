"""Fixtures shared by every app's tests: two states with a municipality each, and one user per role."""

from __future__ import annotations

import pytest

from bienestar.access.roles import Role


@pytest.fixture
def geo(db):  # type: ignore[no-untyped-def]
    from bienestar.territories.tests.factories import municipality, state

    oax = state("20", "Oaxaca")
    hgo = state("13", "Hidalgo")
    return {
        "oaxaca": oax,
        "hidalgo": hgo,
        "oaxaca_centro": municipality(oax, "067", "Oaxaca de Juárez"),
        "pachuca": municipality(hgo, "048", "Pachuca de Soto"),
    }


@pytest.fixture
def users(geo):  # type: ignore[no-untyped-def]
    """One user per role in Oaxaca, plus a clinician of Hidalgo (the 'other territory')."""
    from bienestar.access.tests.factories import UserFactory
    from bienestar.territories.tests.factories import mexico

    out = {
        role.value: UserFactory(username=role.value, role=role, territory=geo["oaxaca"])
        for role in Role
    }
    out[Role.NATIONAL_COORDINATOR.value].territory = mexico()
    out[Role.NATIONAL_COORDINATOR.value].save()
    out["other_state_clinician"] = UserFactory(
        username="hgo_clinician", role=Role.CLINICIAN, territory=geo["hidalgo"]
    )
    return out
