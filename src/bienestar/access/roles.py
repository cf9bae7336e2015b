"""Roles and permissions: enums, and one typed function to check them."""

from __future__ import annotations

import enum

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    NATIONAL_COORDINATOR = "national_coordinator", _("Coordinación nacional")
    STATE_COORDINATOR = "state_coordinator", _("Coordinación estatal")
    FACILITY_DIRECTOR = "facility_director", _("Dirección de unidad")
    CLINICIAN = "clinician", _("Personal clínico")
    PHARMACIST = "pharmacist", _("Farmacia")
    WAREHOUSE_MANAGER = "warehouse_manager", _("Almacén")
    OUTREACH_MANAGER = "outreach_manager", _("Gestor del bienestar")
    AUDITOR = "auditor", _("Auditoría")
    INTEGRATOR = "integrator", _("Integración (API)")


class Permission(enum.Enum):
    PERSON_READ = "person.read"
    PERSON_WRITE = "person.write"
    HOUSEHOLD_READ = "household.read"
    HOUSEHOLD_WRITE = "household.write"
    AUDIT_READ = "audit.read"
    REGISTRY_READ = "registry.read"
    WORKFORCE_READ = "workforce.read"


_ALL_REGISTRY = {Permission.REGISTRY_READ, Permission.WORKFORCE_READ}

ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    Role.NATIONAL_COORDINATOR: frozenset({Permission.PERSON_READ, Permission.HOUSEHOLD_READ, *_ALL_REGISTRY}),
    Role.STATE_COORDINATOR: frozenset({Permission.PERSON_READ, Permission.HOUSEHOLD_READ, *_ALL_REGISTRY}),
    Role.FACILITY_DIRECTOR: frozenset({Permission.PERSON_READ, Permission.HOUSEHOLD_READ, *_ALL_REGISTRY}),
    Role.CLINICIAN: frozenset({Permission.PERSON_READ, Permission.PERSON_WRITE, Permission.HOUSEHOLD_READ, *_ALL_REGISTRY}),
    Role.PHARMACIST: frozenset({Permission.PERSON_READ, Permission.REGISTRY_READ}),
    Role.WAREHOUSE_MANAGER: frozenset({Permission.REGISTRY_READ}),
    Role.OUTREACH_MANAGER: frozenset({
        Permission.PERSON_READ, Permission.PERSON_WRITE, Permission.HOUSEHOLD_READ, Permission.HOUSEHOLD_WRITE,
        Permission.REGISTRY_READ,
    }),
    Role.AUDITOR: frozenset({Permission.AUDIT_READ, *_ALL_REGISTRY}),
    Role.INTEGRATOR: frozenset({
        Permission.PERSON_READ, Permission.PERSON_WRITE, Permission.HOUSEHOLD_READ, Permission.HOUSEHOLD_WRITE,
        *_ALL_REGISTRY,
    }),
}
