"""The supply network around the stock ledger: which node supplies which, lot status changes,
reversals, requisitions, shipments (the link between the two halves of a transfer) and daily stock
snapshots.

Nothing here adds a column or a unique constraint to the ledger table (`inventory_stockmovement`,
which may be partitioned by time): a shipment line names its movements through the ledger's
`reference` (`shipline:<id>`), and a reversal is recorded in `LedgerReversal`, whose unique
`original_id` makes "cancelled at most once" a database rule.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from bienestar.core.models import BaseModel

SHIPMENT_LINE_REFERENCE = "shipline:{id}"


class NodeLevel(models.TextChoices):
    NATIONAL_DC = "national_dc", _("Centro nacional de distribución")
    STATE_WAREHOUSE = "state_warehouse", _("Almacén estatal")
    HOSPITAL_PHARMACY = "hospital_pharmacy", _("Farmacia hospitalaria")
    UNIT_PHARMACY = "unit_pharmacy", _("Farmacia de unidad")


# A node is supplied only by a node of a higher level (a lower rank).
NODE_RANK = {
    NodeLevel.NATIONAL_DC: 0,
    NodeLevel.STATE_WAREHOUSE: 1,
    NodeLevel.HOSPITAL_PHARMACY: 2,
    NodeLevel.UNIT_PHARMACY: 3,
}


class SupplyNode(BaseModel):
    """A facility's place in the distribution network and its replenishment parameters.

    `supplier` is the node that may supply this one (requisitions go to it, shipments come from it);
    the national distribution centre has none.
    """

    facility = models.OneToOneField(
        "facilities.Facility", on_delete=models.PROTECT, related_name="supply_node"
    )
    level = models.CharField(max_length=20, choices=NodeLevel.choices)
    supplier = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="clients"
    )
    lead_time_days = models.PositiveSmallIntegerField(default=15)
    safety_days = models.PositiveSmallIntegerField(default=15)
    review_days = models.PositiveSmallIntegerField(
        default=30, help_text=_("Intervalo de revisión (un pedido al mes: 30 días)")
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(supplier=F("id")), name="supplynode_not_own_supplier"
            ),
        ]
        verbose_name = _("nodo de la red de abasto")
        verbose_name_plural = _("nodos de la red de abasto")

    def __str__(self) -> str:
        return f"{self.get_level_display()} {self.facility_id}"


class LotStatusChange(models.Model):
    """History of a lot's status (quarantine on delivery, release after inspection, recall)."""

    id = models.BigAutoField(primary_key=True)
    lot = models.ForeignKey(
        "inventory.Lot", on_delete=models.PROTECT, related_name="status_changes"
    )
    from_status = models.CharField(max_length=12)
    to_status = models.CharField(max_length=12)
    note = models.CharField(max_length=300, blank=True)
    actor_username = models.CharField(max_length=150)
    at = models.DateTimeField()

    class Meta:
        ordering = ["-id"]


class LedgerReversal(models.Model):
    """A cancelled ledger row and the reversal that cancels it (dated on the original's `at`)."""

    id = models.BigAutoField(primary_key=True)
    original_id = models.BigIntegerField(unique=True)
    reversal_id = models.BigIntegerField(unique=True)
    lot = models.ForeignKey("inventory.Lot", on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    reason = models.CharField(max_length=300)
    actor_username = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)


class RequisitionKind(models.TextChoices):
    PULL = "pull", _("Solicitud de la unidad")
    PUSH = "push", _("Envío programado del almacén (kit mensual)")


class RequisitionStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Enviada, por aprobar")
    APPROVED = "approved", _("Aprobada, por surtir")
    REJECTED = "rejected", _("Rechazada")
    SHIPPED = "shipped", _("Surtida, en tránsito")
    RECEIVED = "received", _("Recibida")


class Requisition(BaseModel):
    requester = models.ForeignKey(
        "facilities.Facility", on_delete=models.PROTECT, related_name="requisitions"
    )
    supplier = models.ForeignKey(
        "facilities.Facility", on_delete=models.PROTECT, related_name="requisitions_to_fill"
    )
    kind = models.CharField(max_length=8, choices=RequisitionKind.choices)
    status = models.CharField(max_length=12, choices=RequisitionStatus.choices)
    note = models.CharField(max_length=300, blank=True)
    created_by = models.CharField(max_length=150)
    decided_by = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["supplier", "status"], name="requisition_supplier_status"),
            models.Index(fields=["requester", "status"], name="requisition_requester_status"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(requester=F("supplier")), name="requisition_not_to_itself"
            ),
        ]
        verbose_name = _("requisición")
        verbose_name_plural = _("requisiciones")


