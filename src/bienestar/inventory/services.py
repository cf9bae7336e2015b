"""Writes to the stock ledger. Every change of a lot's balance is written here: by `_save`, after
`_append` has checked it, or for a one-line dispense by `_lock_and_issue_from_first_lot`.

Locking contract (docs/adr/0005-stock-locking.md):
- each service owns one `transaction.atomic` (a savepoint when the caller already holds one, except
  where `dispense_record` asks `stock_issue_fefo` for none: a refusal there rolls its whole dispense
  back anyway), so a delivery, a transfer, a count or a dispense is written whole or not at all;
- the lots a service changes are locked with one `SELECT … FOR UPDATE … ORDER BY id` before any
  balance is read for a decision; every service locks in that same order, so two services can wait
  for each other but never deadlock;
- with the rows locked, the service checks (insufficient stock raises `InsufficientStock` before
  anything is written), then updates `Lot.quantity` and appends one `StockMovement` per change,
  carrying the balance after it, in one statement (`_save`; a one-line dispense does the locking,
  the check and the writing in a single statement, `_lock_and_issue_from_first_lot`). The CHECK
  constraint `quantity >= 0` is the last line of defence.

Quantities are integers (units), never floats: `_units` refuses anything else.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.core.errors import ValidationFailed
from bienestar.core.sql import insert_select_sql, insert_sql, mark_saved, select_list
from bienestar.facilities.models import Facility
from bienestar.inventory.dating import (
    balance_at,
    check_dated_balances,
    checked_at,
    is_backdated,
)
from bienestar.inventory.errors import InsufficientStock
from bienestar.inventory.models import (
    AdjustmentReason,
    Lot,
    LotStatus,
    MovementKind,
    StockMovement,
)
from bienestar.inventory.permissions import require_stock_write
from bienestar.inventory.supply_models import Shipment, ShipmentLine, ShipmentStatus
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
    """`at` or now; a movement dated in the future is refused (dating.checked_at)."""
    return checked_at(at)


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
    """Change a *locked* lot's balance by `quantity` in memory and return the (unsaved) ledger row;
    `_save` writes both."""
    new_balance = lot.quantity + quantity
    if new_balance < 0:
        raise InsufficientStock(
            medicine_key=lot.medicine_id, requested=-quantity, available=lot.quantity
        )
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


def _save(movements: list[StockMovement], *, keep_dates: bool = False) -> list[StockMovement]:
    """Write the new balance of every lot the movements changed and append the movements, in one
    statement.

    Each balance is written conditionally on the one read under the lock (the first movement's
    `balance_after - quantity`): with the row lock held it always matches; if a future caller forgets
    to lock, this fails loudly instead of silently losing an update. PostgreSQL assigns the ledger ids
    in list order, which keeps each lot's ledger in the order its balance changed (the running-sum
    check in checks.py relies on it).
    """
    if not movements:
        return movements
    # A backdated batch must leave every balance from its date on non-negative (dating.py).
    check_dated_balances(movements, every=keep_dates)
    balances: dict[int, tuple[int, int]] = {}
    for m in movements:
        read = balances[m.lot_id][0] if m.lot_id in balances else m.balance_after - m.quantity
        balances[m.lot_id] = (read, m.balance_after)
    rows = ", ".join(["(%s::bigint, %s::integer, %s::integer)"] * len(balances))
    params: list[Any] = [timezone.now()]
    for lot_id, (read, after) in balances.items():
        params += [lot_id, read, after]
    # A movement dated "now" is stamped by the database once the lots are locked (here, and in
    # `_lock_and_issue_from_first_lot`), so that rows dated now are in the order the balance
    # changed: a time taken before waiting for a lock could date a dispense before the receipt
    # whose units it took. A backdated batch keeps its date and was checked above.
    backdated = keep_dates or any(is_backdated(m.at) for m in movements)
    stamp = {} if backdated else {"at": "clock_timestamp()"}
    ledger, ledger_params = insert_sql(movements, computed=stamp)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""WITH balance AS (
                    UPDATE inventory_lot AS lot SET quantity = v.new_quantity, updated_at = %s
                    FROM (VALUES {rows}) AS v (id, old_quantity, new_quantity)
                    WHERE lot.id = v.id AND lot.quantity = v.old_quantity
                    RETURNING lot.id)
                {ledger} RETURNING id, (SELECT array_agg(id) FROM balance), at""",  # noqa: S608 - placeholders only
            params + ledger_params,
        )
        saved = cursor.fetchall()
    for m, row in zip(movements, saved, strict=True):
        m.at = row[2]
    written = set(saved[0][1] or ())
    if written != set(balances):
        missing = ", ".join(str(pk) for pk in sorted(set(balances) - written))
        raise RuntimeError(f"lot {missing} changed while it should have been locked")
    mark_saved(movements, [row[0] for row in saved])
    if backdated:
        from bienestar.inventory.snapshots import snapshots_refresh_after

        snapshots_refresh_after(movements)
    return movements


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


