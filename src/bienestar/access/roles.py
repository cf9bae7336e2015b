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
    CLINICAL_READ = "clinical.read"
    CLINICAL_WRITE = "clinical.write"
    PRESCRIBE = "prescription.write"
    PRESCRIPTION_READ = "prescription.read"
    DISPENSE = "dispense.write"
    STOCK_READ = "stock.read"
    STOCK_WRITE = "stock.write"
    INDICATOR_READ = "indicator.read"
    # Outreach (issue 12): field work on assigned sectors; rollout planning by coordinators.
    OUTREACH_FIELD = "outreach.field"
    OUTREACH_PLAN = "outreach.plan"
    SCHEDULE_READ = "schedule.read"
    SCHEDULE_MANAGE = "schedule.manage"
    APPOINTMENT_READ = "appointment.read"
    APPOINTMENT_WRITE = "appointment.write"


_ALL_REGISTRY = {Permission.REGISTRY_READ, Permission.WORKFORCE_READ}
_CLINICAL_ALL = {
    Permission.CLINICAL_READ,
    Permission.CLINICAL_WRITE,
    Permission.PRESCRIBE,
    Permission.PRESCRIPTION_READ,
}
_SCHEDULING = {
    Permission.SCHEDULE_READ,
    Permission.SCHEDULE_MANAGE,
    Permission.APPOINTMENT_READ,
    Permission.APPOINTMENT_WRITE,
}
_PHARMACY = {
    Permission.PRESCRIPTION_READ,
    Permission.DISPENSE,
    Permission.STOCK_READ,
    Permission.STOCK_WRITE,
}

ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    Role.NATIONAL_COORDINATOR: frozenset(
        {
            Permission.PERSON_READ,
            Permission.HOUSEHOLD_READ,
            Permission.STOCK_READ,
            Permission.INDICATOR_READ,
            Permission.OUTREACH_PLAN,
            Permission.SCHEDULE_READ,
            *_ALL_REGISTRY,
        }
    ),
    Role.STATE_COORDINATOR: frozenset(
        {
            Permission.PERSON_READ,
            Permission.HOUSEHOLD_READ,
            Permission.STOCK_READ,
            Permission.INDICATOR_READ,
            Permission.OUTREACH_PLAN,
            Permission.SCHEDULE_READ,
            *_ALL_REGISTRY,
        }
    ),
    Role.FACILITY_DIRECTOR: frozenset(
        {
            Permission.PERSON_READ,
            Permission.HOUSEHOLD_READ,
            Permission.CLINICAL_READ,
            Permission.PRESCRIPTION_READ,
            Permission.STOCK_READ,
            Permission.INDICATOR_READ,
            *_SCHEDULING,
            *_ALL_REGISTRY,
        }
    ),
    Role.CLINICIAN: frozenset(
        {
            Permission.PERSON_READ,
            Permission.PERSON_WRITE,
            Permission.HOUSEHOLD_READ,
            Permission.STOCK_READ,
            *_CLINICAL_ALL,
            *_SCHEDULING,
            *_ALL_REGISTRY,
        }
    ),
    Role.PHARMACIST: frozenset(
        {Permission.PERSON_READ, Permission.REGISTRY_READ, Permission.INDICATOR_READ, *_PHARMACY}
    ),
    Role.WAREHOUSE_MANAGER: frozenset(
        {Permission.REGISTRY_READ, Permission.STOCK_READ, Permission.STOCK_WRITE}
    ),
    Role.OUTREACH_MANAGER: frozenset(
        {
            Permission.PERSON_READ,
            Permission.PERSON_WRITE,
            Permission.HOUSEHOLD_READ,
            Permission.HOUSEHOLD_WRITE,
            Permission.REGISTRY_READ,
            Permission.OUTREACH_FIELD,
        }
    ),
    Role.AUDITOR: frozenset({Permission.AUDIT_READ, *_ALL_REGISTRY}),
    Role.INTEGRATOR: frozenset(
        {
            Permission.PERSON_READ,
            Permission.PERSON_WRITE,
            Permission.HOUSEHOLD_READ,
            Permission.HOUSEHOLD_WRITE,
            *_CLINICAL_ALL,
            *_PHARMACY,
            Permission.SCHEDULE_READ,
            Permission.APPOINTMENT_READ,
            Permission.APPOINTMENT_WRITE,
            *_ALL_REGISTRY,
        }
    ),
}
