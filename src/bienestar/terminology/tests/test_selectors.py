import pytest

from bienestar.terminology.models import CluesKey
from bienestar.terminology.selectors import clues_key_exists, clues_key_get

pytestmark = pytest.mark.django_db


def test_clues_keys_are_looked_up_in_the_national_catalogue():
    CluesKey.objects.create(
        clues="DFSMP000123",
        state_abbreviation="DF",
        institution_code="SMP",
        edition="202604",
        source="t",
    )

    assert clues_key_exists("dfsmp000123 ")
    assert not clues_key_exists("DFSMP000124")
    assert clues_key_get("DFSMP000123").institution_code == "SMP"
    assert clues_key_get("") is None
