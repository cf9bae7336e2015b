"""Prescriptions (recetas) with lines from the national catalogue, and their dispensing.

A prescription lives `valid_until` a date (15 days by default, the IMSS voucher rule); whatever is not
dispensed at the first visit stays as a pending balance (vale) that any pharmacy of the network can
fill while the prescription is valid. Dispensing rows carry the person's id and the pharmacy so that
these tables can be partitioned by time and sharded by person later.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from bienestar.core.models import BaseModel

# The IMSS rule: a voucher for an unfilled remainder is redeemable for 15 days. Deployments with a
# different rule set BIENESTAR_PRESCRIPTION_VALIDITY_DAYS in their settings.
DEFAULT_VALIDITY_DAYS = 15


def validity_days() -> int:
    return int(getattr(settings, "BIENESTAR_PRESCRIPTION_VALIDITY_DAYS", DEFAULT_VALIDITY_DAYS))


class PrescriptionStatus(models.TextChoices):
    ACTIVE = "active", _("Vigente")
    PARTIALLY_DISPENSED = "partially_dispensed", _("Surtida parcialmente")
    COMPLETED = "completed", _("Surtida completa")
    CANCELLED = "cancelled", _("Cancelada")
    EXPIRED = "expired", _("Vencida")


DISPENSABLE = (PrescriptionStatus.ACTIVE, PrescriptionStatus.PARTIALLY_DISPENSED)


# "Dispensable on a given day" has one definition: a dispensable status and `valid_until` not yet
# passed. `Prescription.status_on` applies it to one row; the two filters below apply it to a
# query (`prefix` is the path to the prescription, e.g. "prescription__" from a line).
def dispensable_on_q(day: dt.date, *, prefix: str = "") -> Q:
    """The prescriptions that can still be dispensed on `day`."""
    return Q(**{f"{prefix}status__in": DISPENSABLE, f"{prefix}valid_until__gte": day})


def lapsed_on_q(day: dt.date, *, prefix: str = "") -> Q:
    """The prescriptions still marked dispensable that are expired on `day` (the nightly job has
    not yet written them as expired)."""
    return Q(**{f"{prefix}status__in": DISPENSABLE, f"{prefix}valid_until__lt": day})


class LineStatus(models.TextChoices):
    PENDING = "pending", _("Pendiente")
    PARTIALLY_DISPENSED = "partially_dispensed", _("Surtido parcial")
    COMPLETED = "completed", _("Surtido completo")


class UnfilledReason(models.TextChoices):
    OUT_OF_STOCK = "out_of_stock", _("Sin existencia")
    NOT_IN_CATALOGUE = "not_in_catalogue", _("No incluido en el catálogo de la farmacia")
    PATIENT_DECLINED = "patient_declined", _("El paciente no lo aceptó")
    PRESCRIBER_CHANGED = "prescriber_changed", _("El médico cambió la indicación")
    OTHER = "other", _("Otro motivo")


class Prescription(BaseModel):
    code = models.CharField(
        max_length=9, unique=True, editable=False, help_text=_("Código de verificación")
    )
    person = models.ForeignKey(
        "people.Person", on_delete=models.PROTECT, related_name="prescriptions"
    )
    facility = models.ForeignKey(
        "facilities.Facility",
        on_delete=models.PROTECT,
        related_name="prescriptions",
        help_text=_("Establecimiento que prescribe"),
    )
    encounter = models.ForeignKey(
        "clinical.Encounter",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="prescriptions",
    )
    prescriber = models.ForeignKey(
        "workforce.Practitioner",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="prescriptions",
    )
    prescribed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    authored_at = models.DateTimeField()
    valid_until = models.DateField(help_text=_("Surtible hasta este día inclusive"))
    status = models.CharField(
        max_length=20, choices=PrescriptionStatus.choices, default=PrescriptionStatus.ACTIVE
    )
    note = models.CharField(max_length=500, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cancel_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-authored_at", "-id"]
        indexes = [
            models.Index(fields=["person", "-authored_at"], name="prescription_person"),
            models.Index(fields=["facility", "authored_at"], name="prescription_facility"),
            models.Index(fields=["status", "valid_until"], name="prescription_status_valid"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=r"^[2-9A-HJ-NP-TV-Z]{9}$"), name="prescription_code_format"
            ),
            models.CheckConstraint(
                condition=Q(status="cancelled", cancelled_at__isnull=False)
                | (~Q(status="cancelled") & Q(cancelled_at__isnull=True)),
                name="prescription_cancelled_has_time",
            ),
        ]
        verbose_name = _("receta")
        verbose_name_plural = _("recetas")

    def __str__(self) -> str:
        return f"Receta {self.code}"

    def status_on(self, day: dt.date) -> str:
        """The status as of `day`: a dispensable prescription past `valid_until` is expired even
        before the nightly `prescriptions_expire` job has written it."""
        if self.status in DISPENSABLE and day > self.valid_until:  # as lapsed_on_q
            return PrescriptionStatus.EXPIRED
        return self.status

    @property
    def version(self) -> str:
        """Changes whenever the prescription is dispensed or cancelled (every service saves
        `updated_at`): a form carries it so that a form sent twice is not recorded twice."""
        return self.updated_at.isoformat()

    def is_dispensable_on(self, day: dt.date) -> bool:
        return self.status_on(day) in DISPENSABLE


class PrescriptionLine(BaseModel):
    prescription = models.ForeignKey(Prescription, on_delete=models.PROTECT, related_name="lines")
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    facility = models.ForeignKey("facilities.Facility", on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField()
    medicine = models.ForeignKey("terminology.Medicine", on_delete=models.PROTECT, related_name="+")
    dose = models.CharField(max_length=80, help_text=_("p. ej. 1 tableta"))
    frequency = models.CharField(max_length=80, help_text=_("p. ej. cada 12 horas"))
    duration_days = models.PositiveSmallIntegerField()
    instructions = models.CharField(max_length=300, blank=True)
    quantity = models.PositiveIntegerField(help_text=_("Unidades a surtir"))
    dispensed_quantity = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=20, choices=LineStatus.choices, default=LineStatus.PENDING)
    fully_dispensed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["prescription", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["prescription", "position"], name="prescription_line_position"
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="line_quantity_positive"),
            models.CheckConstraint(
                condition=Q(dispensed_quantity__lte=F("quantity")),
                name="line_dispensed_within_quantity",
            ),
            models.CheckConstraint(
                condition=Q(status="pending", dispensed_quantity=0)
                | Q(
                    status="partially_dispensed",
                    dispensed_quantity__gt=0,
                    dispensed_quantity__lt=F("quantity"),
                )
                | Q(
                    status="completed",
                    dispensed_quantity=F("quantity"),
                    fully_dispensed_at__isnull=False,
                ),
                name="line_status_matches_quantities",
            ),
        ]
        verbose_name = _("renglón de receta")
        verbose_name_plural = _("renglones de receta")

    @property
    def remaining(self) -> int:
        return self.quantity - self.dispensed_quantity


class Dispense(BaseModel):
    """One visit to a pharmacy against one prescription: what was handed over, line by line."""

    prescription = models.ForeignKey(
        Prescription, on_delete=models.PROTECT, related_name="dispenses"
    )
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    pharmacy = models.ForeignKey(
        "facilities.Facility", on_delete=models.PROTECT, related_name="dispenses"
    )
    dispensed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField()
    # SHA-256 of what was asked (lines, quantities, reasons) when recorded under an idempotency
    # key: a repeat of the key with other content is refused rather than answered with this one.
    request_digest = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["pharmacy", "at"], name="dispense_pharmacy_at"),
            models.Index(fields=["person", "at"], name="dispense_person_at"),
        ]
        verbose_name = _("surtimiento")
        verbose_name_plural = _("surtimientos")


class DispenseLine(BaseModel):
    """A prescription line at one dispense: units handed over, and why the rest (if any) was not.

    `unfilled_quantity` is what the line still lacked after this dispense (the voucher's balance);
    a reason is required whenever it is above zero. The stock movements of this line carry
    `reference = "dispense-line:<public_id>"`.
    """

    dispense = models.ForeignKey(Dispense, on_delete=models.PROTECT, related_name="lines")
    prescription_line = models.ForeignKey(
        PrescriptionLine, on_delete=models.PROTECT, related_name="dispense_lines"
    )
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    pharmacy = models.ForeignKey("facilities.Facility", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    unfilled_quantity = models.PositiveIntegerField(default=0)
    unfilled_reason = models.CharField(max_length=20, choices=UnfilledReason.choices, blank=True)
    unfilled_note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["dispense", "prescription_line__position"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0) | Q(unfilled_quantity__gt=0),
                name="dispense_line_not_empty",
            ),
            models.CheckConstraint(
                condition=Q(unfilled_quantity=0) | ~Q(unfilled_reason=""),
                name="dispense_line_unfilled_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(unfilled_reason="other") | ~Q(unfilled_note=""),
                name="dispense_line_other_has_note",
            ),
        ]
        verbose_name = _("renglón surtido")
        verbose_name_plural = _("renglones surtidos")

    @property
    def stock_reference(self) -> str:
        return stock_reference(self.public_id)


def stock_reference(dispense_line_public_id: object) -> str:
    return f"dispense-line:{dispense_line_public_id}"
