"""Cancelling a ledger row: the ledger is append-only, so a cancellation is a *reversal*, a new row
of the opposite quantity dated on the original's `at` (the books then read as if the original never
happened, from its date on), recorded once in `LedgerReversal` (unique on the original).

What can be reversed: receipts, adjustments and count reconciliations. A dispense is cancelled in
prescribing (the dispense record changes with it); a transfer half belongs to a shipment, whose
receipt records any difference; a reversal is not reversed again (record the movement anew).
Like every backdated row, a reversal is refused if it would leave the lot negative on any date
since the original (`dating.NegativeAtDate`), and it refreshes the snapshots after that date.
"""

from __future__ import annotations

import uuid

from django.db import transaction
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.core.errors import Conflict, ValidationFailed
from bienestar.inventory.models import MovementKind, StockMovement
from bienestar.inventory.permissions import require_stock_write
from bienestar.inventory.services import _append, _Ctx, _lock, _save
from bienestar.inventory.supply_models import LedgerReversal

REVERSIBLE = {MovementKind.RECEIPT, MovementKind.ADJUSTMENT, MovementKind.COUNT}


def stock_reverse(actor: Actor, *, movement: StockMovement, reason: str) -> StockMovement:
    """Cancel `movement` with a reversal dated on it; returns the reversal row."""
    require_stock_write(actor, movement.lot.facility)
    reason = reason.strip()
    if not reason:
        raise ValidationFailed(_("Indique el motivo de la cancelación."), field="reason")
    if len(reason) > 300:
        raise ValidationFailed(_("El motivo es demasiado largo."), field="reason")
    if movement.kind not in REVERSIBLE:
        raise Conflict(
            _("Un movimiento de tipo «%(kind)s» no se cancela aquí.")
            % {"kind": MovementKind(movement.kind).label},
            field="movement",
        )
    ctx = _Ctx(actor=actor, at=movement.at, operation=uuid.uuid4())
    with transaction.atomic():
        lot = _lock([movement.lot_id])[movement.lot_id]
        # Checked under the lot's lock; the unique original_id is the database's guarantee.
        if LedgerReversal.objects.filter(original_id=movement.id).exists():
            raise Conflict(_("Este movimiento ya fue cancelado."), field="movement")
        row = _append(
            ctx,
            lot,
            kind=MovementKind.REVERSAL,
            quantity=-movement.quantity,
            reference=f"reversal:{movement.public_id}",
            note=reason,
        )
        _save([row], keep_dates=True)
        LedgerReversal.objects.create(
            original_id=movement.id,
            reversal_id=row.id,
            lot_id=lot.id,
            at=movement.at,
            reason=reason,
            actor_username=actor.username,
        )
        return row
