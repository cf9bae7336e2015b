"""Households in the admin: view only and audited, like persons."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from bienestar.access.admin import AuditedReadOnlyAdmin
from bienestar.households.models import Household, HouseholdMember


class MemberInline(admin.TabularInline):
    model = HouseholdMember
    extra = 0
    can_delete = False
    fields = ("person", "relationship", "since", "until")

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Household)
class HouseholdAdmin(AuditedReadOnlyAdmin):
    audit_resource_type = "Household"
    list_display = (
        "public_id",
        "territory",
        "neighbourhood",
        "postal_code",
        "socioeconomic_stratum",
    )
    list_filter = ("territory__kind", "socioeconomic_stratum", "piped_water", "dirt_floor")
    search_fields = ("territory__path", "postal_code")
    list_select_related = ("territory",)
    show_full_result_count = False
    inlines = (MemberInline,)
