"""The priority score and the rollout plan, as pure functions (no database), so the page, the API
and the tests compute exactly the same thing.

Score of a sector = sum(weight_i * norm_i) / sum(weight_i), on 0 to 100, where norm_i =
min(value_i / worst_i, 1) * 100 and `worst_i` is the published value at which an indicator counts fully (INDICATORS). Tier:
high if score ≥ the scheme's high cut-off, medium if ≥ its medium cut-off, else low.

Phases: with the preset "all rural + high risk first", phase 1 holds every rural sector and every
high-tier sector, phase 2 the medium ones and phase 3 the low ones; with "composite index" the tier
alone decides (high → 1, medium → 2, low → 3). Inside a phase, sectors go by score (highest first),
then code. Teams take the next sector as soon as they are free (capacity in households per week).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _

RURAL_HIGH_FIRST = "rural_high_first"
COMPOSITE = "composite"


@dataclass(frozen=True)
class Indicator:
    key: str
    label: Any  # a lazily translated string
    worst: Decimal  # the value at which the indicator counts in full (100)
    unit: str = "share"


INDICATORS: tuple[Indicator, ...] = (
    Indicator("poverty_share", _("Pobreza multidimensional"), Decimal("0.5")),
    Indicator("uninsured_share", _("Sin aseguramiento"), Decimal("0.25")),
    Indicator("under5_share", _("Menores de 5 años"), Decimal("0.1")),
    Indicator("over60_share", _("Mayores de 60 años"), Decimal("0.25")),
    Indicator("anc_gap_share", _("Embarazos sin control prenatal"), Decimal("0.5")),
    Indicator("chronic_share", _("Carga de enfermedad crónica"), Decimal("0.25")),
    Indicator("distance_km", _("Distancia a la unidad más cercana"), Decimal("10"), unit="km"),
)
INDICATOR_KEYS = tuple(i.key for i in INDICATORS)

DEFAULT_WEIGHTS: dict[str, Decimal] = {
    "poverty_share": Decimal("0.25"),
    "uninsured_share": Decimal("0.15"),
    "under5_share": Decimal("0.10"),
    "over60_share": Decimal("0.10"),
    "anc_gap_share": Decimal("0.15"),
    "chronic_share": Decimal("0.15"),
    "distance_km": Decimal("0.10"),
}
# Calibrated so that the synthetic Bogotá sectors split about as MAS Bienestar's did (696 of 1,866
# sectors high).
DEFAULT_HIGH_CUTOFF = Decimal("50")
DEFAULT_MEDIUM_CUTOFF = Decimal("39")
TWO = Decimal("0.01")


def validate_weights(raw: Mapping[str, object]) -> dict[str, Decimal]:
    """Weights for exactly the known indicators, each in [0, 10], not all zero. Raises ValueError
    with a message for the person who typed them."""
    unknown = set(raw) - set(INDICATOR_KEYS)
    if unknown:
        raise ValueError(_("Indicador desconocido: %(k)s") % {"k": ", ".join(sorted(unknown))})
    weights: dict[str, Decimal] = {}
    for key in INDICATOR_KEYS:
        try:
            value = Decimal(str(raw.get(key, "0")).replace(",", "."))
        except ArithmeticError:
            raise ValueError(_("Peso inválido para %(k)s") % {"k": key}) from None
        if not value.is_finite() or not Decimal(0) <= value <= Decimal(10):
            raise ValueError(_("Cada peso va de 0 a 10 (%(k)s).") % {"k": key})
        weights[key] = value.quantize(Decimal("0.001"))
    if sum(weights.values()) == 0:
        raise ValueError(_("Al menos un peso debe ser mayor que cero."))
    return weights


@dataclass(frozen=True)
class Term:
    key: str
    label: str
    value: Decimal
    normalised: Decimal  # 0 to 100
    weight: Decimal
    contribution: Decimal  # points of the final score


@dataclass(frozen=True)
class Score:
    score: Decimal
    tier: str
    terms: tuple[Term, ...]


def tier_of(score: Decimal, *, high_cutoff: Decimal, medium_cutoff: Decimal) -> str:
    if score >= high_cutoff:
        return "high"
    if score >= medium_cutoff:
        return "medium"
    return "low"


def score_sector(
    values: Mapping[str, Decimal],
    weights: Mapping[str, Decimal],
    *,
    high_cutoff: Decimal,
    medium_cutoff: Decimal,
) -> Score:
    """The sector's score with each indicator's part (value, normalised, weight, points)."""
    total_weight = sum(weights.values(), Decimal(0))
    terms = []
    for indicator in INDICATORS:
        value = Decimal(values[indicator.key])
        normalised = min(value / indicator.worst, Decimal(1)) * 100
        weight = weights.get(indicator.key, Decimal(0))
        contribution = weight * normalised / total_weight
        terms.append(
            Term(
                key=indicator.key,
                label=str(indicator.label),
                value=value,
                normalised=normalised.quantize(TWO, ROUND_HALF_UP),
                weight=weight,
                contribution=contribution.quantize(TWO, ROUND_HALF_UP),
            )
        )
    score = sum((t.weight * t.normalised for t in terms), Decimal(0)) / total_weight
    score = score.quantize(TWO, ROUND_HALF_UP)
    return Score(
        score=score,
        tier=tier_of(score, high_cutoff=high_cutoff, medium_cutoff=medium_cutoff),
        terms=tuple(terms),
    )


# Why a sector is in its phase (stable codes; the page translates them).
REASON_RURAL = "rural"
REASON_HIGH = "high_risk"
REASON_MEDIUM = "medium_risk"
REASON_LOW = "low_risk"
REASONS = {
    REASON_RURAL: _("Sector rural: con esta regla todo lo rural va en la fase 1"),
    REASON_HIGH: _("Riesgo alto: puntaje ≥ corte alto"),
    REASON_MEDIUM: _("Riesgo medio: puntaje entre los cortes medio y alto"),
    REASON_LOW: _("Riesgo bajo: puntaje < corte medio"),
}


@dataclass(frozen=True)
class SectorInput:
    sector_id: int
    code: str
    rural: bool
    households: int
    score: Decimal
    tier: str


@dataclass(frozen=True)
class Placement:
    sector_id: int
    rank: int
    phase: int
    reason: str
    team_number: int
    start_week: int
    end_week: int


def phase_of(sector: SectorInput, preset: str) -> tuple[int, str]:
    if preset == RURAL_HIGH_FIRST and sector.rural:
        return 1, REASON_RURAL if sector.tier != "high" else REASON_HIGH
    return {
        "high": (1, REASON_HIGH),
        "medium": (2, REASON_MEDIUM),
        "low": (3, REASON_LOW),
    }[sector.tier]


def plan_rollout(
    sectors: Iterable[SectorInput], *, preset: str, teams: int, households_per_team_week: int
) -> list[Placement]:
    """Phases, order and a projected calendar: each sector goes, in order, to the team that is
    free first (ties: the lower team number); it takes ceil(households / capacity) weeks."""
    if teams < 1 or households_per_team_week < 1:
        raise ValueError(_("Se necesita al menos un equipo con capacidad mayor que cero."))
    placed = []
    for s in sectors:
        phase, reason = phase_of(s, preset)
        placed.append((phase, -s.score, s.code, s, reason))
    placed.sort(key=lambda row: (row[0], row[1], row[2]))
    free: list[tuple[int, int]] = [(0, n) for n in range(1, teams + 1)]
    heapq.heapify(free)
    out = []
    for rank, (phase, _neg, _code, s, reason) in enumerate(placed, start=1):
        week, team = heapq.heappop(free)
        weeks = max(1, math.ceil(s.households / households_per_team_week))
        out.append(
            Placement(
                sector_id=s.sector_id,
                rank=rank,
                phase=phase,
                reason=reason,
                team_number=team,
                start_week=week + 1,
                end_week=week + weeks,
            )
        )
        heapq.heappush(free, (week + weeks, team))
    return out