# No medicine keeps ten years: a later expiry is a typing error (9999-12-31, 2205 for 2025).
MAX_SHELF_LIFE_YEARS = 10


def latest_plausible_expiry(received_on: dt.date) -> dt.date:
    try:
        return received_on.replace(year=received_on.year + MAX_SHELF_LIFE_YEARS)
    except ValueError:  # 29 February
        return received_on.replace(year=received_on.year + MAX_SHELF_LIFE_YEARS, day=28)


def validate_expiry(expiry: dt.date, *, lot_number: str, received_on: dt.date) -> None:
    """A lot's expiry on receipt: not already past (an expired lot is not received) and not more
    than MAX_SHELF_LIFE_YEARS ahead (not plausible for a medicine). ValidationFailed otherwise."""
    if expiry < received_on:
        raise ValidationFailed(
            _("El lote %(lot)s ya está caducado (%(expiry)s): no se recibe.")
            % {"lot": lot_number, "expiry": expiry.isoformat()},
            field="expiry",
        )
    latest = latest_plausible_expiry(received_on)
    if expiry > latest:
        raise ValidationFailed(
            _(
                "La caducidad %(expiry)s del lote %(lot)s no es verosímil: ningún medicamento dura "
                "más de %(years)d años; revise la fecha (a más tardar %(latest)s)."
            )
            % {
                "expiry": expiry.isoformat(),
                "lot": lot_number,
                "years": MAX_SHELF_LIFE_YEARS,
                "latest": latest.isoformat(),
            },
            field="expiry",
        )


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
    expired or expiring implausibly far ahead (`validate_expiry`), a quantity that is not a
    positive integer, no lines.
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
        validate_expiry(line.expiry, lot_number=line.lot_number, received_on=today)
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
    if lot.status != LotStatus.USABLE:
        raise ValidationFailed(
            _("El lote no está utilizable (%(status)s): no se transfiere.")
            % {"status": LotStatus(lot.status).label.lower()},
            field="lot",
        )
    ctx = _Ctx(actor=actor, at=at, operation=uuid.uuid4())
    note = reference.strip()
    with transaction.atomic():
        target = _lot_for(to_facility, lot.medicine, lot.lot_number, lot.expiry)
        locked = _lock([lot.id, target.id])
        # Double entry linked by a shipment, received at once (shipments.py for the two-step kind).
        shipment = Shipment.objects.create(
            origin_id=lot.facility_id,
            destination=to_facility,
            status=ShipmentStatus.RECEIVED,
            operation=ctx.operation,
            dispatched_at=at,
            dispatched_by=actor.username,
            received_at=at,
            received_by=actor.username,
        )
        line = ShipmentLine.objects.create(
            shipment=shipment,
            medicine_id=lot.medicine_id,
            source_lot_id=lot.id,
            destination_lot=target,
            shipped=quantity,
            received=quantity,
        )
        out = _append(
            ctx,
            locked[lot.id],
            kind=MovementKind.TRANSFER_OUT,
            quantity=-quantity,
            reference=line.reference,
            note=note,
        )
        inbound = _append(
            ctx,
            locked[target.id],
            kind=MovementKind.TRANSFER_IN,
            quantity=quantity,
            reference=line.reference,
            note=note,
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
    count form was open is not undone: the count says what is on the shelf now. A count taken
    earlier (`at` in the past: the shelf was counted at 08:00 and entered at noon while dispensing
    went on) adjusts against the balance *at that time*, dated then; the dispenses after it stay,
    and if they would no longer fit in what was counted the count is refused (`NegativeAtDate`).
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
        backdated = is_backdated(ctx.at)
        for line in sorted(lines, key=lambda li: li.lot.id):
            lot = locked[line.lot.id]
            then = balance_at(lot.id, ctx.at) if backdated else lot.quantity
            difference = line.counted - then
            if difference:
                movements.append(
                    _append(
                        ctx, lot, kind=MovementKind.COUNT, quantity=difference, note=note.strip()
                    )
                )
        return _save(movements)


_USABLE_LOTS = """SELECT {columns} FROM inventory_lot AS lot
    WHERE lot.facility_id = %s AND lot.medicine_id = ANY(%s) AND lot.expiry >= %s
      AND lot.quantity > 0 AND lot.status = 'usable'
    ORDER BY lot.id FOR UPDATE"""


def usable_units(*, facility_id: int, keys: Iterable[str], today: dt.date) -> dict[str, int]:
    """Units of each key in the facility's usable lots (those `stock_issue_fefo` takes from, see
    `_USABLE_LOTS`); 0 for a key it does not hold. One query, no lock: for validations that read
    the shelf, not for taking units."""
    wanted = sorted(set(keys))
    found = dict(
        Lot.objects.filter(
            facility_id=facility_id,
            medicine_id__in=wanted,
            expiry__gte=today,
            quantity__gt=0,
            status=LotStatus.USABLE,
        )
        .values("medicine_id")
        .annotate(units=Sum("quantity"))
        .values_list("medicine_id", "units")
    )
    return {key: int(found.get(key) or 0) for key in wanted}


def _lock_usable_lots(facility_id: int, keys: list[str], today: dt.date) -> list[Lot]:
    """Lock, in id order, the facility's lots of these keys that hold units and are not expired, and
    read them (their latest versions: a lot changed while this waited for its lock is re-read)."""
    columns, attnames = select_list(Lot, "lot")
    with connection.cursor() as cursor:
        cursor.execute(_USABLE_LOTS.format(columns=columns), [facility_id, keys, today])
        return [Lot.from_db(connection.alias, attnames, row) for row in cursor.fetchall()]


def _lock_and_issue_from_first_lot(
    ctx: _Ctx, *, facility_id: int, issue: Issue, person_id: int, today: dt.date
) -> tuple[list[Lot], StockMovement | None]:
    """One issue in one statement, in the common case. The statement locks and reads the usable lots
    of the key exactly as `_lock_usable_lots` does (all of them, in id order); when the first of them
    in FEFO order holds every unit asked for, first-expiring-first-out takes them all from it, so the
    same statement also takes them (`UPDATE … WHERE quantity >= n`, on the version just locked) and
    appends the ledger row with the balance the UPDATE returns.

    Returns the locked lots (as read under the lock) and the movement, or None when the first lot
    holds fewer units or there is none: then nothing was written, and the caller goes on with the
    lots it holds locked.
    """
    movement = StockMovement(
        facility_id=facility_id,
        medicine_id=issue.medicine_key,
        kind=MovementKind.DISPENSE,
        quantity=-issue.quantity,
        reference=issue.reference,
        operation=ctx.operation,
        person_id=person_id,
        actor=ctx.actor.user,
        actor_username=ctx.actor.username,
        at=ctx.at,
    )
    ledger, ledger_params = insert_select_sql(
        movement,
        source="taken",
        # Stamped when the row is written, after the lots were locked (see `_save`).
        computed={
            "lot_id": "taken.id",
            "balance_after": "taken.quantity",
            "at": "clock_timestamp()",
        },
    )
    columns, attnames = select_list(Lot, "locked")
    lot_columns, _attnames = select_list(Lot, "lot")
    with connection.cursor() as cursor:
        # `locked` holds the rows' latest versions. The UPDATE reads the lot as of the statement's
        # start, finds it changed if another dispense committed meanwhile, and then re-checks
        # `quantity >= n` and computes the new balance on the latest version (which it holds).
        cursor.execute(
            f"""WITH locked AS ({_USABLE_LOTS.format(columns=lot_columns)}),
                first AS (SELECT id FROM locked ORDER BY expiry, id LIMIT 1),
                taken AS (
                    UPDATE inventory_lot AS lot SET quantity = lot.quantity - %s, updated_at = %s
                    FROM first WHERE lot.id = first.id AND lot.quantity >= %s
                    RETURNING lot.id, lot.quantity),
                moved AS ({ledger} RETURNING id, lot_id, balance_after, at)
                SELECT {columns}, moved.id, moved.balance_after, moved.at
                FROM locked LEFT JOIN moved ON moved.lot_id = locked.id
                ORDER BY locked.id""",  # noqa: S608 - placeholders and model columns
            [
                facility_id,
                [issue.medicine_key],
                today,
                issue.quantity,
                timezone.now(),
                issue.quantity,
                *ledger_params,
            ],
        )
        rows = cursor.fetchall()
    n = len(attnames)
    lots = [Lot.from_db(connection.alias, attnames, row[:n]) for row in rows]
    for lot, row in zip(lots, rows, strict=True):
        if row[n] is not None:
            movement.lot = lot
            movement.balance_after = lot.quantity = row[n + 1]
            movement.at = row[n + 2]
            mark_saved([movement], [row[n]])
            return lots, movement
    return lots, None


def stock_issue_fefo(
    actor: Actor,
    *,
    facility: Facility,
    issues: Sequence[Issue],
    person_id: int,
    at: dt.datetime | None = None,
    savepoint: bool = True,
) -> dict[str, list[StockMovement]]:
    """Internal: take units out of a pharmacy's stock for dispense lines, first-expiring-first-out.

    Called by `prescribing.services.dispense_record`, which checks DISPENSE and owns the transaction
    (and passes `savepoint=False`: a refusal here rolls its whole dispense back, so a savepoint of
    its own would only cost two round trips); this function checks no permission. Only lots that are not expired on the day of `at` are used,
    earliest expiry first (then oldest lot). All the lots of all the keys involved are locked in one
    statement, in id order, before any is read; if any key lacks units, `InsufficientStock` is raised
    before anything is written. Returns the movements per issue `reference`.

    A single issue that the first lot in FEFO order covers (the usual dispense of one line) is
    locked, checked and written in that same statement (`_lock_and_issue_from_first_lot`).
    """
    at = _now(at)
    today = timezone.localdate(at)
    demand: dict[str, int] = defaultdict(int)
    for issue in issues:
        demand[issue.medicine_key] += validate_units(issue.quantity, field="quantity")
    if not demand:
        return {}
    ctx = _Ctx(actor=actor, at=at, operation=uuid.uuid4())
    with transaction.atomic(savepoint=savepoint):
        if len(issues) == 1 and not is_backdated(at):
            # (A backdated dispense goes the long way: `_save` re-checks the later balances.)
            locked, moved = _lock_and_issue_from_first_lot(
                ctx, facility_id=facility.id, issue=issues[0], person_id=person_id, today=today
            )
            if moved is not None:
                return {issues[0].reference: [moved]}
        else:
            locked = _lock_usable_lots(facility.id, sorted(demand), today)
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
