"""Services, schedules with weekly availability and exceptions, and appointments.

Slots are never stored: they are computed from the schedule (slots.py). Only what is booked (or
held) is a row, and a partial unique index on (schedule, start, seat) over the states that occupy a
seat makes a double booking impossible whatever the number of concurrent clients.
"""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.utils.translation import gettext_lazy as _

from bienestar.core.models import BaseModel
from bienestar.facilities.models import Facility
from bienestar.people.models import Person
from bienestar.scheduling.timezones import facility_zone
from bienestar.workforce.models import Practitioner, Specialty


class ServiceMode(models.TextChoices):
    IN_PERSON = "in_person", _("Presencial")
    VIRTUAL = "virtual", _("Teleconsulta")


class Service(BaseModel):
    """What can be booked at a unit: a specialty's consultation, with its length and capacity."""

    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="services")
    name = models.CharField(max_length=150)
    specialty = models.ForeignKey(
        Specialty, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    slot_minutes = models.PositiveSmallIntegerField(default=20)
    capacity = models.PositiveSmallIntegerField(
        default=1, help_text=_("Personas por horario (1 salvo actividades de grupo)")
    )
    mode = models.CharField(
        max_length=12, choices=ServiceMode.choices, default=ServiceMode.IN_PERSON
    )
    wait_standard_minutes = models.PositiveSmallIntegerField(
        default=30, help_text=_("Espera máxima esperada entre la llegada y la atención")
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["facility", "name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(slot_minutes__gte=5, slot_minutes__lte=480),
                name="service_slot_minutes_range",
            ),
            models.CheckConstraint(condition=models.Q(capacity__gte=1), name="service_capacity"),
        ]

    def __str__(self) -> str:
        return self.name


class Schedule(BaseModel):
    """The agenda of one practitioner (or room) for one service at one unit."""

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="schedules")
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="schedules")
    practitioner = models.ForeignKey(
        Practitioner, null=True, blank=True, on_delete=models.PROTECT, related_name="schedules"
    )
    room = models.CharField(max_length=60, blank=True)
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["facility", "service", "id"]
        indexes = [models.Index(fields=["facility", "active"])]

    def __str__(self) -> str:
        who = str(self.practitioner) if self.practitioner_id else self.room
        return f"{self.service} — {who}"


class AvailabilityRule(models.Model):
    """A weekly window of the schedule, in the unit's local wall-clock time (0 = Monday)."""

    id = models.BigAutoField(primary_key=True)
    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="rules")
    weekday = models.PositiveSmallIntegerField()
    start_time = models.TimeField()
    end_time = models.TimeField()

    class Meta:
        ordering = ["weekday", "start_time"]
        constraints = [
            models.CheckConstraint(condition=models.Q(weekday__lte=6), name="rule_weekday"),
            models.CheckConstraint(
                condition=models.Q(start_time__lt=models.F("end_time")),
                name="rule_start_before_end",
            ),
        ]


class ExceptionKind(models.TextChoices):
    LEAVE = "leave", _("Permiso o vacaciones")
    HOLIDAY = "holiday", _("Día festivo")
    OTHER = "other", _("Otro")


class ScheduleException(models.Model):
    """Days without service: a practitioner's leave (one schedule) or a unit's holiday (all)."""

    id = models.BigAutoField(primary_key=True)
    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="+")
    schedule = models.ForeignKey(
        Schedule, null=True, blank=True, on_delete=models.CASCADE, related_name="exceptions"
    )
    first_day = models.DateField()
    last_day = models.DateField()
    kind = models.CharField(max_length=10, choices=ExceptionKind.choices)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(first_day__lte=models.F("last_day")), name="exception_days"
            )
        ]


class AppointmentStatus(models.TextChoices):
    PROPOSED = "proposed", _("Apartada")
    BOOKED = "booked", _("Agendada")
    ARRIVED = "arrived", _("En sala de espera")
    IN_CONSULTATION = "in_consultation", _("En consulta")
    FULFILLED = "fulfilled", _("Atendida")
    CANCELLED = "cancelled", _("Cancelada")
    NO_SHOW = "noshow", _("No se presentó")
    ENTERED_IN_ERROR = "entered_in_error", _("Registrada por error")


# States in which an appointment holds its seat of the slot.
OCCUPYING = (
    AppointmentStatus.PROPOSED,
    AppointmentStatus.BOOKED,
    AppointmentStatus.ARRIVED,
    AppointmentStatus.IN_CONSULTATION,
    AppointmentStatus.FULFILLED,
    AppointmentStatus.NO_SHOW,
)


class AppointmentOrigin(models.TextChoices):
    BOOKED = "booked", _("Con cita")
    WALK_IN = "walk_in", _("Sin cita (unifila)")


class TriageLevel(models.IntegerChoices):
    RED = 1, _("Rojo: inmediata")
    ORANGE = 2, _("Naranja: muy urgente")
    YELLOW = 3, _("Amarillo: urgente")
    GREEN = 4, _("Verde: poco urgente")
    BLUE = 5, _("Azul: no urgente")


class Appointment(BaseModel):
    schedule = models.ForeignKey(Schedule, on_delete=models.PROTECT, related_name="appointments")
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="appointments"
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    seat = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=20, choices=AppointmentStatus.choices)
    origin = models.CharField(
        max_length=10, choices=AppointmentOrigin.choices, default=AppointmentOrigin.BOOKED
    )
    hold_expires_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    triage = models.PositiveSmallIntegerField(choices=TriageLevel.choices, null=True, blank=True)
    arrived_at = models.DateTimeField(null=True, blank=True)
    seen_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    virtual_room = models.CharField(max_length=300, blank=True)
    booked_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["start", "seat"]
        indexes = [
            models.Index(fields=["facility", "start"]),
            models.Index(fields=["person", "start"]),
            models.Index(fields=["schedule", "start"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["schedule", "start", "seat"],
                condition=models.Q(status__in=[s.value for s in OCCUPYING]),
                name="appointment_one_per_seat",
            ),
            models.CheckConstraint(condition=models.Q(start__lt=models.F("end")), name="appt_span"),
            models.CheckConstraint(
                condition=~models.Q(status="proposed") | models.Q(hold_expires_at__isnull=False),
                name="appt_hold_expires",
            ),
            models.CheckConstraint(
                condition=models.Q(person__isnull=False)
                | models.Q(status__in=["proposed", "cancelled"]),
                name="appt_person_unless_hold",
            ),
        ]

    @property
    def version(self) -> str:
        """The record's version for FHIR (If-Match, ETag): the microsecond of its last change
        (ADR 0006's derived version; every change goes through save(), which stamps updated_at)."""
        return str(int(self.updated_at.timestamp() * 1_000_000)) if self.updated_at else "1"

    @property
    def local_start(self) -> dt.datetime:
        return self.start.astimezone(facility_zone(self.facility))


class AppointmentChange(models.Model):
    """Every change of an appointment's state: who, when, from what to what, and why."""

    id = models.BigAutoField(primary_key=True)
    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="changes")
    at = models.DateTimeField()
    by = models.CharField(max_length=150)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]
