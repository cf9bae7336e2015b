"""The national vaccination schedule (terminology.VaccineScheduleEntry) applied to one person.

Pure functions over rows already loaded: how a dose fits the schedule when it is recorded, and the
status of every scheduled dose for the chart (applied, due, overdue, upcoming…).

Definitions (documented here, used everywhere):
- a scheduled dose is *due* from `birth + age_months` for `DUE_WINDOW_MONTHS`, then *overdue*;
- a dose applied more than `EARLY_GRACE_DAYS` before that age is flagged *early*, one applied more
  than `LATE_AFTER_MONTHS` after it is flagged *late* (recorded anyway: catching up is the point);
- the schedule covers childhood, so for a person older than `CATCH_UP_UNTIL_MONTHS` a missing dose is
  *not_recorded* rather than overdue;
- entries with a condition other than "universal" (winter season, day care, comorbidity) are
  *conditional* until applied; birth-cohort conditions ("nacidos a partir de julio 2020") are
  evaluated against the birth date, and an entry the person's cohort does not take is *not_applicable*.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bienestar.clinical.models import Immunization, ScheduleFit
from bienestar.terminology.models import VaccineScheduleEntry

EARLY_GRACE_DAYS = 14
LATE_AFTER_MONTHS = 2
DUE_WINDOW_MONTHS = 1
CATCH_UP_UNTIL_MONTHS = 120
ANNUAL = "anual"

_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        [
            "enero",
            "febrero",
            "marzo",
            "abril",
            "mayo",
            "junio",
            "julio",
            "agosto",
            "septiembre",
            "octubre",
            "noviembre",
            "diciembre",
        ]
    )
}
_COHORT_RE = re.compile(r"nacidos (a partir de|antes de) (\w+) (\d{4})")


def normalize(text: str) -> str:
    """Lower-case, accent-free, single-spaced: how vaccine names and dose labels are compared."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.lower().split())


def add_months(day: dt.date, months: int) -> dt.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def age_in_months(birth: dt.date, on: dt.date) -> int:
    months = (on.year - birth.year) * 12 + on.month - birth.month
    return months - 1 if on.day < birth.day else months


def country_of(territory_path: str) -> str:
    return territory_path.split(".", 1)[0] or "MX"


def cohort_applies(entry: VaccineScheduleEntry, birth: dt.date) -> bool | None:
    """True/False for a birth-cohort condition, None when the condition is not about the cohort."""
    match = _COHORT_RE.search(normalize(entry.condition))
    if not match or match.group(2) not in _MONTHS:
        return None
    boundary = dt.date(int(match.group(3)), _MONTHS[match.group(2)], 1)
    return birth >= boundary if match.group(1) == "a partir de" else birth < boundary


def is_universal(entry: VaccineScheduleEntry, birth: dt.date) -> bool:
    cohort = cohort_applies(entry, birth)
    if cohort is not None:
        return cohort
    return normalize(entry.condition) in ("", "universal")


def canonical_vaccine(name: str, entries: Iterable[VaccineScheduleEntry]) -> str:
    """The schedule's spelling of a vaccine name typed in any case or accents; else the name as typed."""
    wanted = normalize(name)
    for entry in entries:
        if normalize(entry.vaccine) == wanted:
            return entry.vaccine
    return " ".join(name.split())


def canonical_dose(dose: str) -> str:
    return normalize(dose).replace("dosis ", "")


def matching_entry(
    entries: Sequence[VaccineScheduleEntry], *, vaccine: str, dose: str, birth: dt.date
) -> VaccineScheduleEntry | None:
    """The schedule entry of this dose; when two cohorts share a dose (SRP 2), the person's."""
    candidates = [
        e
        for e in entries
        if normalize(e.vaccine) == normalize(vaccine)
        and canonical_dose(e.dose) == canonical_dose(dose)
    ]
    for entry in candidates:
        if cohort_applies(entry, birth) is not False:
            return entry
    return candidates[0] if candidates else None


def fit(entry: VaccineScheduleEntry | None, *, birth: dt.date, on: dt.date) -> str:
    """How a dose applied on `on` fits its schedule entry."""
    if entry is None:
        return ScheduleFit.NOT_IN_SCHEDULE
    scheduled = add_months(birth, entry.age_months)
    if on < scheduled - dt.timedelta(days=EARLY_GRACE_DAYS):
        return ScheduleFit.EARLY
    if canonical_dose(entry.dose) != ANNUAL and on > add_months(scheduled, LATE_AFTER_MONTHS):
        return ScheduleFit.LATE
    return ScheduleFit.ON_SCHEDULE


class DoseStatus:
    APPLIED = "applied"
    DUE = "due"
    OVERDUE = "overdue"
    UPCOMING = "upcoming"
    CONDITIONAL = "conditional"
    NOT_APPLICABLE = "not_applicable"
    NOT_RECORDED = "not_recorded"


@dataclass(frozen=True)
class ScheduledDose:
    entry: VaccineScheduleEntry
    status: str
    due_date: dt.date
    immunization: Immunization | None


def schedule_status(
    entries: Sequence[VaccineScheduleEntry],
    immunizations: Sequence[Immunization],
    *,
    birth: dt.date,
    today: dt.date,
) -> list[ScheduledDose]:
    """Every schedule entry with its status for this person, in schedule order. `immunizations` are
    the person's completed doses, newest first (an annual dose counts if applied in the last year)."""
    applied: dict[tuple[str, str], Immunization] = {}
    for given in immunizations:
        applied.setdefault((normalize(given.vaccine), canonical_dose(given.dose)), given)
    age = age_in_months(birth, today)
    out = []
    for entry in entries:
        due = add_months(birth, entry.age_months)
        imm: Immunization | None = applied.get(
            (normalize(entry.vaccine), canonical_dose(entry.dose))
        )
        if imm is not None and canonical_dose(entry.dose) == ANNUAL:
            imm = imm if imm.occurrence_date > today - dt.timedelta(days=365) else None
        cohort = cohort_applies(entry, birth)
        if imm is not None and cohort is not False:
            status = DoseStatus.APPLIED
        elif cohort is False:
            status = DoseStatus.NOT_APPLICABLE
        elif today < due:
            status = DoseStatus.UPCOMING if is_universal(entry, birth) else DoseStatus.CONDITIONAL
        elif not is_universal(entry, birth):
            status = DoseStatus.CONDITIONAL
        elif age >= CATCH_UP_UNTIL_MONTHS:
            status = DoseStatus.NOT_RECORDED
        elif today < add_months(due, DUE_WINDOW_MONTHS):
            status = DoseStatus.DUE
        else:
            status = DoseStatus.OVERDUE
        out.append(ScheduledDose(entry=entry, status=status, due_date=due, immunization=imm))
    return out
