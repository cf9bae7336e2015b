"""Benchmarks written as CONTRACTS.md's JSON. Each figure has a baseline measured in the same run.

Runs in its own database (`<name>_bench_<people>_s<seed>`) so that the demo's data is never touched; a network
already generated with the same seed and size is reused. One module per area:
`people` (lookups, synth), `dispense` (concurrent dispensing), `fhir` (reads over HTTP), `crud`
(the FHIR CRUD mix), `transactions` (transaction Bundles), `bulk` (NDJSON import and `$export`),
`soak` (the soak); `cleanup` removes what the writing benchmarks created.
"""

from __future__ import annotations

from bienestar.ops.bench.common import (
    Metric,
    metric,
    percentile,
    summary_line,
    timed_ms,
    write_results,
)
from bienestar.ops.bench.people import copy_baseline_rows_per_s, person_lookups

__all__ = [
    "Metric",
    "copy_baseline_rows_per_s",
    "metric",
    "percentile",
    "person_lookups",
    "summary_line",
    "timed_ms",
    "write_results",
]
