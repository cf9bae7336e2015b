"""Referrals between units and levels of care, and the counter-referral that answers them.

One model for every door that sends a person elsewhere: the clinic's referral form, the outreach
team's flag after a household screening, and the JSON API. It follows FHIR's ServiceRequest (what
is asked, why, how urgently) with a Task's states (who holds it now and where it stands).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from bienestar.core.models import BaseModel
from bienestar.facilities.models import Facility
from bienestar.people.models import Person
from bienestar.workforce.models import Specialty


class Priority(models.TextChoices):
    ROUTINE = "routine", _("Ordinaria")
    URGENT = "urgent", _("Urgente")
    EMERGENCY = "emergency", _("Emergencia")


# How long the receiving unit has to act on a referral before it expires (NOM-027 and the
# institutions' referral manuals: an emergency is answered within hours).
DEADLINES = {
    Priority.EMERGENCY: dt.timedelta(hours=12),
    Priority.URGENT: dt.timedelta(days=3),
    Priority.ROUTINE: dt.timedelta(days=30),
}


class CareRoute(models.TextChoices):
    NONE = "", _("Sin ruta específica")
    MATERNAL = "maternal_perinatal", _("Materno-perinatal")
    CARDIO_METABOLIC = "cardio_metabolic", _("Cardio-cerebrovascular-metabólica")
    PROMOTION = "promotion_maintenance", _("Promoción y mantenimiento de la salud")


class Origin(models.TextChoices):
    CLINIC = "clinic", _("Consulta")
    OUTREACH = "outreach", _("Visita domiciliaria")
    API = "api", _("Otra institución")


class ReferralStatus(models.TextChoices):
    DRAFT = "draft", _("Borrador")
    REQUESTED = "requested", _("Enviada")
    RECEIVED = "received", _("Recibida")
    ACCEPTED = "accepted", _("Aceptada")
    REJECTED = "rejected", _("Rechazada")
    SCHEDULED = "scheduled", _("Con cita")
    ATTENDED = "attended", _("Atendida")
    COMPLETED = "completed", _("Cerrada con contrarreferencia")
    FAILED = "failed", _("Fallida")
    CANCELLED = "cancelled", _("Cancelada")


OPEN = (
    ReferralStatus.REQUESTED,
    ReferralStatus.RECEIVED,
    ReferralStatus.ACCEPTED,
    ReferralStatus.SCHEDULED,
)


class Referral(BaseModel):
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="referrals")
    origin_facility = models.ForeignKey(
        Facility, on_delete=models.PROTECT, related_name="referrals_sent"
    )
    destination_facility = models.ForeignKey(
        Facility, on_delete=models.PROTECT, related_name="referrals_received"
    )
    specialty = models.ForeignKey(
        Specialty, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.CLINIC)
    priority = models.CharField(max_length=10, choices=Priority.choices)
    care_route = models.CharField(max_length=30, choices=CareRoute.choices, blank=True)
    reason = models.CharField(max_length=500)
    diagnosis_code = models.CharField(max_length=10, help_text=_("CIE-10 presuntivo"))
    diagnosis_text = models.CharField(max_length=300)
    clinical_summary = models.TextField(blank=True)
    # The latest vital signs when the referral was written: [{code, label, value, unit, at}].
    vitals = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=12, choices=ReferralStatus.choices)
    requested_at = models.DateTimeField(null=True, blank=True)
    due_by = models.DateTimeField(null=True, blank=True)
    status_reason = models.CharField(max_length=300, blank=True)
    appointment = models.OneToOneField(
        "scheduling.Appointment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="referral",
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["destination_facility", "status"]),
            models.Index(fields=["origin_facility", "status"]),
            models.Index(fields=["person", "-created_at"]),
            models.Index(fields=["status", "due_by"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(origin_facility=models.F("destination_facility")),
                name="referral_to_another_unit",
            ),
        ]


class CounterReferral(BaseModel):
    """The receiving unit's answer: was the person seen, what was found, what to do back home."""

    referral = models.OneToOneField(
        Referral, on_delete=models.PROTECT, related_name="counter_referral"
    )
    attended = models.BooleanField()
    not_attended_reason = models.CharField(max_length=300, blank=True)
    diagnosis_code = models.CharField(max_length=10, blank=True)
    diagnosis_text = models.CharField(max_length=300, blank=True)
    plan = models.TextField(blank=True)
    return_instructions = models.TextField(blank=True)
    written_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )


class ReferralChange(models.Model):
    id = models.BigAutoField(primary_key=True)
    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="changes")
    at = models.DateTimeField()
    by = models.CharField(max_length=150)
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12)
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]
