"""Persons in the admin: view only and audited. Registering, correcting, merging and unmerging go
through the services, which keep provenance (PersonChange) and check territory; a person is never
deleted."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from bienestar.access.admin import AuditedReadOnlyAdmin, ReadOnlyAdmin
from bienestar.people.models import (
    IdentifierSystemEntry,
    IssuedHealthId,
    Person,
    PersonAddress,
    PersonAffiliation,
    PersonChange,
    PersonContact,
    PersonIdentifier,
    PersonMerge,
    PersonSourceRecord,
)


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


class IdentifierInline(_ReadOnlyInline):
    model = PersonIdentifier
    fields = ("system", "value", "source", "valid_until")


class AffiliationInline(_ReadOnlyInline):
    model = PersonAffiliation
    fields = ("scheme", "insurer", "member_number", "start", "end", "source")


class AddressInline(_ReadOnlyInline):
    model = PersonAddress
    fk_name = "person"
    fields = ("use", "line", "neighbourhood", "postal_code", "territory", "start", "end")


class ContactInline(_ReadOnlyInline):
    model = PersonContact
    fields = ("system", "value")


@admin.register(Person)
class PersonAdmin(AuditedReadOnlyAdmin):
    audit_resource_type = "Person"
    list_display = (
        "national_health_id",
        "first_surname",
        "second_surname",
        "given_names",
        "birth_date",
        "sex",
        "territory",
        "status",
    )
    list_filter = ("status", "sex", "territory__kind")
    search_fields = ("=national_health_id", "=identifiers__value", "first_surname", "given_names")
    list_select_related = ("territory",)
    show_full_result_count = False
    exclude = ("name_search",)
    inlines = (IdentifierInline, AffiliationInline, AddressInline, ContactInline)

    def _person_id(self, obj: Any) -> int | None:
        return int(obj.pk)


@admin.register(PersonChange)
class PersonChangeAdmin(ReadOnlyAdmin):
    list_display = ("at", "person", "actor", "source", "action")
    list_filter = ("source", "action")
    list_select_related = ("person", "actor")
    raw_id_fields = ("person",)
    date_hierarchy = "at"
    show_full_result_count = False


@admin.register(PersonMerge)
class PersonMergeAdmin(ReadOnlyAdmin):
    list_display = ("at", "survivor", "merged", "actor", "match_score", "undone_at")
    list_filter = ("undone_at",)
    list_select_related = ("survivor", "merged", "actor")


@admin.register(PersonSourceRecord)
class PersonSourceRecordAdmin(ReadOnlyAdmin):
    list_display = ("source_system", "source_record_id", "person", "received_at")
    list_filter = ("source_system",)
    search_fields = ("=source_record_id",)
    list_select_related = ("person",)


@admin.register(IssuedHealthId)
class IssuedHealthIdAdmin(ReadOnlyAdmin):
    list_display = ("value", "issued_at")
    search_fields = ("=value",)


@admin.register(IdentifierSystemEntry)
class IdentifierSystemEntryAdmin(admin.ModelAdmin):
    """The registry of identifier systems (no personal data): an administrator names the systems
    clients sent, sets a rule when one is known and marks them verified. Never deleted: stored
    identifiers refer to them."""

    list_display = ("code", "name", "issuer", "country", "rule", "status", "first_seen_at")
    list_filter = ("status", "country", "rule")
    search_fields = ("code", "uri", "name", "issuer")
    readonly_fields = ("code", "uri", "first_seen_at", "first_seen_via")

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False
