"""Clinical record: encounters, conditions (CIE-10), observations (LOINC/UCUM), allergies, immunizations.

Every row carries the person's id and the facility where it was recorded, so that the big tables can
later be partitioned by time and sharded by person without rewriting queries.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from bienestar.core.models import BaseModel


class VersionedModel(BaseModel):
    """A clinical record whose `version` a database trigger bumps on every UPDATE of its row, whoever
    writes it (services, bulk updates, admin), so that the FHIR API can version it (ADR 0006)."""

    version = models.PositiveIntegerField(default=1, db_default=1, editable=False)

    class Meta:
        abstract = True


class EncounterClass(models.TextChoices):
    AMBULATORY = "ambulatory", _("Consulta externa")
    EMERGENCY = "emergency", _("Urgencias")
    INPATIENT = "inpatient", _("Hospitalización")
    HOME = "home", _("Visita domiciliaria")
    VIRTUAL = "virtual", _("Teleconsulta")


class EncounterStatus(models.TextChoices):
    PLANNED = "planned", _("Programada")
    IN_PROGRESS = "in-progress", _("En curso")
    FINISHED = "finished", _("Concluida")
    CANCELLED = "cancelled", _("Cancelada")
    ENTERED_IN_ERROR = "entered-in-error", _("Registrada por error")


class Encounter(VersionedModel):
    """A contact between a person and the network (FHIR Encounter)."""

    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="encounters")
    facility = models.ForeignKey(
        "facilities.Facility", on_delete=models.PROTECT, related_name="encounters"
    )
    practitioner = models.ForeignKey(
        "workforce.Practitioner",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="encounters",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    encounter_class = models.CharField(max_length=20, choices=EncounterClass.choices)
    status = models.CharField(
        max_length=20, choices=EncounterStatus.choices, default=EncounterStatus.IN_PROGRESS
    )
    reason_text = models.CharField(max_length=500, blank=True)
    reason_code = models.ForeignKey(
        "terminology.Icd10Code",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    start = models.DateTimeField()
    end = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-start", "-id"]
        indexes = [
            models.Index(fields=["person", "-start"], name="encounter_person_start"),
            models.Index(fields=["facility", "-start"], name="encounter_facility_start"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__isnull=True) | models.Q(end__gte=models.F("start")),
                name="encounter_end_after_start",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="finished") | models.Q(end__isnull=False),
                name="encounter_finished_has_end",
            ),
        ]
        verbose_name = _("atención")
        verbose_name_plural = _("atenciones")

    def __str__(self) -> str:
        return f"Encounter {self.public_id}"


class ConditionClinicalStatus(models.TextChoices):
    ACTIVE = "active", _("Activo")
    INACTIVE = "inactive", _("Inactivo")
    RESOLVED = "resolved", _("Resuelto")


class ConditionVerification(models.TextChoices):
    CONFIRMED = "confirmed", _("Confirmado")
    PROVISIONAL = "provisional", _("Presuntivo")
    ENTERED_IN_ERROR = "entered-in-error", _("Registrado por error")


class Condition(VersionedModel):
    """A diagnosis coded in CIE-10 (FHIR Condition). Recording the same code again in a later
    encounter adds a row; the problem list shows the latest active one per code."""

    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    facility = models.ForeignKey("facilities.Facility", on_delete=models.PROTECT, related_name="+")
    encounter = models.ForeignKey(
        Encounter, null=True, blank=True, on_delete=models.PROTECT, related_name="conditions"
    )
    code = models.ForeignKey("terminology.Icd10Code", on_delete=models.PROTECT, related_name="+")
    clinical_status = models.CharField(
        max_length=12,
        choices=ConditionClinicalStatus.choices,
        default=ConditionClinicalStatus.ACTIVE,
    )
    verification_status = models.CharField(
        max_length=20,
        choices=ConditionVerification.choices,
        default=ConditionVerification.CONFIRMED,
    )
    # 1 = principal diagnosis of its encounter; null outside an encounter.
    rank = models.PositiveSmallIntegerField(null=True, blank=True)
    onset_date = models.DateField(null=True, blank=True)
    abatement_date = models.DateField(null=True, blank=True)
    note = models.CharField(max_length=500, blank=True)
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-recorded_at", "-id"]
        indexes = [
            models.Index(fields=["person", "code", "-recorded_at"], name="condition_person_code"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(abatement_date__isnull=True)
                | models.Q(onset_date__isnull=True)
                | models.Q(abatement_date__gte=models.F("onset_date")),
                name="condition_abatement_after_onset",
            ),
        ]
        verbose_name = _("diagnóstico")
        verbose_name_plural = _("diagnósticos")

    def __str__(self) -> str:
        return f"Condition {self.public_id}"


class ObservationStatus(models.TextChoices):
    FINAL = "final", _("Definitiva")
    AMENDED = "amended", _("Corregida")
    ENTERED_IN_ERROR = "entered-in-error", _("Registrada por error")


class Observation(VersionedModel):
    """A vital sign or measurement (FHIR Observation), coded in LOINC with a UCUM unit.

    The blood-pressure panel (85354-9) is a row without a value whose systolic and diastolic
    components are rows pointing at it through `panel`. The accepted ranges live in `vitals.py`.
    """

    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    facility = models.ForeignKey("facilities.Facility", on_delete=models.PROTECT, related_name="+")
    encounter = models.ForeignKey(
        Encounter, null=True, blank=True, on_delete=models.PROTECT, related_name="observations"
    )
    panel = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="components"
    )
    code = models.CharField(max_length=12, help_text=_("Código LOINC"))
    value = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    unit = models.CharField(max_length=20, blank=True, help_text=_("Unidad UCUM"))
    derived = models.BooleanField(default=False, help_text=_("Calculada (p. ej. IMC)"))
    status = models.CharField(
        max_length=20, choices=ObservationStatus.choices, default=ObservationStatus.FINAL
    )
    effective_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-effective_at", "-id"]
        indexes = [
            models.Index(fields=["person", "code", "-effective_at"], name="observation_series"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(code="85354-9", value__isnull=True)
                | (~models.Q(code="85354-9") & models.Q(value__isnull=False)),
                name="observation_value_unless_panel",
            ),
            models.CheckConstraint(
                condition=models.Q(value__isnull=True) | models.Q(value__gt=0),
                name="observation_value_positive",
            ),
        ]
        verbose_name = _("observación")
        verbose_name_plural = _("observaciones")

    def __str__(self) -> str:
        return f"Observation {self.public_id}"


class AllergyCategory(models.TextChoices):
    MEDICATION = "medication", _("Medicamento")
    FOOD = "food", _("Alimento")
    ENVIRONMENT = "environment", _("Ambiental")
    BIOLOGIC = "biologic", _("Biológico")


class AllergyType(models.TextChoices):
    ALLERGY = "allergy", _("Alergia")
    INTOLERANCE = "intolerance", _("Intolerancia")


class AllergyCriticality(models.TextChoices):
    # Context: "Alta"/"Baja" also mean "created"/"removed" elsewhere in the catalogue.
    LOW = "low", pgettext_lazy("criticality", "Baja")
    HIGH = "high", pgettext_lazy("criticality", "Alta")
    UNABLE_TO_ASSESS = "unable-to-assess", _("No evaluable")


class AllergyStatus(models.TextChoices):
    ACTIVE = "active", _("Activa")
    INACTIVE = "inactive", _("Inactiva")
    RESOLVED = "resolved", _("Resuelta")
    ENTERED_IN_ERROR = "entered-in-error", _("Registrada por error")


class AllergyIntolerance(VersionedModel):
    """An allergy or intolerance (FHIR AllergyIntolerance): to a catalogue medicine or a substance."""

    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    facility = models.ForeignKey("facilities.Facility", on_delete=models.PROTECT, related_name="+")
    encounter = models.ForeignKey(
        Encounter, null=True, blank=True, on_delete=models.PROTECT, related_name="allergies"
    )
    medicine = models.ForeignKey(
        "terminology.Medicine", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    substance = models.CharField(max_length=200, blank=True)
    allergy_type = models.CharField(
        max_length=12, choices=AllergyType.choices, default=AllergyType.ALLERGY
    )
    category = models.CharField(max_length=12, choices=AllergyCategory.choices)
    criticality = models.CharField(
        max_length=20,
        choices=AllergyCriticality.choices,
        default=AllergyCriticality.UNABLE_TO_ASSESS,
    )
    reaction = models.CharField(max_length=300, blank=True)
    status = models.CharField(
        max_length=20, choices=AllergyStatus.choices, default=AllergyStatus.ACTIVE
    )
    onset_date = models.DateField(null=True, blank=True)
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-recorded_at", "-id"]
        indexes = [models.Index(fields=["person", "status"], name="allergy_person_status")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(medicine__isnull=False) | ~models.Q(substance=""),
                name="allergy_has_substance",
            ),
        ]
        verbose_name = _("alergia o intolerancia")
        verbose_name_plural = _("alergias e intolerancias")

    def __str__(self) -> str:
        return f"AllergyIntolerance {self.public_id}"


class ImmunizationStatus(models.TextChoices):
    COMPLETED = "completed", _("Aplicada")
    ENTERED_IN_ERROR = "entered-in-error", _("Registrada por error")


class ScheduleFit(models.TextChoices):
    """How an applied dose fits the national schedule (a flag, never a reason to refuse)."""

    ON_SCHEDULE = "on_schedule", _("Conforme al esquema")
    EARLY = "early", _("Antes de la edad del esquema")
    LATE = "late", _("Después de la edad del esquema")
    NOT_IN_SCHEDULE = "not_in_schedule", _("Fuera del esquema nacional")


class Immunization(VersionedModel):
    """A vaccine dose (FHIR Immunization), checked against the national schedule when recorded."""

    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    facility = models.ForeignKey("facilities.Facility", on_delete=models.PROTECT, related_name="+")
    encounter = models.ForeignKey(
        Encounter, null=True, blank=True, on_delete=models.PROTECT, related_name="immunizations"
    )
    schedule_entry = models.ForeignKey(
        "terminology.VaccineScheduleEntry",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    vaccine = models.CharField(max_length=120)
    dose = models.CharField(max_length=40, help_text=_("1, 2, unica, refuerzo, anual…"))
    lot = models.CharField(max_length=40, blank=True)
    occurrence_date = models.DateField()
    # False when transcribed from the vaccination card rather than applied here.
    primary_source = models.BooleanField(default=True)
    schedule_fit = models.CharField(max_length=20, choices=ScheduleFit.choices)
    status = models.CharField(
        max_length=20, choices=ImmunizationStatus.choices, default=ImmunizationStatus.COMPLETED
    )
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-occurrence_date", "-id"]
        indexes = [models.Index(fields=["person", "vaccine"], name="immunization_person")]
        constraints = [
            # A dose counts once; yearly doses repeat by design and are checked per season.
            models.UniqueConstraint(
                fields=["person", "vaccine", "dose"],
                condition=models.Q(status="completed") & ~models.Q(dose="anual"),
                name="immunization_dose_once",
            ),
        ]
        verbose_name = _("vacuna aplicada")
        verbose_name_plural = _("vacunas aplicadas")

    def __str__(self) -> str:
        return f"Immunization {self.public_id}"
