"""Outreach teams: a subnetwork's multidisciplinary team, its members by role, its sectors."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from bienestar.core.models import BaseModel
from bienestar.territories.models import Subnetwork, Territory


class MemberRole(models.TextChoices):
    WELLBEING_MANAGER = "wellbeing_manager", _("Gestor(a) del bienestar")
    HEALTH_AUXILIARY = "health_auxiliary", _("Auxiliar en salud")
    DOCTOR = "doctor", _("Medicina")
    NURSE = "nurse", _("Enfermería")
    PSYCHOLOGIST = "psychologist", _("Psicología")
    NUTRITIONIST = "nutritionist", _("Nutrición")
    DENTIST = "dentist", _("Odontología")
    THERAPIST = "therapist", _("Terapia")
    ENVIRONMENTAL_ENGINEER = "environmental_engineer", _("Ingeniería ambiental")
    COORDINATOR = "coordinator", _("Coordinación del equipo")


class Team(BaseModel):
    code = models.CharField(max_length=30, unique=True)
    name = models.CharField(max_length=120)
    subnetwork = models.ForeignKey(
        Subnetwork, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    territory = models.ForeignKey(
        Territory,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Territorio donde trabaja el equipo (sus sectores están dentro)"),
    )
    households_per_week = models.PositiveIntegerField(default=60)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class TeamMember(BaseModel):
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=30, choices=MemberRole.choices)
    since = models.DateField()
    until = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["team", "user"],
                condition=models.Q(until__isnull=True),
                name="team_member_current_unique",
            )
        ]
        indexes = [models.Index(fields=["user", "until"])]


class TeamSector(BaseModel):
    """A sector assigned to a team. One team holds a sector at a time."""

    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="assignments")
    sector = models.ForeignKey("outreach.Sector", on_delete=models.PROTECT, related_name="+")
    since = models.DateField()
    until = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["sector"],
                condition=models.Q(until__isnull=True),
                name="team_sector_one_current_team",
            )
        ]
        indexes = [models.Index(fields=["team", "until"])]
