"""The prescription fill rate (surtimiento de recetas): one definition, used everywhere.

Definition (also in docs/indicators/fill-rate.md):

- Population: the lines of the prescriptions *authored* in the period [date_from, date_to] (local
  dates, inclusive), written at the facility asked for, or at any facility inside the territory asked
  for (a state is a territory). The facility is the **prescribing** facility: the rate measures
  whether the network filled what that facility's clinicians prescribed, wherever the patient
  collected it. Cancelled prescriptions are left out (they were withdrawn, not unfilled).
- Line rate = lines fully dispensed ÷ lines prescribed. A line counts as fully dispensed when its
  last unit was handed over on or before the prescription's `valid_until`, at any pharmacy of the
  network and in any number of visits: a pending balance (voucher) filled within validity counts.
- Unit rate = units dispensed ÷ units prescribed, counting the units handed over on or before
  `valid_until`.
- Prescriptions still dispensable today may yet be filled: while any is in the population the figure
  is `provisional` (it can only rise), and becomes final when the last one's validity ends.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.access.errors import Forbidden
from bienestar.access.permissions import require
from bienestar.access.roles import Permission
from bienestar.core.errors import ValidationFailed
from bienestar.facilities.models import Facility
from bienestar.prescribing.models import (
    DispenseLine,
    PrescriptionLine,
    PrescriptionStatus,
    dispensable_on_q,
)
from bienestar.territories.selectors import within

MAX_PERIOD_DAYS = 3660
_PLACES = Decimal("0.0001")


def _ratio(numerator: int, denominator: int) -> Decimal | None:
    if denominator == 0:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(_PLACES, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class FillRate:
    """Both rates with their numerators and denominators. Rates are `Decimal` in [0, 1] rounded to
    4 places, or None when nothing was prescribed."""

    date_from: dt.date
    date_to: dt.date
    prescriptions: int
    lines_prescribed: int
    lines_filled: int
    units_prescribed: int
    units_dispensed: int
    open_prescriptions: int
    facility: Facility | None = None
    territory_path: str | None = None

    @property
    def line_rate(self) -> Decimal | None:
        return _ratio(self.lines_filled, self.lines_prescribed)

    @property
    def unit_rate(self) -> Decimal | None:
        return _ratio(self.units_dispensed, self.units_prescribed)

    @property
    def provisional(self) -> bool:
        return self.open_prescriptions > 0


def _bounds(date_from: dt.date, date_to: dt.date) -> tuple[dt.datetime, dt.datetime]:
    if date_to < date_from:
        raise ValidationFailed(_("La fecha final es anterior a la inicial."), field="date_to")
    if (date_to - date_from).days > MAX_PERIOD_DAYS:
        raise ValidationFailed(_("El periodo es demasiado largo."), field="date_to")
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(date_from, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return start, end


def _in_scope(actor: Actor, path: str) -> bool:
    scope = actor.scope_path
    return scope is not None and (path == scope or path.startswith(scope + "."))


def _lines(
    actor: Actor,
    *,
    date_from: dt.date,
    date_to: dt.date,
    facility: Facility | None,
    territory_path: str | None,
) -> tuple[QuerySet[PrescriptionLine], str | None]:
    require(actor, Permission.INDICATOR_READ)
    start, end = _bounds(date_from, date_to)
    qs = PrescriptionLine.objects.filter(
        prescription__authored_at__gte=start, prescription__authored_at__lt=end
    ).exclude(prescription__status=PrescriptionStatus.CANCELLED)
    if facility is not None:
        own = actor.user.facility_id if actor.user is not None else None
        if facility.id != own and not _in_scope(actor, facility.territory.path):
            raise Forbidden(_("Este establecimiento está fuera de su ámbito."))
        return qs.filter(facility=facility), None
    path = territory_path or actor.scope_path
    if path is None or not _in_scope(actor, path):
        raise Forbidden(_("Este territorio está fuera de su ámbito."))
    return qs.filter(within(path, "facility__territory__path")), path


def _aggregates(today: dt.date) -> dict[str, Any]:
    units_in_validity = (
        DispenseLine.objects.filter(
            prescription_line=OuterRef("pk"),
            dispense__at__date__lte=OuterRef("prescription__valid_until"),
        )
        .values("prescription_line")
        .annotate(units=Sum("quantity"))
        .values("units")
    )
    return {
        "prescriptions": Count("prescription", distinct=True),
        "lines_prescribed": Count("id"),
        "lines_filled": Count(
            "id", filter=Q(fully_dispensed_at__date__lte=F("prescription__valid_until"))
        ),
        "units_prescribed": Coalesce(Sum("quantity"), 0),
        "units_dispensed": Coalesce(
            Sum(Coalesce(Subquery(units_in_validity, output_field=IntegerField()), 0)), 0
        ),
        "open_prescriptions": Count(
            "prescription",
            distinct=True,
            filter=dispensable_on_q(today, prefix="prescription__"),
        ),
    }


def fill_rate(
    actor: Actor,
    *,
    date_from: dt.date,
    date_to: dt.date,
    facility: Facility | None = None,
    territory_path: str | None = None,
    today: dt.date | None = None,
) -> FillRate:
    """The fill rate of one prescribing facility, or of every facility inside a territory (a state:
    "MX.20"), for prescriptions authored from `date_from` to `date_to` inclusive.

    Line rate = lines fully dispensed within the prescription's validity ÷ lines prescribed;
    unit rate = units dispensed within validity ÷ units prescribed; cancelled prescriptions are
    excluded; a pending balance (voucher) filled within validity, at any pharmacy, counts as filled.
    By the *prescribing* facility. See docs/indicators/fill-rate.md.

    Requires INDICATOR_READ and the facility or territory inside the actor's scope (no territory:
    the actor's whole scope). Aggregates only, no personal data: not audited. One query.
    """
    qs, path = _lines(
        actor,
        date_from=date_from,
        date_to=date_to,
        facility=facility,
        territory_path=territory_path,
    )
    row = qs.aggregate(**_aggregates(today or timezone.localdate()))
    return FillRate(
        date_from=date_from,
        date_to=date_to,
        facility=facility,
        territory_path=path,
        **{k: int(v or 0) for k, v in row.items()},
    )


def fill_rate_by_facility(
    actor: Actor,
    *,
    date_from: dt.date,
    date_to: dt.date,
    territory_path: str | None = None,
    today: dt.date | None = None,
) -> list[FillRate]:
    """The same figures for each prescribing facility inside a territory, lowest line rate first
    (where to look first). Two queries."""
    qs, path = _lines(
        actor, date_from=date_from, date_to=date_to, facility=None, territory_path=territory_path
    )
    grouped = qs.values("facility_id").annotate(**_aggregates(today or timezone.localdate()))
    rows: list[dict[str, Any]] = [dict(r) for r in grouped]
    facilities = Facility.objects.select_related("territory").in_bulk(
        [r["facility_id"] for r in rows]
    )
    out = [
        FillRate(
            date_from=date_from,
            date_to=date_to,
            facility=facilities[r["facility_id"]],
            territory_path=path,
            **{k: int(v or 0) for k, v in r.items() if k != "facility_id"},
        )
        for r in rows
    ]
    return sorted(
        out,
        key=lambda f: (
            f.line_rate if f.line_rate is not None else Decimal(2),
            f.facility.name if f.facility else "",
        ),
    )
