"""Bogotá fixtures for outreach tests: the real localidades and UPZ (from the reference directory)
with a few sectors, or all 1,866 generated sectors where a test needs the whole city."""

from __future__ import annotations

import pytest

from bienestar.config.home import reference_dir


@pytest.fixture
def bogota_dir():  # type: ignore[no-untyped-def]
    directory = reference_dir()
    if directory is None or not (directory / "bogota").exists():
        pytest.skip("Bogotá reference files not available (BIENESTAR_REFERENCE_DIR)")
    return directory


@pytest.fixture
def bogota(db, bogota_dir):  # type: ignore[no-untyped-def]
    from bienestar.reference.services import reference_load

    reference_load(directory=bogota_dir, only=["bogota"])
    return bogota_dir


@pytest.fixture
def few_sectors(bogota):  # type: ignore[no-untyped-def]
    """60 generated sectors (6 rural) across the city, and the default schemes."""
    from bienestar.synth.outreach_sectors import generate_sectors, publish_default_schemes

    generate_sectors(bogota, seed=3, total=130, rural_total=10)
    return publish_default_schemes()


@pytest.fixture
def field(few_sectors):  # type: ignore[no-untyped-def]
    from bienestar.outreach.tests.world import build_field

    return build_field()
