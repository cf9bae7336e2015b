"""DuckDB (the default) and Spark (pyspark local mode, `--engine spark`) give the same aggregates."""

from __future__ import annotations

import pytest

from bienestar.indicators.models import Aggregate
from bienestar.indicators.refresh import refresh
from bienestar.indicators.tests.dataset import build

pytestmark = pytest.mark.django_db


def _rows() -> set[tuple]:  # type: ignore[type-arg]
    return set(
        Aggregate.objects.values_list(
            "indicator",
            "version",
            "period_type",
            "period",
            "level",
            "area",
            "dimension",
            "category",
            "numerator",
            "denominator",
        )
    )


@pytest.mark.slow
def test_spark_and_duckdb_give_the_same_aggregates(net, geo):
    build(net, geo)
    duck = refresh(full=True, engine="duckdb")
    from_duckdb = _rows()
    assert len(from_duckdb) > 100 and duck.engine == "duckdb"
    spark = refresh(full=True, engine="spark")
    assert spark.engine == "spark"
    assert _rows() == from_duckdb
