"""Bulk data URLs under /fhir/ (inserted before the FHIR catch-all by fhir/urls.py)."""

from django.urls import URLPattern, re_path

from bienestar.fhir.bulk import views

_UUID = r"(?P<job_id>[0-9a-fA-F\-]{36})"

urlpatterns: list[URLPattern] = [
    re_path(r"^\$export/?$", views.system_export, name="fhir-export"),
    re_path(r"^Patient/\$export/?$", views.patient_export, name="fhir-export-patient"),
    re_path(
        r"^Group/(?P<group_id>[A-Za-z0-9\-.]{1,64})/\$export/?$",
        views.group_export,
        name="fhir-export-group",
    ),
    re_path(rf"^\$export-status/{_UUID}/?$", views.status, name="fhir-export-status"),
    re_path(
        rf"^\$export-files/{_UUID}/(?P<name>[A-Za-z]+-[0-9]+\.ndjson)/?$",
        views.export_file,
        name="fhir-export-file",
    ),
]
