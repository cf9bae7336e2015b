"""Materialised aggregates, refresh runs and publications (read models: no personal data)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class PeriodType(models.TextChoices):
    MONTH = "M", _("Mes")
    QUARTER = "Q", _("Trimestre")
    YEAR = "Y", _("Año")


class Level(models.TextChoices):
    NATION = "nation", _("Nación")
    STATE = "state", _("Estado")
    MUNICIPALITY = "municipality", _("Municipio")
    UNIT = "unit", _("Unidad")


class RefreshRun(models.Model):
    """One refresh of the aggregates: full or incremental, with its watermark (the highest event
    ids and the person change time it read), so the next incremental run knows where to start."""

    class Kind(models.TextChoices):
        FULL = "full", _("Completa")
        INCREMENTAL = "incremental", _("Incremental")

    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    engine = models.CharField(max_length=10)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    today = models.DateField()
    since = models.DateField(null=True, blank=True, help_text=_("Primer mes recalculado"))
    watermark = models.JSONField(default=dict)
    rows = models.PositiveIntegerField(default=0)
    seconds = models.JSONField(default=dict)

    class Meta:
        ordering = ["-id"]


class Aggregate(models.Model):
    """An indicator's numerator and denominator for one period, territory (or unit) and
    disaggregation. Zero and missing are distinct: a row with num 0 is a zero; no row, or a NULL
    denominator, is "no data"."""

    id = models.BigAutoField(primary_key=True)
    indicator = models.CharField(max_length=40)
    version = models.PositiveSmallIntegerField()
    period_type = models.CharField(max_length=1, choices=PeriodType.choices)
    period = models.CharField(max_length=7, help_text=_("2026-11, 2026Q3 o 2026"))
    level = models.CharField(max_length=12, choices=Level.choices)
    area = models.CharField(max_length=60, help_text=_("Ruta del territorio o id de la unidad"))
    dimension = models.CharField(max_length=20, blank=True)
    category = models.CharField(max_length=120, blank=True)
    numerator = models.BigIntegerField(null=True)
    denominator = models.BigIntegerField(null=True)
    run = models.ForeignKey(RefreshRun, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "indicator",
                    "period_type",
                    "period",
                    "level",
                    "area",
                    "dimension",
                    "category",
                ],
                name="aggregate_unique",
            )
        ]
        indexes = [
            models.Index(fields=["indicator", "level", "area", "period_type"], name="agg_series"),
            models.Index(fields=["indicator", "period", "level"], name="agg_period"),
        ]


class Publication(models.Model):
    """A month (or quarter, year) of one indicator as published: its values are frozen in
    PublishedValue. A correction is a new version; earlier versions stay visible."""

    id = models.BigAutoField(primary_key=True)
    indicator = models.CharField(max_length=40)
    definition_version = models.PositiveSmallIntegerField()
    period = models.CharField(max_length=7)
    version = models.PositiveSmallIntegerField()
    published_at = models.DateTimeField()
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["indicator", "period", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["indicator", "period", "version"], name="publication_version_unique"
            )
        ]


class PublishedValue(models.Model):
    id = models.BigAutoField(primary_key=True)
    publication = models.ForeignKey(Publication, on_delete=models.CASCADE, related_name="values")
    level = models.CharField(max_length=12, choices=Level.choices)
    area = models.CharField(max_length=60)
    dimension = models.CharField(max_length=20, blank=True)
    category = models.CharField(max_length=120, blank=True)
    numerator = models.BigIntegerField(null=True)
    denominator = models.BigIntegerField(null=True)

    class Meta:
        indexes = [models.Index(fields=["publication", "level", "area"], name="published_area")]
