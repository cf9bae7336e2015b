from __future__ import annotations

from django.contrib import admin

from bienestar.facilities.models import Facility, OpeningHours


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    extra = 0
    fields = ("weekday", "opens", "closes")


@admin.register(Facility)
class FacilityAdmin(admin.ModelAdmin):
    list_display = (
        "clues",
        "name",
        "institution",
        "facility_type",
        "level_of_care",
        "territory",
        "in_operation",
    )
    list_filter = ("institution", "facility_type", "level_of_care", "in_operation", "open_24_hours")
    search_fields = ("clues", "other_code", "name", "territory__path", "territory__name")
    list_select_related = ("territory",)
    raw_id_fields = ("territory", "parent")
    readonly_fields = ("public_id", "created_at", "updated_at")
    inlines = (OpeningHoursInline,)