class RequisitionLine(models.Model):
    id = models.BigAutoField(primary_key=True)
    requisition = models.ForeignKey(Requisition, on_delete=models.CASCADE, related_name="lines")
    medicine = models.ForeignKey("terminology.Medicine", on_delete=models.PROTECT, related_name="+")
    suggested = models.IntegerField(default=0)
    requested = models.IntegerField()
    approved = models.IntegerField(null=True, blank=True)

    class Meta:
        ordering = ["medicine_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["requisition", "medicine"], name="requisitionline_one_per_key"
            ),
            models.CheckConstraint(condition=Q(requested__gt=0), name="requisitionline_positive"),
            models.CheckConstraint(
                condition=Q(approved__isnull=True) | Q(approved__gte=0),
                name="requisitionline_approved_not_negative",
            ),
        ]


class ShipmentStatus(models.TextChoices):
    IN_TRANSIT = "in_transit", _("Despachado, en tránsito")
    RECEIVED = "received", _("Recibido")


class DifferenceReason(models.TextChoices):
    DAMAGED = "damaged", _("Llegó dañado")
    SHORT = "short", _("Faltante")
    EXPIRED = "expired", _("Llegó caducado")


class Shipment(BaseModel):
    """Units on their way from one node to another: the link between a `transfer_out` at the origin
    (at dispatch) and a `transfer_in` at the destination (at receipt). In transit = shipped -
    received - declared differences, per line; zero once received."""

    requisition = models.ForeignKey(
        Requisition, null=True, blank=True, on_delete=models.PROTECT, related_name="shipments"
    )
    origin = models.ForeignKey(
        "facilities.Facility", on_delete=models.PROTECT, related_name="shipments_out"
    )
    destination = models.ForeignKey(
        "facilities.Facility", on_delete=models.PROTECT, related_name="shipments_in"
    )
    status = models.CharField(max_length=12, choices=ShipmentStatus.choices)
    operation = models.UUIDField(default=uuid.uuid4)
    dispatched_at = models.DateTimeField()
    dispatched_by = models.CharField(max_length=150)
    received_at = models.DateTimeField(null=True, blank=True)
    received_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-dispatched_at", "-id"]
        indexes = [
            models.Index(fields=["destination", "status"], name="shipment_destination_status"),
            models.Index(fields=["origin", "status"], name="shipment_origin_status"),
        ]
        verbose_name = _("envío")
        verbose_name_plural = _("envíos")


class ShipmentLine(models.Model):
    id = models.BigAutoField(primary_key=True)
    shipment = models.ForeignKey(Shipment, on_delete=models.PROTECT, related_name="lines")
    medicine = models.ForeignKey("terminology.Medicine", on_delete=models.PROTECT, related_name="+")
    source_lot = models.ForeignKey("inventory.Lot", on_delete=models.PROTECT, related_name="+")
    destination_lot = models.ForeignKey(
        "inventory.Lot", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    shipped = models.IntegerField()
    received = models.IntegerField(null=True, blank=True)
    difference_reason = models.CharField(
        max_length=10, choices=DifferenceReason.choices, blank=True
    )

    class Meta:
        ordering = ["medicine_id", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(shipped__gt=0), name="shipmentline_positive"),
            models.CheckConstraint(
                condition=Q(received__isnull=True)
                | (Q(received__gte=0) & Q(received__lte=F("shipped"))),
                name="shipmentline_received_within_shipped",
            ),
            models.CheckConstraint(
                condition=Q(received__isnull=True)
                | Q(received=F("shipped"))
                | ~Q(difference_reason=""),
                name="shipmentline_difference_has_reason",
            ),
        ]

    @property
    def reference(self) -> str:
        return SHIPMENT_LINE_REFERENCE.format(id=self.id)

    @property
    def difference(self) -> int:
        return 0 if self.received is None else self.shipped - self.received


class StockSnapshot(models.Model):
    """End-of-day stock of one key at one facility, derived from the ledger (never written by hand):
    `usable` counts the units of lots not expired on that day. Rebuilt by
    `inventory.snapshots.snapshot_build` (idempotent) and refreshed by any backdated entry;
    `bienestar verify` recomputes them from the ledger so that a stale table is reported."""

    id = models.BigAutoField(primary_key=True)
    facility = models.ForeignKey("facilities.Facility", on_delete=models.CASCADE, related_name="+")
    medicine = models.ForeignKey("terminology.Medicine", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    usable = models.IntegerField()
    on_hand = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["facility", "medicine", "day"], name="stocksnapshot_one_per_day"
            ),
        ]
        indexes = [models.Index(fields=["day"], name="stocksnapshot_day")]


__all__ = [
    "DifferenceReason",
    "LedgerReversal",
    "LotStatusChange",
    "NodeLevel",
    "Requisition",
    "RequisitionKind",
    "RequisitionLine",
    "RequisitionStatus",
    "Shipment",
    "ShipmentLine",
    "ShipmentStatus",
    "StockSnapshot",
    "SupplyNode",
]
