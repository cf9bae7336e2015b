"""Bookkeeping and ground truth of synthetic networks.

A `SynthRun` is one generated network (seed, size, reference date). `SynthProfile` keeps, for each
synthetic person, the health facts the generator decided (diabetes, hypertension, pregnancy, BMI…)
so that later generators can write encounters, observations and prescriptions consistent with them.
Nothing here is clinical data: it is the answer key of a simulation.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from bienestar.facilities.models import Facility
from bienestar.people.models import Person


class SynthRun(models.Model):
    id = models.BigAutoField(primary_key=True)
    seed = models.BigIntegerField()
    people = models.PositiveIntegerField()
    as_of = models.DateField(help_text=_("Fecha de referencia de edades y embarazos"))
    generator_version = models.CharField(max_length=20)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(
        null=True, blank=True, help_text=_("Vacía mientras la red no está completa")
    )
    summary = models.JSONField(default=dict)

    class Meta:
        ordering = ["started_at"]
        verbose_name = _("red sintética")
        verbose_name_plural = _("redes sintéticas")

    def __str__(self) -> str:
        return f"SynthRun seed={self.seed} people={self.people}"


class SynthFacilityRole(models.TextChoices):
    PRIMARY_CARE = "primary_care", _("Primer nivel")
    GENERAL_HOSPITAL = "general_hospital", _("Hospital general")
    RURAL_HOSPITAL = "rural_hospital", _("Hospital comunitario rural")


class SynthFacility(models.Model):
    """A facility that serves a synthetic network: taken from the catalogue or created (`created`)."""

    id = models.BigAutoField(primary_key=True)
    run = models.ForeignKey(SynthRun, on_delete=models.CASCADE, related_name="facilities")
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=20, choices=SynthFacilityRole.choices)
    created = models.BooleanField(default=False, help_text=_("Creado por el generador"))
    staffed = models.BooleanField(default=False, help_text=_("Plantilla escrita por el generador"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "facility"], name="synth_facility_once_per_run")
        ]


class SynthProfile(models.Model):
    """Ground truth of one synthetic person's health on `run.as_of`."""

    person = models.OneToOneField(
        Person, primary_key=True, on_delete=models.PROTECT, related_name="synth_profile"
    )
    run = models.ForeignKey(SynthRun, on_delete=models.CASCADE, related_name="profiles")
    facility = models.ForeignKey(
        Facility,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Unidad de primer nivel que atiende a su hogar"),
    )
    height_cm = models.DecimalField(max_digits=4, decimal_places=1)
    weight_kg = models.DecimalField(max_digits=5, decimal_places=1)
    bmi = models.DecimalField(max_digits=4, decimal_places=1)
    obesity = models.BooleanField(default=False)
    smoker = models.BooleanField(default=False)
    diabetes = models.BooleanField(default=False)
    diabetes_diagnosed = models.BooleanField(default=False)
    diabetes_since = models.DateField(null=True, blank=True)
    hypertension = models.BooleanField(default=False)
    hypertension_diagnosed = models.BooleanField(default=False)
    hypertension_since = models.DateField(null=True, blank=True)
    systolic_bp = models.PositiveSmallIntegerField()
    diastolic_bp = models.PositiveSmallIntegerField()
    fasting_glucose = models.PositiveSmallIntegerField(help_text=_("mg/dL"))
    hba1c = models.DecimalField(max_digits=3, decimal_places=1, help_text=_("%"))
    pregnant = models.BooleanField(default=False)
    pregnancy_weeks = models.PositiveSmallIntegerField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["run", "facility"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(diabetes=True) | models.Q(diabetes_diagnosed=False),
                name="synth_diagnosed_diabetes_is_diabetes",
            ),
            models.CheckConstraint(
                condition=models.Q(hypertension=True) | models.Q(hypertension_diagnosed=False),
                name="synth_diagnosed_hypertension_is_hypertension",
            ),
        ]
