"""Households: who lives together, where, and the socio-economic facts used later for risk."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from bienestar.core.models import BaseModel
from bienestar.people.models import Person
from bienestar.territories.models import Territory


class Relationship(models.TextChoices):
    HEAD = "head", _("Jefa o jefe del hogar")
    SPOUSE = "spouse", _("Cónyuge o pareja")
    CHILD = "child", _("Hija o hijo")
    PARENT = "parent", _("Madre o padre")
    GRANDCHILD = "grandchild", _("Nieta o nieto")
    SIBLING = "sibling", _("Hermana o hermano")
    OTHER_RELATIVE = "other_relative", _("Otro pariente")
    NON_RELATIVE = "non_relative", _("Sin parentesco")


class Household(BaseModel):
    territory = models.ForeignKey(
        Territory,
        on_delete=models.PROTECT,
        related_name="households",
        help_text=_("Sector catastral o localidad"),
    )
    address_line = models.CharField(max_length=250, blank=True)
    neighbourhood = models.CharField(max_length=120, blank=True)
    postal_code = models.CharField(max_length=10, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    # Socio-economic attributes (INEGI/DANE household survey style).
    rooms = models.PositiveSmallIntegerField(null=True, blank=True)
    dirt_floor = models.BooleanField(null=True, blank=True)
    piped_water = models.BooleanField(null=True, blank=True)
    drainage = models.BooleanField(null=True, blank=True)
    electricity = models.BooleanField(null=True, blank=True)
    monthly_income_band = models.CharField(max_length=20, blank=True)
    socioeconomic_stratum = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text=_("Estrato (Colombia 1–6)"),  # noqa: RUF001
    )

    class Meta:
        indexes = [models.Index(fields=["territory"])]
        verbose_name = _("hogar")
        verbose_name_plural = _("hogares")


class HouseholdMember(BaseModel):
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="members")
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="household_memberships"
    )
    relationship = models.CharField(max_length=20, choices=Relationship.choices)
    since = models.DateField(null=True, blank=True)
    until = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["person"],
                condition=models.Q(until__isnull=True),
                name="one_current_household",
            ),
            models.UniqueConstraint(
                fields=["household"],
                condition=models.Q(until__isnull=True, relationship="head"),
                name="one_current_head",
            ),
        ]
