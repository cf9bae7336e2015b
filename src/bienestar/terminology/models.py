"""Code systems: CIE-10 (Spanish ICD-10), LOINC, the national medicine catalogue, vaccines."""

from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import F
from django.db.models.functions import Concat, Lower
from django.utils.translation import gettext_lazy as _


class Icd10Code(models.Model):
    code = models.CharField(max_length=10, primary_key=True)
    code_nodot = models.CharField(max_length=10, db_index=True)
    level = models.PositiveSmallIntegerField(help_text=_("3 = categoría, 4 = subcategoría"))
    description_es = models.CharField(max_length=300)
    description_en = models.CharField(max_length=300, blank=True)
    chapter = models.CharField(max_length=200, blank=True)
    group = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=120)
    # Lower-case, accent-free "code description" kept by PostgreSQL itself, for the diagnosis search
    # (trigram index: "hipertension" and "hipert" both find "Hipertensión esencial (primaria)").
    search_text = models.GeneratedField(
        expression=models.Func(
            Lower(
                Concat(
                    "code",
                    models.Value(" "),
                    "description_es",
                    output_field=models.TextField(),
                )
            ),
            function="bienestar_unaccent",
            output_field=models.TextField(),
        ),
        output_field=models.TextField(),
        db_persist=True,
    )

    class Meta:
        ordering = ["code"]
        indexes = [
            GinIndex(OpClass(F("search_text"), name="gin_trgm_ops"), name="icd10_search_trgm"),
        ]
        verbose_name = _("código CIE-10")
        verbose_name_plural = _("códigos CIE-10")

    def __str__(self) -> str:
        return f"{self.code} {self.description_es}"


class LoincCode(models.Model):
    code = models.CharField(max_length=12, primary_key=True)
    display = models.CharField(max_length=300)
    unit = models.CharField(max_length=40, blank=True)
    source = models.CharField(max_length=120)

    class Meta:
        ordering = ["code"]


class Medicine(models.Model):
    """A key of the national medicine catalogue (Cuadro Básico / Compendio Nacional)."""

    key = models.CharField(
        max_length=20, primary_key=True, help_text=_("Clave, p. ej. 010.000.5165.00")
    )
    generic_name = models.CharField(max_length=250)
    group = models.CharField(max_length=120, blank=True)
    form = models.CharField(max_length=120, blank=True)
    strength = models.CharField(max_length=120, blank=True)
    pregnancy_risk = models.CharField(max_length=5, blank=True)
    source = models.CharField(max_length=120)

    class Meta:
        ordering = ["key"]
        verbose_name = _("medicamento del catálogo")
        verbose_name_plural = _("catálogo de medicamentos")

    def __str__(self) -> str:
        return f"{self.key} {self.generic_name}"


class VaccineScheduleEntry(models.Model):
    """One dose of the national vaccination schedule."""

    id = models.BigAutoField(primary_key=True)
    country = models.CharField(max_length=2, default="MX")
    age_months = models.PositiveSmallIntegerField()
    age_label = models.CharField(max_length=60)
    vaccine = models.CharField(max_length=120)
    dose = models.CharField(max_length=40)
    condition = models.CharField(max_length=60, blank=True)
    note = models.CharField(max_length=300, blank=True)
    source = models.CharField(max_length=120)

    class Meta:
        ordering = ["country", "age_months", "vaccine"]
        constraints = [
            models.UniqueConstraint(
                fields=["country", "age_months", "vaccine", "dose"], name="vaccine_dose_unique"
            ),
        ]


class CluesKey(models.Model):
    """A key of the national CLUES catalogue (DGIS), whether or not the network runs that establishment.

    The national catalogue lists some 64,000 establishments of every institution; only those the
    network operates become facilities. This registry lets a referral, an import or a FHIR reference
    name any real establishment and be checked against the official list, without filling the
    facility registry with tens of thousands of nameless stubs.
    """

    clues = models.CharField(max_length=11, primary_key=True)
    state_abbreviation = models.CharField(
        max_length=2, help_text=_("Abreviatura del estado (primeras 2 letras)")
    )
    institution_code = models.CharField(
        max_length=3, help_text=_("Clave de institución (IMB, IMS, IST, SSA, SMP…)")
    )
    edition = models.CharField(max_length=6, help_text=_("Edición del catálogo, AAAAMM"))
    source = models.CharField(max_length=120)

    class Meta:
        ordering = ["clues"]
        indexes = [models.Index(fields=["state_abbreviation", "institution_code"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(clues__regex=r"^[A-Z]{2}[A-Z]{3}[0-9]{6}$"),
                name="clues_key_format",
            ),
        ]
        verbose_name = _("clave CLUES")
        verbose_name_plural = _("catálogo de claves CLUES")

    def __str__(self) -> str:
        return self.clues
