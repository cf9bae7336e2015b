from __future__ import annotations

from django.contrib import admin

from bienestar.workforce.models import Position, Practitioner, Specialty, StaffingGoal


@admin.register(Specialty)
class SpecialtyAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "name_en", "is_core", "is_medical")
    list_filter = ("is_core", "is_medical")
    search_fields = ("code", "name", "name_en")


@admin.register(Practitioner)
class PractitionerAdmin(admin.ModelAdmin):
    list_display = ("first_surname", "second_surname", "given_names", "licence_number", "active")
    list_filter = ("active", "specialties")
    search_fields = ("first_surname", "second_surname", "given_names", "licence_number")
    filter_horizontal = ("specialties",)
    readonly_fields = ("public_id", "created_at", "updated_at")


@admin.register(Position)
class PositionAdmin(admin.ModelAdmin):
    list_display = ("facility", "specialty", "practitioner", "since", "shift")
    list_filter = ("specialty", "facility__institution")
    search_fields = (
        "facility__clues",
        "facility__name",
        "practitioner__licence_number",
        "practitioner__first_surname",
    )
    list_select_related = ("facility", "specialty", "practitioner")
    raw_id_fields = ("facility", "practitioner")


@admin.register(StaffingGoal)
class StaffingGoalAdmin(admin.ModelAdmin):
    list_display = ("facility", "specialty", "goal")
    list_filter = ("specialty",)
    search_fields = ("facility__clues", "facility__name")
    list_select_related = ("facility", "specialty")
    raw_id_fields = ("facility",)
