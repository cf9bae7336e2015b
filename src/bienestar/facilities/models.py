"""Health establishments: health centres, hospitals, pharmacies, warehouses, coordination offices."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from bienestar.core.models import BaseModel
from bienestar.territories.models import Territory

CLUES_RE = re.compile(r"^[A-Z]{2}[A-Z]{3}\d{6}$")


def validate_clues(value: str) -> None:
    """CLUES: 2 letters of state, 3 of institution, 6 digits (e.g. HGIMB000011)."""
    if not CLUES_RE.match(value or ""):
        raise ValidationError(
            _(
                "CLUES inválida: %(value)s. Formato: 2 letras de estado, 3 de institución y 6 dígitos (p. ej. HGIMB000011)."
            ),
            params={"value": value},
            code="invalid_clues",
        )


class Institution(models.TextChoices):
    IMSS_BIENESTAR = "IMSS_BIENESTAR", "IMSS-Bienestar"
    IMSS = "IMSS", "IMSS"
    ISSSTE = "ISSSTE", "ISSSTE"
    STATE_SERVICES = "SSA", _("Servicios estatales de salud")
    PEMEX = "PEMEX", "Pemex"
    SEDENA = "SEDENA", "Sedena"
    SEMAR = "SEMAR", "Semar"
    PRIVATE = "PRIVATE", _("Privada")
    CO_PUBLIC = "CO_PUBLIC", _("Prestador público (Colombia)")
    CO_PRIVATE = "CO_PRIVATE", _("Prestador privado (Colombia)")
    OTHER = "OTHER", _("Otra")


# The three-letter institution code inside a CLUES key.
CLUES_INSTITUTION = {
    "IMB": Institution.IMSS_BIENESTAR,
    # IMSS-Oportunidades/Prospera: the rural programme that became IMSS-Bienestar's own network.
    "IMO": Institution.IMSS_BIENESTAR,
    "IMS": Institution.IMSS,
    "IST": Institution.ISSSTE,
    "SSA": Institution.STATE_SERVICES,
    "PMX": Institution.PEMEX,
    "SDN": Institution.SEDENA,
    "SMA": Institution.SEMAR,
    "SMP": Institution.PRIVATE,
}


class FacilityType(models.TextChoices):
    HEALTH_CENTRE = "health_centre", _("Centro de salud")
    GENERAL_HOSPITAL = "general_hospital", _("Hospital general")
    SPECIALTY_HOSPITAL = "specialty_hospital", _("Hospital de especialidad")
    RURAL_HOSPITAL = "rural_hospital", _("Hospital comunitario rural")
    PHARMACY = "pharmacy", _("Farmacia")
    WAREHOUSE = "warehouse", _("Almacén")
    COORDINATION = "coordination", _("Coordinación estatal")
    OTHER = "other", _("Otro establecimiento")


class LevelOfCare(models.IntegerChoices):
    FIRST = 1, _("Primer nivel")
    SECOND = 2, _("Segundo nivel")
    THIRD = 3, _("Tercer nivel")


class Facility(BaseModel):
    clues = models.CharField(
        max_length=11, unique=True, null=True, blank=True, validators=[validate_clues]
    )
    other_code = models.CharField(
        max_length=30, blank=True, help_text=_("Código REPS u otro código oficial")
    )
    name = models.CharField(max_length=250)
    institution = models.CharField(max_length=20, choices=Institution.choices)
    facility_type = models.CharField(max_length=30, choices=FacilityType.choices)
    level_of_care = models.PositiveSmallIntegerField(
        choices=LevelOfCare.choices, default=LevelOfCare.FIRST
    )
    territory = models.ForeignKey(Territory, on_delete=models.PROTECT, related_name="facilities")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    beds = models.PositiveIntegerField(default=0)
    consulting_rooms = models.PositiveIntegerField(default=0)
    operating_rooms = models.PositiveIntegerField(default=0)
    delivery_rooms = models.PositiveIntegerField(default=0)
    open_24_hours = models.BooleanField(default=False)
    open_7_days = models.BooleanField(default=False)
    in_operation = models.BooleanField(default=True)
    address = models.CharField(max_length=300, blank=True)
    source = models.CharField(max_length=200, blank=True)
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        help_text=_("Zona horaria IANA; vacía: la de su estado (scheduling.timezones)"),
    )

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["institution", "facility_type"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(clues__isnull=True)
                | models.Q(clues__regex=r"^[A-Z]{2}[A-Z]{3}[0-9]{6}$"),
                name="facility_clues_format",
            ),
        ]
        verbose_name = _("establecimiento")
        verbose_name_plural = _("establecimientos")

    def __str__(self) -> str:
        return f"{self.name} ({self.clues or self.other_code})"


class OpeningHours(BaseModel):
    """Opening hours per weekday (0 = Monday). A facility open 24 hours has `open_24_hours` set."""

    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField()
    opens = models.TimeField()
    closes = models.TimeField()

    class Meta:
        ordering = ["facility", "weekday", "opens"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(weekday__lte=6), name="opening_hours_weekday"
            ),
        ]
