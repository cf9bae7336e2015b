"""Clinical records in the admin: view only and audited like persons. Every write goes through the
services, which check the territory, the facility and the physiological ranges."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from bienestar.access.admin import AuditedReadOnlyAdmin
from bienestar.clinical.models import (
    AllergyIntolerance,
    Condition,
    Encounter,
    Immunization,
    Observation,
)


class _ClinicalAdmin(AuditedReadOnlyAdmin):
    show_full_result_count = False

    def _person_id(self, obj: Any) -> int | None:
        return int(obj.person_id)


@admin.register(Encounter)
class EncounterAdmin(_ClinicalAdmin):
    audit_resource_type = "Encounter"
    list_display = ("start", "encounter_class", "status", "facility", "practitioner", "reason_code")
    list_filter = ("encounter_class", "status")
    list_select_related = ("facility", "practitioner", "reason_code")
    raw_id_fields = ("person", "facility", "practitioner", "recorded_by", "reason_code")
    date_hierarchy = "start"


@admin.register(Condition)
class ConditionAdmin(_ClinicalAdmin):
    audit_resource_type = "Condition"
    list_display = ("recorded_at", "code", "clinical_status", "verification_status", "facility")
    list_filter = ("clinical_status", "verification_status")
    list_select_related = ("code", "facility")
    raw_id_fields = ("person", "facility", "encounter", "code", "recorded_by")


@admin.register(Observation)
class ObservationAdmin(_ClinicalAdmin):
    audit_resource_type = "Observation"
    list_display = ("effective_at", "code", "value", "unit", "derived", "status", "facility")
    list_filter = ("code", "status", "derived")
    list_select_related = ("facility",)
    raw_id_fields = ("person", "facility", "encounter", "panel", "recorded_by")


@admin.register(AllergyIntolerance)
class AllergyIntoleranceAdmin(_ClinicalAdmin):
    audit_resource_type = "AllergyIntolerance"
    list_display = ("recorded_at", "substance", "medicine", "category", "criticality", "status")
    list_filter = ("category", "criticality", "status")
    list_select_related = ("medicine",)
    raw_id_fields = ("person", "facility", "encounter", "medicine", "recorded_by")


@admin.register(Immunization)
class ImmunizationAdmin(_ClinicalAdmin):
    audit_resource_type = "Immunization"
    list_display = ("occurrence_date", "vaccine", "dose", "lot", "schedule_fit", "facility")
    list_filter = ("schedule_fit", "status")
    list_select_related = ("facility",)
    raw_id_fields = ("person", "facility", "encounter", "schedule_entry", "recorded_by")
