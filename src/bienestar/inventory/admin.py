"""Stock in the admin: view only. Every change of a balance goes through the services, which write the
ledger; an admin form that edited `quantity` would break "balance = sum of ledger"."""

from __future__ import annotations

from django.contrib import admin

from bienestar.access.admin import ReadOnlyAdmin
from bienestar.inventory.models import Lot, StockMovement


@admin.register(Lot)
class LotAdmin(ReadOnlyAdmin):
    list_display = ("medicine", "lot_number", "expiry", "quantity", "facility")
    list_filter = ("expiry",)
    search_fields = ("=medicine__key", "medicine__generic_name", "lot_number", "=facility__clues")
    list_select_related = ("medicine", "facility")
    show_full_result_count = False


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdmin):
    list_display = (
        "at",
        "facility",
        "medicine",
        "lot",
        "kind",
        "quantity",
        "balance_after",
        "actor_username",
    )
    list_filter = ("kind", "reason")
    search_fields = ("=medicine__key", "=reference", "=lot__lot_number", "=facility__clues")
    list_select_related = ("facility", "medicine", "lot")
    # The person a dispense went to is not shown here: stock screens carry no personal data.
    exclude = ("person_id",)
    date_hierarchy = "at"
    show_full_result_count = False
