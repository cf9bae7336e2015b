"""Denominators from the reference data: the uninsured population, its provenance, and the network's
jurisdiction (read-only over territories and terminology).

Estimated uninsured population of a state in year Y = its 2020 census share without health
affiliation (PSINDER ÷ POBTOT, INEGI) × its CONAPO mid-year projection for Y (the nearest year
loaded when Y is not). A municipality: its own census share × its census population scaled by its
state's projection ÷ census ratio. The nation: the sum of its states. Every figure carries its
provenance (the sources and the years used).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection

CENSUS_SOURCE_PREFIX = "INEGI, Censo"
CONAPO_SOURCE_PREFIX = "CONAPO"
IMSS_BIENESTAR_CLUES = "IMB"


@dataclass(frozen=True)
class UninsuredEstimate:
    path: str
    year: int
    census_total: int
    census_uninsured: int
    projection: int | None
    projection_year: int | None
    provenance: str

    @property
    def census_share(self) -> Decimal:
        return (Decimal(self.census_uninsured) / Decimal(self.census_total)).quantize(
            Decimal("0.0001"), rounding=ROUND_HALF_UP
        )

    @property
    def estimate(self) -> int | None:
        if self.projection is None:
            return None
        return round(self.projection * self.census_uninsured / self.census_total)


@dataclass
class Denominators:
    """Estimated uninsured population by (territory path, year); missing keys mean "no figure"."""

    by_key: dict[tuple[str, int], int] = field(default_factory=dict)
    provenance: dict[tuple[str, int], str] = field(default_factory=dict)

    def get(self, path: str, year: int) -> int | None:
        return self.by_key.get((path, year))


def _rows(sql: str, params: list[str]) -> list[tuple]:  # type: ignore[type-arg]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def census_2020() -> dict[str, tuple[int, int]]:
    """(total, uninsured) of every territory with a 2020 census row: states and municipalities."""
    rows = _rows(
        """SELECT t.path, d.total, d.uninsured FROM territories_populationdenominator d
           JOIN territories_territory t ON t.id = d.territory_id
           WHERE d.year = 2020 AND d.uninsured IS NOT NULL AND d.source LIKE %s""",
        [CENSUS_SOURCE_PREFIX + "%"],
    )
    return {path: (int(total), int(uninsured)) for path, total, uninsured in rows}


def projections() -> dict[tuple[str, int], tuple[int, str]]:
    rows = _rows(
        """SELECT t.path, d.year, d.total, d.source FROM territories_populationdenominator d
           JOIN territories_territory t ON t.id = d.territory_id WHERE d.source LIKE %s""",
        [CONAPO_SOURCE_PREFIX + "%"],
    )
    return {(path, int(year)): (int(total), source) for path, year, total, source in rows}


def uninsured_share(path: str = "MX") -> Decimal | None:
    """The 2020 census share without affiliation: a state's, or the nation's (Σ states)."""
    census = census_2020()
    if path == "MX":
        states = [v for p, v in census.items() if p.count(".") == 1 and p.startswith("MX.")]
        total, uninsured = sum(t for t, _u in states), sum(u for _t, u in states)
    elif path in census:
        total, uninsured = census[path]
    else:
        return None
    if not total:
        return None
    return (Decimal(uninsured) / Decimal(total)).quantize(Decimal("0.0001"), ROUND_HALF_UP)


def estimates(years: list[int]) -> Denominators:
    """Estimated uninsured population of the nation, every state and every municipality with a
    census row, for each year asked."""
    census = census_2020()
    projected = projections()
    loaded_years = sorted({y for (_p, y) in projected})
    out = Denominators()
    for year in years:
        used = min(loaded_years, key=lambda y: (abs(y - year), -y)) if loaded_years else None
        national = 0
        complete = used is not None
        for path, (total, uninsured) in census.items():
            if path.count(".") != 1 or not total:
                continue
            proj = projected.get((path, used)) if used is not None else None
            if proj is None:
                complete = False
                continue
            estimate = round(proj[0] * uninsured / total)
            national += estimate
            out.by_key[(path, year)] = estimate
            out.provenance[(path, year)] = (
                f"INEGI Censo 2020: {uninsured} sin afiliación de {total}; "
                f"{proj[1]}, {used}: {proj[0]}"
            )
            scale = proj[0] / total
            prefix = path + "."
            for mpath, (mtotal, muninsured) in census.items():
                if mpath.startswith(prefix) and mtotal:
                    out.by_key[(mpath, year)] = round(muninsured * scale)
                    out.provenance[(mpath, year)] = (
                        f"INEGI Censo 2020 municipal ({muninsured} de {mtotal}) × "
                        f"{proj[1]} {used} ÷ censo estatal"
                    )
        if complete and national:
            out.by_key[("MX", year)] = national
            out.provenance[("MX", year)] = f"Σ de los estados ({used})"
    return out


def imss_bienestar_units_by_state() -> dict[str, int]:
    """IMSS-Bienestar establishments (CLUES institution IMB) per state abbreviation, from the
    national CLUES catalogue loaded by `load-reference`."""
    rows = _rows(
        """SELECT state_abbreviation, COUNT(*) FROM terminology_clueskey
           WHERE institution_code = %s GROUP BY 1""",
        [IMSS_BIENESTAR_CLUES],
    )
    return {abbr: int(n) for abbr, n in rows}


def jurisdictional_share(year: int | None = None) -> tuple[Decimal | None, list[str]]:
    """Uninsured population of the states incorporated into IMSS-Bienestar (those with IMB
    establishments in the CLUES catalogue) ÷ the national uninsured population. Returns the
    share and the incorporated state paths."""
    year = year or dt.date.today().year
    units = imss_bienestar_units_by_state()
    abbreviations = _rows(
        """SELECT path, abbreviation FROM territories_territory
           WHERE kind = 'state' AND path ~ '^MX\\.[0-9]{2}$'""",
        [],
    )
    incorporated = sorted(p for p, abbr in abbreviations if units.get(abbr or "", 0) > 0)
    den = estimates([year])
    national = den.get("MX", year)
    if not national:
        return None, incorporated
    part = sum(den.get(p, year) or 0 for p in incorporated)
    return (Decimal(part) / Decimal(national)).quantize(
        Decimal("0.0001"), ROUND_HALF_UP
    ), incorporated
