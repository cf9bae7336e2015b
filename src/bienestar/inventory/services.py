"""Writes to the stock ledger. Every change of a lot's balance goes through `_append`, here.

Locking contract (docs/adr/0005-stock-locking.md):
- each service owns one `transaction.atomic` (a savepoint when the caller already holds one, as
  `dispense_record` does), so a delivery, a transfer, a count or a dispense is written whole or not
  at all;
- the lots a service changes are locked with one `SELECT … FOR UPDATE … ORDER BY id` before any
  balance is read for a decision; every service locks in that same order, so two services can wait
  for each other but never deadlock;
- with the rows locked, the service checks (insufficient stock raises `InsufficientStock` before
  anything is written), then updates `Lot.quantity` and appends one `StockMovement` per change,
  carrying the balance after it. The CHECK constraint `quantity >= 0` is the last line of defence.

Quantities are integers (units), never floats: `_units` refuses anything else.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.core.errors import ValidationFailed
from bienestar.facilities.models import Facility
from bienestar.inventory.errors import InsufficientStock
from bienestar.inventory.models import AdjustmentReason, Lot, MovementKind, StockMovement
from bienestar.inventory.permissions import require_stock_write
from bienestar.terminology.models import Medicine

MAX_LINES = 500
MAX_UNITS = 10_000_000


# --- Inputs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceiptLine:
    """One line of a delivery: so many units of a lot of a catalogue key."""

    medicine_key: str
    lot_number: str
    expiry: dt.date
    quantity: int


@dataclass(frozen=True)
class CountLine:
    """A lot counted on the shelf during a physical count."""

    lot: Lot
    counted: int


@dataclass(frozen=True)
class Issue:
    """Units of a catalogue key leaving a pharmacy for one dispense line (`reference`)."""

    medicine_key: str
    quantity: int
    reference: str


# --- Validation ---------------------------------------------------------------------------------


def validate_units(
    value: object, *, field: str, allow_zero: bool = False, signed: bool = False
) -> int:
    """An integer number of units; floats, strings and booleans are refused, not rounded."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(_("La cantidad debe ser un número entero de unidades."), field=field)
    if abs(value) > MAX_UNITS:
        raise ValidationFailed(_("La cantidad es demasiado grande."), field=field)
    if value == 0 and not allow_zero:
        raise ValidationFailed(_("La cantidad no puede ser cero."), field=field)
    if value < 0 and not signed:
        raise ValidationFailed(_("La cantidad no puede ser negativa."), field=field)
    return value


def _medicines(keys: Iterable[str]) -> dict[str, Medicine]:
    wanted = set(keys)
    found = Medicine.objects.in_bulk(list(wanted))
    unknown = sorted(wanted - set(found))
    if unknown:
        raise ValidationFailed(
            _("Clave desconocida en el catálogo nacional de medicamentos: %(keys)s")
            % {"keys": ", ".join(unknown)},
            field="medicine",
        )
    return found


def _now(at: dt.datetime | None) -> dt.datetime:
    return at or timezone.now()


# --- The one writer -----------------------------------------------------------------------------


def _lock(lot_ids: Iterable[int]) -> dict[int, Lot]:
    """Lock the lots in id order (the order every service uses) and return them fresh."""
    rows = Lot.objects.select_for_update().filter(id__in=set(lot_ids)).order_by("id")
    return {lot.id: lot for lot in rows}


@dataclass
class _Ctx:
    actor: Actor
    at: dt.datetime
    operation: uuid.UUID


