"""Fixtures of the page tests: persons in Oaxaca and Hidalgo, and a signed-in client per user."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from bienestar.people.tests.factories import PersonFactory


@pytest.fixture
def client_for(client: Client) -> Callable[[Any], Client]:
    """`client_for(user)` signs the test client in as that user (Spanish unless a test says otherwise)."""

    def sign_in(user: Any) -> Client:
        client.force_login(user)
        return client

    return sign_in


@pytest.fixture
def jose(geo):  # type: ignore[no-untyped-def]
    """José López Hernández, who lives in Oaxaca de Juárez."""
    return PersonFactory(territory=geo["oaxaca_centro"])


@pytest.fixture
def hidalgo_person(geo):  # type: ignore[no-untyped-def]
    return PersonFactory(
        given_names="María",
        first_surname="Pérez",
        second_surname="Soto",
        sex="F",
        territory=geo["pachuca"],
    )
