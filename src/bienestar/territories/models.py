"""Territories: Mexico's INEGI hierarchy and Bogotá's localidades, UPZ and cadastral sectors.

Every territory carries a materialised `path` (e.g. `MX.20.067.0001`, `CO.11001.L08.U080.S0123`)
so that "inside this territory" is an indexed prefix match; access scoping relies on it.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from bienestar.core.models import BaseModel


class TerritoryKind(models.TextChoices):
    COUNTRY = "country", _("País")
    STATE = "state", _("Estado")
    JURISDICTION = "jurisdiction", _("Jurisdicción sanitaria")
    MUNICIPALITY = "municipality", _("Municipio")
    LOCALITY = "locality", _("Localidad")
    DISTRICT = "district", _("Distrito / ciudad")
    BOGOTA_LOCALIDAD = "localidad", _("Localidad (Bogotá)")
    UPZ = "upz", _("Unidad de planeamiento zonal")
    CADASTRAL_SECTOR = "cadastral_sector", _("Sector catastral")
    AGEB = "ageb", _("AGEB")
    MICRO_TERRITORY = "micro_territory", _("Microterritorio")


class Area(models.TextChoices):
    URBAN = "urban", _("Urbano")
    RURAL = "rural", _("Rural")


class Subnetwork(BaseModel):
    """One of Bogotá's four Subredes Integradas de Servicios de Salud."""

    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=120)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Territory(BaseModel):
    kind = models.CharField(max_length=20, choices=TerritoryKind.choices)
    code = models.CharField(max_length=30, help_text=_("Clave oficial (INEGI, DANE, IDECA)"))
    name = models.CharField(max_length=200)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField(max_length=120, unique=True)
    abbreviation = models.CharField(
        max_length=4, blank=True, help_text=_("Abreviatura de estado en la CLUES")
    )
    area = models.CharField(max_length=10, choices=Area.choices, blank=True)
    subnetwork = models.ForeignKey(
        Subnetwork, null=True, blank=True, on_delete=models.PROTECT, related_name="territories"
    )
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    risk_class = models.CharField(
        max_length=20, blank=True, help_text=_("Clasificación de riesgo (sectores)")
    )
    rollout_phase = models.PositiveSmallIntegerField(null=True, blank=True)
    source = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["path"]
        indexes = [
            models.Index(fields=["kind", "code"]),
            models.Index(
                fields=["path"], name="territory_path_like", opclasses=["varchar_pattern_ops"]
            ),
        ]
        verbose_name = _("territorio")
        verbose_name_plural = _("territorios")

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    def contains(self, other: Territory) -> bool:
        return other.path == self.path or other.path.startswith(self.path + ".")


class PopulationDenominator(BaseModel):
    """Population of a territory in a year: total, and without social security where known."""

    territory = models.ForeignKey(Territory, on_delete=models.CASCADE, related_name="populations")
    year = models.PositiveSmallIntegerField()
    total = models.PositiveBigIntegerField()
    male = models.PositiveBigIntegerField(null=True, blank=True)
    female = models.PositiveBigIntegerField(null=True, blank=True)
    uninsured = models.PositiveBigIntegerField(
        null=True, blank=True, help_text=_("Sin afiliación a servicios de salud")
    )
    source = models.CharField(max_length=200)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["territory", "year", "source"], name="population_unique_per_source"
            ),
            models.CheckConstraint(
                condition=models.Q(uninsured__lte=models.F("total")),
                name="population_uninsured_le_total",
            ),
        ]
        ordering = ["territory", "year"]