def _append(
    ctx: _Ctx,
    lot: Lot,
    *,
    kind: str,
    quantity: int,
    reference: str = "",
    reason: str = "",
    note: str = "",
    person_id: int | None = None,
) -> StockMovement:
    """Change a *locked* lot's balance by `quantity` and return the (unsaved) ledger row."""
    new_balance = lot.quantity + quantity
    if new_balance < 0:
        raise InsufficientStock(
            medicine_key=lot.medicine_id, requested=-quantity, available=lot.quantity
        )
    # Conditional on the balance we read: with the row lock held it always matches; if a future
    # caller forgets to lock, this fails loudly instead of silently losing an update.
    changed = Lot.objects.filter(pk=lot.pk, quantity=lot.quantity).update(
        quantity=new_balance, updated_at=timezone.now()
    )
    if changed != 1:
        raise RuntimeError(f"lot {lot.pk} changed while it should have been locked")
    lot.quantity = new_balance
    return StockMovement(
        lot=lot,
        facility_id=lot.facility_id,
        medicine_id=lot.medicine_id,
        kind=kind,
        quantity=quantity,
        balance_after=new_balance,
        reason=reason,
        note=note,
        reference=reference,
        operation=ctx.operation,
        person_id=person_id,
        actor=ctx.actor.user,
        actor_username=ctx.actor.username,
        at=ctx.at,
    )


def _save(movements: list[StockMovement]) -> list[StockMovement]:
    # One INSERT; PostgreSQL assigns ids in list order, which keeps each lot's ledger in the order
    # its balance changed (the running-sum check in checks.py relies on it).
    return StockMovement.objects.bulk_create(movements)


def _lot_for(facility: Facility, medicine: Medicine, lot_number: str, expiry: dt.date) -> Lot:
    lot, _created = Lot.objects.get_or_create(
        facility=facility,
        medicine=medicine,
        lot_number=lot_number,
        defaults={"expiry": expiry},
    )
    if lot.expiry != expiry:
        raise ValidationFailed(
            _("El lote %(lot)s de %(key)s ya existe con caducidad %(expiry)s.")
            % {"lot": lot_number, "key": medicine.key, "expiry": lot.expiry.isoformat()},
            field="expiry",
        )
    return lot


# --- Services -----------------------------------------------------------------------------------


def stock_receive(
    actor: Actor,
    *,
    facility: Facility,
    lines: Sequence[ReceiptLine],
    reference: str = "",
    at: dt.datetime | None = None,
) -> list[StockMovement]:
    """Record a delivery: one `receipt` movement per line, all in one transaction.

    A line for a lot the facility already holds adds to it (the expiry must match); a new lot number
    creates the lot. Refused whole, with nothing written: an unknown catalogue key, a lot already
    expired, a quantity that is not a positive integer, no lines.
    """
    require_stock_write(actor, facility)
    at = _now(at)
    today = timezone.localdate(at)
    if not lines:
        raise ValidationFailed(_("La entrada no tiene renglones."), field="lines")
    if len(lines) > MAX_LINES:
        raise ValidationFailed(_("Demasiados renglones en una sola entrada."), field="lines")
    medicines = _medicines(line.medicine_key for line in lines)
    for line in lines:
        validate_units(line.quantity, field="quantity")
        if not line.lot_number.strip():
            raise ValidationFailed(_("Indique el número de lote."), field="lot_number")
        if line.expiry < today:
            raise ValidationFailed(
                _("El lote %(lot)s ya está caducado (%(expiry)s): no se recibe.")
                % {"lot": line.lot_number, "expiry": line.expiry.isoformat()},
                field="expiry",
            )
    ctx = _Ctx(actor=actor, at=at, operation=uuid.uuid4())
    with transaction.atomic():
        lot_ids = [
            _lot_for(
                facility, medicines[line.medicine_key], line.lot_number.strip(), line.expiry
            ).id
            for line in lines
        ]
        locked = _lock(lot_ids)
        movements = [
            _append(
                ctx,
                locked[lot_id],
                kind=MovementKind.RECEIPT,
                quantity=line.quantity,
                reference=reference,
            )
            for lot_id, line in zip(lot_ids, lines, strict=True)
        ]
        return _save(movements)


