"""Admin for users and tokens, and a read-only view of the audit log."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bienestar.access.actor import Actor, client_address
from bienestar.access.audit import audit_record
from bienestar.access.models import ApiToken, AuditAction, AuditEvent, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = (
        "username",
        "first_name",
        "last_name",
        "role",
        "territory",
        "facility",
        "is_active",
    )
    list_filter = ("role", "is_active", "is_staff", "territory__kind")
    search_fields = ("username", "first_name", "last_name", "email", "territory__path")
    list_select_related = ("territory", "facility")
    autocomplete_fields = ("territory", "facility", "practitioner")
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        (_("Bienestar"), {"fields": ("role", "territory", "facility", "practitioner")}),
    )
    add_fieldsets = (
        *DjangoUserAdmin.add_fieldsets,
        (_("Bienestar"), {"fields": ("role", "territory", "facility")}),
    )


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are created with `bienestar token create` (the plain token is shown once); here they
    can only be looked at and revoked."""

    list_display = (
        "prefix",
        "user",
        "name",
        "scopes",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    )
    list_filter = ("revoked_at",)
    search_fields = ("prefix", "user__username", "name")
    list_select_related = ("user",)
    readonly_fields = (
        "user",
        "prefix",
        "name",
        "scopes",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    )
    exclude = ("token_hash",)
    actions = ("revoke",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Revoked rows stay, so that "which token did this?" can still be answered later.
        return False

    @admin.action(description=_("Revocar los tokens seleccionados"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, _("%(n)d token(s) revocado(s).") % {"n": count})


class ReadOnlyAdmin(admin.ModelAdmin):
    """Append-only records: visible, never added, changed or deleted from the admin."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = (
        "at",
        "actor_username",
        "role",
        "channel",
        "action",
        "resource_type",
        "resource_id",
        "result_count",
    )
    list_filter = ("action", "channel", "resource_type", "role")
    search_fields = ("actor_username", "resource_id")
    date_hierarchy = "at"
    # Counting a log that grows without bound on every page view is what makes admins slow.
    show_full_result_count = False


class AuditedReadOnlyAdmin(ReadOnlyAdmin):
    """Personal data in the admin: view only (writes go through the services, which keep provenance),
    and every list or record shown is written to the audit log like any other read."""

    audit_resource_type = ""

    def _actor(self, request: HttpRequest) -> Actor:
        return Actor(user=request.user, client_address=client_address(request), channel="admin")  # type: ignore[arg-type]

    def _person_id(self, obj: Any) -> int | None:
        return None

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> Any:
        response = super().changelist_view(request, extra_context)
        changelist = (
            getattr(response, "context_data", {}).get("cl")
            if hasattr(response, "context_data")
            else None
        )
        if changelist is not None:
            # list() fills the queryset's cache, which the template then reuses: no second query.
            rows = list(changelist.result_list)
            audit_record(
                self._actor(request),
                action=AuditAction.SEARCH,
                resource_type=self.audit_resource_type,
                query={"admin": True, "q": request.GET.get("q", "")},
                result_ids=[str(r.public_id) for r in rows],
            )
        return response

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> Any:
        response = super().change_view(request, object_id, form_url, extra_context)
        obj = (getattr(response, "context_data", None) or {}).get("original")
        if obj is not None:
            audit_record(
                self._actor(request),
                action=AuditAction.READ,
                resource_type=self.audit_resource_type,
                resource_id=str(obj.public_id),
                person_id=self._person_id(obj),
                query={"admin": True},
            )
        return response
