"""Practitioners, specialties, positions at facilities and staffing goals."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from bienestar.core.models import BaseModel
from bienestar.facilities.models import Facility


class Specialty(BaseModel):
    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    name_en = models.CharField(max_length=120, blank=True)
    is_core = models.BooleanField(
        default=False, help_text=_("Una de las seis especialidades troncales")
    )
    is_medical = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("especialidad")
        verbose_name_plural = _("especialidades")

    def __str__(self) -> str:
        return self.name


class Practitioner(BaseModel):
    given_names = models.CharField(max_length=120)
    first_surname = models.CharField(max_length=80)
    second_surname = models.CharField(max_length=80, blank=True)
    licence_number = models.CharField(max_length=20, unique=True, help_text=_("Cédula profesional"))
    specialties = models.ManyToManyField(Specialty, related_name="practitioners", blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["first_surname", "second_surname", "given_names"]
        verbose_name = _("profesional de la salud")
        verbose_name_plural = _("profesionales de la salud")

    def __str__(self) -> str:
        return " ".join(p for p in [self.given_names, self.first_surname, self.second_surname] if p)


class Position(BaseModel):
    """A plaza: a post of a specialty at a facility, filled by a practitioner or vacant."""

    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="positions")
    specialty = models.ForeignKey(Specialty, on_delete=models.PROTECT, related_name="positions")
    practitioner = models.ForeignKey(
        Practitioner, null=True, blank=True, on_delete=models.PROTECT, related_name="positions"
    )
    since = models.DateField(help_text=_("Ocupada o vacante desde"))
    shift = models.CharField(max_length=20, blank=True)

    class Meta:
        ordering = ["facility", "specialty"]
        indexes = [models.Index(fields=["facility", "specialty"])]

    @property
    def is_filled(self) -> bool:
        return self.practitioner_id is not None


class StaffingGoal(BaseModel):
    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="staffing_goals")
    specialty = models.ForeignKey(
        Specialty, on_delete=models.PROTECT, related_name="staffing_goals"
    )
    goal = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["facility", "specialty"], name="staffing_goal_unique")
        ]