def stock_adjust(
    actor: Actor,
    *,
    lot: Lot,
    quantity: int,
    reason: str,
    note: str = "",
    at: dt.datetime | None = None,
) -> StockMovement:
    """Add (positive) or remove (negative) units for a stated reason; `other` needs a note.

    Removing more than the lot holds raises `InsufficientStock`, with nothing written.
    """
    require_stock_write(actor, lot.facility)
    validate_units(quantity, field="quantity", signed=True)
    if reason not in AdjustmentReason.values:
        raise ValidationFailed(_("Indique el motivo del ajuste."), field="reason")
    note = note.strip()
    if reason == AdjustmentReason.OTHER and not note:
        raise ValidationFailed(_("Describa el motivo del ajuste."), field="note")
    ctx = _Ctx(actor=actor, at=_now(at), operation=uuid.uuid4())
    with transaction.atomic():
        locked = _lock([lot.id])[lot.id]
        movement = _append(
            ctx, locked, kind=MovementKind.ADJUSTMENT, quantity=quantity, reason=reason, note=note
        )
        return _save([movement])[0]


def stock_transfer(
    actor: Actor,
    *,
    lot: Lot,
    to_facility: Facility,
    quantity: int,
    reference: str = "",
    at: dt.datetime | None = None,
) -> tuple[StockMovement, StockMovement]:
    """Move units of a lot to another facility: `transfer_out` here and `transfer_in` there, in one
    transaction (both or neither). The destination holds the same lot number and expiry."""
    require_stock_write(actor, lot.facility)
    validate_units(quantity, field="quantity")
    at = _now(at)
    if to_facility.id == lot.facility_id:
        raise ValidationFailed(
            _("El destino de la transferencia es el mismo establecimiento."), field="to_facility"
        )
    if not to_facility.in_operation:
        raise ValidationFailed(_("El establecimiento de destino no opera."), field="to_facility")
    if lot.expiry < timezone.localdate(at):
        raise ValidationFailed(
            _("El lote está caducado: dé de baja por caducidad en lugar de transferirlo."),
            field="lot",
        )
    ctx = _Ctx(actor=actor, at=at, operation=uuid.uuid4())
    reference = reference or f"transfer:{ctx.operation}"
    with transaction.atomic():
        target = _lot_for(to_facility, lot.medicine, lot.lot_number, lot.expiry)
        locked = _lock([lot.id, target.id])
        out = _append(
            ctx,
            locked[lot.id],
            kind=MovementKind.TRANSFER_OUT,
            quantity=-quantity,
            reference=reference,
        )
        inbound = _append(
            ctx,
            locked[target.id],
            kind=MovementKind.TRANSFER_IN,
            quantity=quantity,
            reference=reference,
        )
        saved = _save([out, inbound])
        return saved[0], saved[1]


def stock_write_off_expired(
    actor: Actor, *, facility: Facility, as_of: dt.date | None = None, at: dt.datetime | None = None
) -> list[StockMovement]:
    """Write off every unit of every lot of the facility whose expiry is before `as_of` (today by
    default). Idempotent: a second call finds nothing left to write off."""
    require_stock_write(actor, facility)
    at = _now(at)
    as_of = as_of or timezone.localdate(at)
    ctx = _Ctx(actor=actor, at=at, operation=uuid.uuid4())
    with transaction.atomic():
        ids = Lot.objects.filter(facility=facility, expiry__lt=as_of, quantity__gt=0).values_list(
            "id", flat=True
        )
        locked = _lock(ids)
        movements = [
            _append(ctx, lot, kind=MovementKind.EXPIRY_WRITE_OFF, quantity=-lot.quantity)
            for lot in locked.values()
            # Re-checked under the lock: another transaction may have emptied it meanwhile.
            if lot.quantity > 0 and lot.expiry < as_of
        ]
        return _save(movements)


