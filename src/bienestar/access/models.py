"""Users, API tokens and the append-only audit log."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils.translation import gettext_lazy as _

from bienestar.access.roles import Role
from bienestar.facilities.models import Facility
from bienestar.territories.models import Territory


class User(AbstractUser):
    """A person who uses Bienestar. Belongs to a territory (and possibly a facility) and has one role."""

    role = models.CharField(max_length=30, choices=Role.choices, blank=True)
    territory = models.ForeignKey(
        Territory,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Lo que el usuario puede ver: este territorio y todo lo que contiene"),
    )
    facility = models.ForeignKey(
        Facility, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    practitioner = models.ForeignKey(
        "workforce.Practitioner", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("usuario")
        verbose_name_plural = _("usuarios")


class ApiToken(models.Model):
    """A bearer token. Only its SHA-256 is stored; the token itself is shown once, at creation."""

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    prefix = models.CharField(max_length=12, db_index=True)
    token_hash = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=120, blank=True)
    scopes = models.CharField(
        max_length=300, blank=True, help_text=_("Alcances SMART separados por espacios")
    )
    # SMART launch context: the one patient (Person.public_id, the FHIR Patient id) this token is
    # bound to. With it, every read and write is confined to that patient's records.
    patient_public_id = models.UUIDField(
        null=True, blank=True, help_text=_("Paciente al que se limita el token (contexto SMART)")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]


class AuditAction(models.TextChoices):
    READ = "read", _("Lectura")
    SEARCH = "search", _("Búsqueda")
    CREATE = "create", _("Alta")
    UPDATE = "update", _("Modificación")
    MERGE = "merge", _("Fusión")
    UNMERGE = "unmerge", _("Separación")
    EXPORT = "export", _("Exportación")
    DENIED = "denied", _("Acceso denegado")


class AuditEvent(models.Model):
    """Append-only: the database refuses UPDATE, DELETE and TRUNCATE on this table (see migration).

    `digest` is the SHA-256 of the row's content, so `bienestar verify` detects a row altered by
    someone who bypassed the triggers.
    """

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_username = models.CharField(max_length=150)
    role = models.CharField(max_length=30, blank=True)
    channel = models.CharField(max_length=10, blank=True)
    action = models.CharField(max_length=10, choices=AuditAction.choices)
    resource_type = models.CharField(max_length=40)
    resource_id = models.CharField(max_length=64, blank=True)
    person_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    client_address = models.GenericIPAddressField(null=True, blank=True)
    query = models.JSONField(null=True, blank=True)
    result_count = models.IntegerField(null=True, blank=True)
    result_ids = models.JSONField(null=True, blank=True)
    # The persons a row lists beyond `person_id` (a search, a queue): "who saw this person's record"
    # is `person_id = X OR person_ids @> {X}`. Derived from `result_ids` (which the digest covers),
    # so left out of the digest: `bienestar audit_backfill_persons` fills it on rows written before it.
    person_ids = ArrayField(models.BigIntegerField(), null=True, blank=True)
    digest = models.CharField(max_length=64)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["actor", "at"]),
            models.Index(fields=["resource_type", "resource_id"]),
            GinIndex(fields=["person_ids"], name="audit_person_ids"),
        ]
        default_permissions = ("view",)
