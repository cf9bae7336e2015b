"""Reads of stock: balances per facility, lots about to expire, the ledger, availability.

Stock holds no personal data (the ledger's `person_id` is never returned by these selectors), so
these reads are scoped by `inventory.permissions` but not written to the audit log.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Min, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.access.errors import OutOfScope
from bienestar.access.permissions import require
from bienestar.access.roles import Permission
from bienestar.core.errors import ValidationFailed
from bienestar.facilities.models import Facility
from bienestar.inventory.models import Lot, StockMovement
from bienestar.inventory.permissions import may_read_stock, require_stock_read
from bienestar.terminology.models import Medicine

DEFAULT_LOW_STOCK_UNITS = 30
DEFAULT_EXPIRING_DAYS = 90


@dataclass(frozen=True)
class MedicineStock:
    """One catalogue key at one facility. `usable` excludes expired, quarantined and recalled lots
    (counted in `expired`, the units that cannot be used); `low` means `usable` is
    below the threshold asked for (a key once stocked and now at zero is low, not absent)."""

    medicine: Medicine
    usable: int
    expired: int
    expiring_soon: int
    lots: int
    next_expiry: dt.date | None
    low: bool

    @property
    def total(self) -> int:
        return self.usable + self.expired


def stock_by_medicine(
    actor: Actor,
    *,
    facility: Facility,
    low_stock_threshold: int = DEFAULT_LOW_STOCK_UNITS,
    expiring_within_days: int = DEFAULT_EXPIRING_DAYS,
    only_low: bool = False,
    today: dt.date | None = None,
) -> list[MedicineStock]:
    """The facility's stock by catalogue key (two queries), ordered by generic name."""
    require_stock_read(actor, facility)
    today = today or timezone.localdate()
    soon = today + dt.timedelta(days=expiring_within_days)
    usable = Q(expiry__gte=today, status="usable")
    rows = (
        Lot.objects.filter(facility=facility)
        .values("medicine_id")
        .annotate(
            usable=Sum("quantity", filter=usable, default=0),
            expired=Sum("quantity", filter=~usable, default=0),
            expiring_soon=Sum("quantity", filter=usable & Q(expiry__lte=soon), default=0),
            lots=Count("id", filter=Q(quantity__gt=0)),
            next_expiry=Min("expiry", filter=usable & Q(quantity__gt=0)),
        )
    )
    medicines = Medicine.objects.in_bulk([r["medicine_id"] for r in rows])
    out = [
        MedicineStock(
            medicine=medicines[r["medicine_id"]],
            usable=r["usable"],
            expired=r["expired"],
            expiring_soon=r["expiring_soon"],
            lots=r["lots"],
            next_expiry=r["next_expiry"],
            low=r["usable"] < low_stock_threshold,
        )
        for r in rows
    ]
    if only_low:
        out = [s for s in out if s.low]
    return sorted(out, key=lambda s: (s.medicine.generic_name.lower(), s.medicine.key))


def lots_at(
    actor: Actor,
    *,
    facility: Facility,
    medicine_key: str | None = None,
    include_empty: bool = False,
) -> QuerySet[Lot]:
    """The facility's lots (those with units unless told otherwise), earliest expiry first; what a
    physical count form lists."""
    require_stock_read(actor, facility)
    qs = Lot.objects.filter(facility=facility).select_related("medicine")
    if medicine_key:
        qs = qs.filter(medicine_id=medicine_key)
    if not include_empty:
        qs = qs.filter(quantity__gt=0)
    return qs.order_by("medicine__generic_name", "medicine_id", "expiry", "id")


def lots_expiring(
    actor: Actor,
    *,
    facility: Facility,
    within_days: int = DEFAULT_EXPIRING_DAYS,
    today: dt.date | None = None,
) -> QuerySet[Lot]:
    """Lots with units whose expiry falls within `within_days` of today, already-expired ones
    included (they are waiting for a write-off), earliest first."""
    require_stock_read(actor, facility)
    today = today or timezone.localdate()
    return (
        Lot.objects.filter(
            facility=facility,
            quantity__gt=0,
            expiry__lte=today + dt.timedelta(days=within_days),
        )
        .select_related("medicine")
        .order_by("expiry", "medicine_id", "id")
    )


def lot_get(actor: Actor, *, public_id: uuid.UUID | str) -> Lot:
    """One lot by opaque id, if the actor may read its facility's stock (else 404, as for a missing
    lot; 403 only for a role without STOCK_READ)."""
    lot = (
        Lot.objects.select_related("facility__territory", "medicine")
        .filter(public_id=public_id)
        .first()
    )
    if lot is None:
        raise OutOfScope()
    # A role that keeps no stock is told so (403); a lot of a facility outside the caller's reach
    # is the same 404 as a missing one, so that its existence does not leak.
    require(actor, Permission.STOCK_READ)
    if not may_read_stock(actor, lot.facility):
        raise OutOfScope()
    return lot


def stock_ledger(
    actor: Actor,
    *,
    facility: Facility,
    lot: Lot | None = None,
    medicine_key: str | None = None,
    kinds: Iterable[str] | None = None,
) -> QuerySet[StockMovement]:
    """The ledger of a facility (optionally one lot or one key), newest first. Lazy: slice it or
    hand it to a Paginator; `.count()` is one indexed query."""
    require_stock_read(actor, facility)
    qs = StockMovement.objects.filter(facility=facility).select_related("lot", "medicine", "actor")
    if lot is not None:
        qs = qs.filter(lot=lot)
    if medicine_key:
        qs = qs.filter(medicine_id=medicine_key)
    if kinds:
        qs = qs.filter(kind__in=list(kinds))
    return qs.order_by("-id")


def medicines_available(
    actor: Actor, *, facility: Facility, medicine_keys: Iterable[str], today: dt.date | None = None
) -> dict[str, int]:
    """Usable (non-expired) units of each key at the facility; 0 for keys it does not hold. One
    query: the prescribe form asks for every line at once."""
    require_stock_read(actor, facility)
    keys = list(dict.fromkeys(medicine_keys))
    today = today or timezone.localdate()
    found: dict[str, Any] = dict(
        Lot.objects.filter(
            facility=facility, medicine_id__in=keys, expiry__gte=today, status="usable"
        )
        .values("medicine_id")
        .annotate(units=Sum("quantity"))
        .values_list("medicine_id", "units")
    )
    return {key: int(found.get(key) or 0) for key in keys}


def medicine_available(
    actor: Actor, *, facility: Facility, medicine_key: str, today: dt.date | None = None
) -> int:
    """Usable units of one key at the facility (0 when it holds none)."""
    return medicines_available(actor, facility=facility, medicine_keys=[medicine_key], today=today)[
        medicine_key
    ]


def medicine_in_stock(
    actor: Actor, *, facility: Facility, medicine_key: str, today: dt.date | None = None
) -> bool:
    return medicine_available(actor, facility=facility, medicine_key=medicine_key, today=today) > 0


def lots_by_public_id(
    actor: Actor, *, facility: Facility, public_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Lot]:
    """The facility's lots named by opaque id (for a physical count). An id that is not a lot of
    this facility is refused by name."""
    require_stock_read(actor, facility)
    wanted = set(public_ids)
    found = {
        lot.public_id: lot for lot in Lot.objects.filter(facility=facility, public_id__in=wanted)
    }
    missing = wanted - set(found)
    if missing:
        raise ValidationFailed(
            _("Lote desconocido en este establecimiento: %(ids)s")
            % {"ids": ", ".join(sorted(map(str, missing)))},
            field="lot",
        )
    return found
