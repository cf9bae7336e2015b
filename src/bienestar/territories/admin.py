from __future__ import annotations

from django.contrib import admin

from bienestar.territories.models import PopulationDenominator, Subnetwork, Territory


@admin.register(Subnetwork)
class SubnetworkAdmin(admin.ModelAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name")


class PopulationInline(admin.TabularInline):
    model = PopulationDenominator
    extra = 0
    fields = ("year", "total", "male", "female", "uninsured", "source")


@admin.register(Territory)
class TerritoryAdmin(admin.ModelAdmin):
    list_display = ("path", "name", "kind", "code", "area", "subnetwork", "rollout_phase")
    list_filter = ("kind", "area", "subnetwork", "rollout_phase")
    search_fields = ("path", "name", "code")
    list_select_related = ("subnetwork",)
    raw_id_fields = ("parent",)
    readonly_fields = ("public_id", "created_at", "updated_at")
    inlines = (PopulationInline,)


@admin.register(PopulationDenominator)
class PopulationDenominatorAdmin(admin.ModelAdmin):
    list_display = ("territory", "year", "total", "uninsured", "source")
    list_filter = ("year", "source", "territory__kind")
    search_fields = ("territory__path", "territory__name")
    list_select_related = ("territory",)
    raw_id_fields = ("territory",)
