"""Prescriptions and dispenses in the admin: view only and audited (they are personal data). Writes go
through the services, which keep statuses, stock and the audit log consistent."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from bienestar.access.admin import AuditedReadOnlyAdmin
from bienestar.prescribing.models import Dispense, DispenseLine, Prescription, PrescriptionLine


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


class PrescriptionLineInline(_ReadOnlyInline):
    model = PrescriptionLine
    fields = (
        "position",
        "medicine",
        "dose",
        "frequency",
        "duration_days",
        "quantity",
        "dispensed_quantity",
        "status",
        "fully_dispensed_at",
    )


class DispenseLineInline(_ReadOnlyInline):
    model = DispenseLine
    fields = (
        "prescription_line",
        "quantity",
        "unfilled_quantity",
        "unfilled_reason",
        "unfilled_note",
    )


@admin.register(Prescription)
class PrescriptionAdmin(AuditedReadOnlyAdmin):
    audit_resource_type = "Prescription"
    list_display = ("code", "authored_at", "facility", "status", "valid_until")
    list_filter = ("status",)
    search_fields = ("=code",)
    list_select_related = ("facility",)
    raw_id_fields = ("person", "encounter")
    date_hierarchy = "authored_at"
    show_full_result_count = False
    inlines = (PrescriptionLineInline,)

    def _person_id(self, obj: Any) -> int | None:
        return int(obj.person_id)


@admin.register(Dispense)
class DispenseAdmin(AuditedReadOnlyAdmin):
    audit_resource_type = "Dispense"
    list_display = ("at", "pharmacy", "prescription", "dispensed_by")
    list_select_related = ("pharmacy", "prescription", "dispensed_by")
    raw_id_fields = ("prescription", "person")
    date_hierarchy = "at"
    show_full_result_count = False
    inlines = (DispenseLineInline,)

    def _person_id(self, obj: Any) -> int | None:
        return int(obj.person_id)
