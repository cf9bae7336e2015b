"""URLs under /fhir/, each answered with and without a trailing slash (no redirect: a POST to
/fhir must reach the Bundle endpoint, not a 301). Bundles (POST /fhir/) and bulk export ($export) are added in their own
modules by inserting their patterns before the catch-all."""

from django.urls import re_path

from bienestar.fhir import slots, views

TYPE = r"(?P<resource_type>[A-Z][A-Za-z]{1,63})"
ID = r"(?P<resource_id>[A-Za-z0-9\-.]{1,64})"

interaction_patterns = [
    re_path(r"^metadata/?$", views.metadata, name="fhir-metadata"),
    # A Slot is computed from its agenda, not a row: its own search and read (fhir/slots.py).
    re_path(r"^Slot/?$", slots.slot_type, name="fhir-slot-type"),
    re_path(rf"^Slot/{ID}/?$", slots.slot_instance, name="fhir-slot-instance"),
    re_path(rf"^Patient/{ID}/\$everything/?$", views.patient_everything, name="fhir-everything"),
    re_path(rf"^{TYPE}/_search/?$", views.search_post, name="fhir-search"),
    re_path(
        rf"^{TYPE}/{ID}/_history/(?P<version_id>[A-Za-z0-9\-.]{{1,64}})/?$",
        views.vread,
        name="fhir-vread",
    ),
    re_path(rf"^{TYPE}/{ID}/_history/?$", views.instance_history, name="fhir-history"),
    re_path(rf"^{TYPE}/{ID}/?$", views.instance, name="fhir-instance"),
    re_path(rf"^{TYPE}/?$", views.type_level, name="fhir-type"),
]

urlpatterns = [
    *interaction_patterns,
    re_path(r"^(?P<path>.*)$", views.not_found, name="fhir-not-found"),
]

# Bundles at the base (POST /fhir/) and bulk data ($export, its status and files), before the
# catch-all.
from bienestar.fhir import bundles  # noqa: E402
from bienestar.fhir.bulk import urls as bulk_urls  # noqa: E402

urlpatterns[-1:-1] = [
    re_path(r"^$", bundles.base_endpoint, name="fhir-base"),
    *bulk_urls.urlpatterns,
]