def stock_count(
    actor: Actor,
    *,
    facility: Facility,
    lines: Sequence[CountLine],
    note: str = "",
    at: dt.datetime | None = None,
) -> list[StockMovement]:
    """Reconcile a physical count: for each counted lot whose balance differs, one `count` movement
    of the difference, so that the balance becomes what was counted. Lots not listed are unchanged.

    The difference is computed against the balance *under the lock*, so a dispense committed while the
    count form was open is not undone: the count says what is on the shelf now.
    """
    require_stock_write(actor, facility)
    if not lines:
        raise ValidationFailed(_("El conteo no tiene renglones."), field="lines")
    if len(lines) > MAX_LINES:
        raise ValidationFailed(_("Demasiados renglones en un solo conteo."), field="lines")
    seen: set[int] = set()
    for line in lines:
        validate_units(line.counted, field="counted", allow_zero=True)
        if line.lot.facility_id != facility.id:
            raise ValidationFailed(
                _("El lote %(lot)s no pertenece a este establecimiento.")
                % {"lot": line.lot.lot_number},
                field="lot",
            )
        if line.lot.id in seen:
            raise ValidationFailed(
                _("El lote %(lot)s aparece dos veces en el conteo.") % {"lot": line.lot.lot_number},
                field="lot",
            )
        seen.add(line.lot.id)
    ctx = _Ctx(actor=actor, at=_now(at), operation=uuid.uuid4())
    with transaction.atomic():
        locked = _lock(seen)
        movements = []
        for line in sorted(lines, key=lambda li: li.lot.id):
            lot = locked[line.lot.id]
            difference = line.counted - lot.quantity
            if difference:
                movements.append(
                    _append(
                        ctx, lot, kind=MovementKind.COUNT, quantity=difference, note=note.strip()
                    )
                )
        return _save(movements)


def stock_issue_fefo(
    actor: Actor,
    *,
    facility: Facility,
    issues: Sequence[Issue],
    person_id: int,
    at: dt.datetime | None = None,
) -> dict[str, list[StockMovement]]:
    """Internal: take units out of a pharmacy's stock for dispense lines, first-expiring-first-out.

    Called by `prescribing.services.dispense_record`, which checks DISPENSE and owns the transaction;
    this function checks no permission. Only lots that are not expired on the day of `at` are used,
    earliest expiry first (then oldest lot). All the lots of all the keys involved are locked in one
    statement, in id order, before any is read; if any key lacks units, `InsufficientStock` is raised
    before anything is written. Returns the movements per issue `reference`.
    """
    at = _now(at)
    today = timezone.localdate(at)
    demand: dict[str, int] = defaultdict(int)
    for issue in issues:
        demand[issue.medicine_key] += validate_units(issue.quantity, field="quantity")
    if not demand:
        return {}
    ctx = _Ctx(actor=actor, at=at, operation=uuid.uuid4())
    with transaction.atomic():
        locked = list(
            Lot.objects.select_for_update()
            .filter(
                facility=facility, medicine_id__in=list(demand), expiry__gte=today, quantity__gt=0
            )
            .order_by("id")
        )
        by_key: dict[str, list[Lot]] = defaultdict(list)
        for lot in sorted(locked, key=lambda lot: (lot.expiry, lot.id)):
            by_key[lot.medicine_id].append(lot)
        for key, wanted in sorted(demand.items()):
            available = sum(lot.quantity for lot in by_key[key])
            if available < wanted:
                raise InsufficientStock(medicine_key=key, requested=wanted, available=available)
        movements: dict[str, list[StockMovement]] = defaultdict(list)
        pending: list[StockMovement] = []
        for issue in issues:
            remaining = issue.quantity
            for lot in by_key[issue.medicine_key]:
                if remaining == 0:
                    break
                take = min(remaining, lot.quantity)
                if take == 0:
                    continue
                row = _append(
                    ctx,
                    lot,
                    kind=MovementKind.DISPENSE,
                    quantity=-take,
                    reference=issue.reference,
                    person_id=person_id,
                )
                movements[issue.reference].append(row)
                pending.append(row)
                remaining -= take
        _save(pending)
        return dict(movements)
