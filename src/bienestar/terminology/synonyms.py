"""The abbreviations clinicians write for a diagnosis ("DM2", "HAS", "EPOC"…) and the CIE-10
codes they stand for, most used first. The table is data (`data/icd10_synonyms.csv`), so that a
deployment adds its own by editing a file, not the code."""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

SYNONYMS_FILE = Path(__file__).parent / "data" / "icd10_synonyms.csv"


@cache
def icd10_synonyms() -> dict[str, tuple[str, ...]]:
    """Lower-case, accent-free abbreviation → CIE-10 codes (with dots), most used first."""
    with SYNONYMS_FILE.open(encoding="utf-8") as handle:
        return {
            row["abbreviation"].strip().lower(): tuple(row["codes"].split())
            for row in csv.DictReader(handle)
            if row["abbreviation"].strip()
        }
