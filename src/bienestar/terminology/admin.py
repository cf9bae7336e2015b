from __future__ import annotations

from django.contrib import admin

from bienestar.terminology.models import Icd10Code, LoincCode, Medicine, VaccineScheduleEntry


@admin.register(Icd10Code)
class Icd10CodeAdmin(admin.ModelAdmin):
    list_display = ("code", "description_es", "level", "chapter")
    list_filter = ("level",)
    search_fields = ("code", "code_nodot", "description_es", "description_en")


@admin.register(LoincCode)
class LoincCodeAdmin(admin.ModelAdmin):
    list_display = ("code", "display", "unit")
    search_fields = ("code", "display")


@admin.register(Medicine)
class MedicineAdmin(admin.ModelAdmin):
    list_display = ("key", "generic_name", "form", "strength", "group", "pregnancy_risk")
    list_filter = ("group", "pregnancy_risk")
    search_fields = ("key", "generic_name")


@admin.register(VaccineScheduleEntry)
class VaccineScheduleEntryAdmin(admin.ModelAdmin):
    list_display = ("country", "age_label", "vaccine", "dose", "condition")
    list_filter = ("country", "vaccine")
    search_fields = ("vaccine", "age_label")
