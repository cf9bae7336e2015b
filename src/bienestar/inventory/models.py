"""Stock per facility: lots with expiry, a balance per lot, and an append-only ledger of movements.

The national catalogue (what a medicine *is*) is `terminology.Medicine`; this app records how many
units of each lot a facility holds and every change to that number. Two invariants hold at all times
and are checked by `bienestar verify` (see `checks.py`):

- a lot's `quantity` is never negative (CHECK constraint, and the services refuse first);
- a lot's `quantity` equals the sum of its ledger's signed quantities, and every movement's
  `balance_after` is the running sum up to and including it.

The services in `services.py` are the only writers; the locking strategy is in
docs/adr/0005-stock-locking.md.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from bienestar.core.models import BaseModel


class LotStatus(models.TextChoices):
    """What may be done with a lot's units. `expired` is also implied by the expiry date: a lot
    whose expiry has passed is never dispensed or shipped, whatever its stored status."""

    USABLE = "usable", _("Utilizable")
    QUARANTINED = "quarantined", _("En cuarentena")
    EXPIRED = "expired", _("Caducado")
    RECALLED = "recalled", _("Retirado (alerta sanitaria)")


class Lot(BaseModel):
    """A lot (lote) of one catalogue medicine held at one facility, with its current balance.

    The same manufacturer's lot at two facilities is two rows (a transfer moves units between them),
    so that each facility's balance is locked and counted independently.
    """

    facility = models.ForeignKey(
        "facilities.Facility", on_delete=models.PROTECT, related_name="lots"
    )
    medicine = models.ForeignKey(
        "terminology.Medicine", on_delete=models.PROTECT, related_name="lots"
    )
    lot_number = models.CharField(max_length=40)
    expiry = models.DateField(help_text=_("Caducidad: utilizable hasta ese día inclusive"))
    quantity = models.IntegerField(default=0, help_text=_("Existencia en unidades"))
    manufacturer = models.CharField(max_length=120, blank=True, default="", db_default="")
    status = models.CharField(
        max_length=12,
        choices=LotStatus.choices,
        default="usable",
        db_default="usable",
        help_text=_("Solo un lote utilizable y no caducado se surte o se envía "),
    )

    class Meta:
        ordering = ["facility", "medicine", "expiry", "id"]
        indexes = [
            models.Index(fields=["facility", "medicine", "expiry"], name="lot_fefo"),
            models.Index(fields=["facility", "expiry"], name="lot_facility_expiry"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=0), name="lot_quantity_not_negative"),
            models.UniqueConstraint(
                fields=["facility", "medicine", "lot_number"], name="lot_unique_per_facility"
            ),
        ]
        verbose_name = _("lote")
        verbose_name_plural = _("lotes")

    def __str__(self) -> str:
        return f"{self.medicine_id} lote {self.lot_number} ({self.expiry:%Y-%m-%d})"

    def effective_status(self, today: dt.date) -> str:
        """The stored status, except that a usable lot past its expiry is expired."""
        if self.status == LotStatus.USABLE and self.expiry < today:
            return LotStatus.EXPIRED
        return self.status

    def is_usable(self, today: dt.date) -> bool:
        return self.effective_status(today) == LotStatus.USABLE


class MovementKind(models.TextChoices):
    RECEIPT = "receipt", _("Entrada (recepción)")
    DISPENSE = "dispense", _("Salida por surtimiento")
    ADJUSTMENT = "adjustment", _("Ajuste")
    TRANSFER_OUT = "transfer_out", _("Transferencia (salida)")
    TRANSFER_IN = "transfer_in", _("Transferencia (entrada)")
    EXPIRY_WRITE_OFF = "expiry_write_off", _("Baja por caducidad")
    COUNT = "count", _("Conciliación de inventario físico")
    REVERSAL = "reversal", _("Cancelación (reverso de un movimiento)")


class AdjustmentReason(models.TextChoices):
    DAMAGED = "damaged", _("Daño o rotura")
    LOST = "lost", _("Extravío o robo")
    FOUND = "found", _("Unidades encontradas")
    RECORDING_ERROR = "recording_error", _("Corrección de un registro erróneo")
    RECALL = "recall", _("Retiro sanitario")
    OTHER = "other", _("Otro")


# Kinds whose signed quantity always has one sign; adjustments and count reconciliations go either way.
# Plain strings, so that the migration does not import this module's enums.
_POSITIVE_KINDS = ["receipt", "transfer_in"]
_NEGATIVE_KINDS = ["dispense", "transfer_out", "expiry_write_off"]


class StockMovement(models.Model):
    """One line of the ledger. Append-only: the database refuses UPDATE and DELETE (migration 0002).

    `facility_id` and `medicine_id` repeat the lot's so that the ledger can be partitioned by time
    and read per facility without a join; `person_id` is set on dispenses (the person who received the
    units), never shown in stock pages. `operation` groups the movements of one service call (the lines
    of a delivery, both halves of a transfer); `reference` names what caused it (e.g. a dispense line).
    """

    id = models.BigAutoField(primary_key=True)
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="movements")
    facility = models.ForeignKey("facilities.Facility", on_delete=models.PROTECT, related_name="+")
    medicine = models.ForeignKey("terminology.Medicine", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=MovementKind.choices)
    quantity = models.IntegerField(help_text=_("Unidades con signo: + entra, - sale"))
    balance_after = models.IntegerField()
    reason = models.CharField(max_length=20, choices=AdjustmentReason.choices, blank=True)
    note = models.CharField(max_length=300, blank=True)
    reference = models.CharField(max_length=80, blank=True, db_index=True)
    operation = models.UUIDField(db_index=True)
    person_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_username = models.CharField(max_length=150)
    at = models.DateTimeField()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["lot", "id"], name="movement_lot_id"),
            # Balances by date (dating.py): a lot's rows in time order.
            models.Index(fields=["lot", "at"], name="movement_lot_at"),
            models.Index(fields=["facility", "medicine", "at"], name="movement_facility_medicine"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(quantity=0), name="movement_quantity_not_zero"),
            models.CheckConstraint(
                condition=Q(balance_after__gte=0), name="movement_balance_not_negative"
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=_POSITIVE_KINDS) | Q(quantity__gt=0),
                name="movement_inbound_positive",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=_NEGATIVE_KINDS) | Q(quantity__lt=0),
                name="movement_outbound_negative",
            ),
            models.CheckConstraint(
                condition=~Q(kind="adjustment") | ~Q(reason=""),
                name="movement_adjustment_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(kind="dispense") | Q(person_id__isnull=False),
                name="movement_dispense_has_person",
            ),
        ]
        default_permissions = ("view",)
        verbose_name = _("movimiento de inventario")
        verbose_name_plural = _("movimientos de inventario")

    def __str__(self) -> str:
        return f"{self.kind} {self.quantity:+d} → {self.balance_after}"


# The supply network, lot statuses, reversals, shipments and snapshots live in their own module.
from bienestar.inventory.supply_models import *  # noqa: E402, F403
