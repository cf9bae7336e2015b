"""Sectors (the unit a team sweeps), the published priority schemes that rank them, and rollout plans.

A `Sector` adds outreach planning to one territory of the finest level: a Bogotá cadastral sector
(localidad → UPZ → sector, 6-character code) or a Mexican AGEB / micro-territory (municipality →
locality → AGEB). Its shape is GeoJSON in WGS84 longitude/latitude, drawn by the map page.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from bienestar.core.models import BaseModel
from bienestar.territories.models import Area, Subnetwork, Territory


class Tier(models.TextChoices):
    HIGH = "high", _("Alto")
    MEDIUM = "medium", _("Medio")
    LOW = "low", _("Bajo")


class CoverageStatus(models.TextChoices):
    NOT_STARTED = "not_started", _("Sin iniciar")
    IN_PROGRESS = "in_progress", _("En curso")
    COVERED = "covered", _("Cubierto")


class Sector(BaseModel):
    territory = models.OneToOneField(
        Territory, on_delete=models.PROTECT, related_name="outreach_sector"
    )
    code = models.CharField(max_length=10, help_text=_("Código oficial del sector (6 caracteres)"))
    name = models.CharField(max_length=200)
    area = models.CharField(max_length=10, choices=Area.choices)
    subnetwork = models.ForeignKey(
        Subnetwork, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    geometry = models.JSONField(help_text=_("GeoJSON Polygon o MultiPolygon (WGS84)"))
    latitude = models.DecimalField(max_digits=9, decimal_places=6)
    longitude = models.DecimalField(max_digits=9, decimal_places=6)
    estimated_population = models.PositiveIntegerField()
    estimated_households = models.PositiveIntegerField()
    # Indicators that feed the priority score (shares in [0, 1]; distance in km).
    poverty_share = models.DecimalField(max_digits=5, decimal_places=4)
    uninsured_share = models.DecimalField(max_digits=5, decimal_places=4)
    under5_share = models.DecimalField(max_digits=5, decimal_places=4)
    over60_share = models.DecimalField(max_digits=5, decimal_places=4)
    anc_gap_share = models.DecimalField(
        max_digits=5, decimal_places=4, help_text=_("Embarazos sin control prenatal")
    )
    chronic_share = models.DecimalField(max_digits=5, decimal_places=4)
    distance_km = models.DecimalField(max_digits=6, decimal_places=2)
    # The published scheme's result (see PriorityScheme / services.scheme_apply).
    score = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    tier = models.CharField(max_length=10, choices=Tier.choices, blank=True)
    scheme = models.ForeignKey(
        "outreach.PriorityScheme", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    phase = models.PositiveSmallIntegerField(null=True, blank=True)
    coverage_status = models.CharField(
        max_length=12, choices=CoverageStatus.choices, default=CoverageStatus.NOT_STARTED
    )
    source = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["territory__path"]
        indexes = [models.Index(fields=["tier", "phase"]), models.Index(fields=["code"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(poverty_share__gte=0, poverty_share__lte=1)
                & models.Q(uninsured_share__gte=0, uninsured_share__lte=1)
                & models.Q(under5_share__gte=0, under5_share__lte=1)
                & models.Q(over60_share__gte=0, over60_share__lte=1)
                & models.Q(anc_gap_share__gte=0, anc_gap_share__lte=1)
                & models.Q(chronic_share__gte=0, chronic_share__lte=1)
                & models.Q(distance_km__gte=0),
                name="sector_indicators_in_range",
            )
        ]
        verbose_name = _("sector")
        verbose_name_plural = _("sectores")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class SchemePreset(models.TextChoices):
    RURAL_HIGH_FIRST = "rural_high_first", _("Todo lo rural y el riesgo alto primero")
    COMPOSITE = "composite", _("Índice compuesto")


class PriorityScheme(BaseModel):
    """A published, immutable set of weights. Changing a weight publishes a new version; the sectors
    and plans keep the version they were computed with."""

    name = models.CharField(max_length=80)
    version = models.PositiveIntegerField()
    preset = models.CharField(max_length=20, choices=SchemePreset.choices)
    weights = models.JSONField(help_text=_("Peso de cada indicador (decimales como texto)"))
    high_cutoff = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("50"))
    medium_cutoff = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("39"))
    published_at = models.DateTimeField()
    published_by = models.CharField(max_length=150)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="scheme_name_version_unique"),
            models.CheckConstraint(
                condition=models.Q(medium_cutoff__lte=models.F("high_cutoff")),
                name="scheme_cutoffs_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class RolloutPlan(BaseModel):
    """Phases and a projected calendar for the sectors under `territory`, from one scheme."""

    name = models.CharField(max_length=120)
    territory = models.ForeignKey(Territory, on_delete=models.PROTECT, related_name="+")
    scheme = models.ForeignKey(PriorityScheme, on_delete=models.PROTECT, related_name="plans")
    teams = models.PositiveIntegerField(help_text=_("Equipos disponibles"))
    households_per_team_week = models.PositiveIntegerField()
    start_date = models.DateField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]


class PlanSector(models.Model):
    """One sector's place in a plan, with the reasons, so the page can say why it is there."""

    id = models.BigAutoField(primary_key=True)
    plan = models.ForeignKey(RolloutPlan, on_delete=models.CASCADE, related_name="rows")
    sector = models.ForeignKey(Sector, on_delete=models.PROTECT, related_name="+")
    rank = models.PositiveIntegerField()
    phase = models.PositiveSmallIntegerField()
    score = models.DecimalField(max_digits=5, decimal_places=2)
    tier = models.CharField(max_length=10, choices=Tier.choices)
    reason = models.CharField(max_length=40)
    team_number = models.PositiveIntegerField()
    start_week = models.PositiveIntegerField()
    end_week = models.PositiveIntegerField()

    class Meta:
        ordering = ["plan", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "sector"], name="plan_sector_unique"),
            models.UniqueConstraint(fields=["plan", "rank"], name="plan_rank_unique"),
        ]
