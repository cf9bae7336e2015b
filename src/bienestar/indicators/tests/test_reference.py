"""The denominators against the official files (BIENESTAR_REFERENCE_DIR, e.g. ../shared/data):
the 2020 census share without affiliation (26.19 % nationally, each state as in the census table)
and the IMSS-Bienestar establishments per state of the CLUES catalogue (10,571 keys IMB)."""

from __future__ import annotations

import csv
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal

import pytest

from bienestar.config.home import reference_dir
from bienestar.indicators.population import (
    estimates,
    imss_bienestar_units_by_state,
    jurisdictional_share,
    uninsured_share,
)
from bienestar.reference.clues import load_clues_keys
from bienestar.reference.core import FileResult
from bienestar.reference.mexico import load_census_states, load_conapo, load_states

CENSUS = "population/censo2020_afiliacion_salud_estados.csv"
CONAPO = "population/conapo_proyecciones_pob_estados_genero_1950_2070.csv"
KEYS = "clues/clues_keys_202604_from_horarios_sheet.csv"

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        reference_dir() is None
        or not all((reference_dir() / f).is_file() for f in (CENSUS, CONAPO, KEYS)),  # type: ignore[operator]
        reason="no reference directory with the census, CONAPO and CLUES files",
    ),
]


@pytest.fixture
def loaded():  # type: ignore[no-untyped-def]
    directory = reference_dir()
    assert directory is not None
    load_states(FileResult(label="mx_states.csv"))
    load_census_states(directory / CENSUS, FileResult(label=CENSUS))
    load_conapo(directory / CONAPO, FileResult(label=CONAPO))
    load_clues_keys(directory / KEYS, FileResult(label=KEYS))
    return directory


def test_uninsured_share_is_the_census_table(loaded):
    assert uninsured_share("MX") == Decimal("0.2619")
    with (loaded / CENSUS).open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 32
    for row in rows:
        expected = (Decimal(row["PSINDER"]) / Decimal(row["POBTOT"])).quantize(
            Decimal("0.0001"), ROUND_HALF_UP
        )
        assert uninsured_share(f"MX.{int(row['state_id']):02d}") == expected, row["state"]
        # The published percentage column agrees to its two decimals.
        assert abs(expected * 100 - Decimal(row["pct_sin_afiliacion"])) < Decimal("0.01")


def test_estimated_uninsured_population_is_census_share_times_conapo(loaded):
    den = estimates([2026])
    states = {k[0]: v for k, v in den.by_key.items() if k[0].count(".") == 1}
    assert len(states) == 32
    assert den.get("MX", 2026) == sum(states.values())
    # Census share (26.19 %) applied to about 134 million people in 2026.
    assert 0.25 < den.get("MX", 2026) / 134_000_000 < 0.28  # type: ignore[operator]
    assert "CONAPO" in den.provenance[("MX.20", 2026)]


def test_imss_bienestar_units_by_state_match_the_clues_catalogue(loaded):
    with (loaded / KEYS).open(encoding="utf-8") as fh:
        expected = Counter(
            r["estado_abrev"] for r in csv.DictReader(fh) if r["institucion_codigo"] == "IMB"
        )
    units = imss_bienestar_units_by_state()
    assert units == dict(expected)
    assert sum(units.values()) == 10571
    share, incorporated = jurisdictional_share(2026)
    assert share is not None and Decimal("0") < share <= Decimal("1")
    assert 0 < len(incorporated) <= 32
