from django.apps import AppConfig


class FhirBulkConfig(AppConfig):
    """Its own app (label `fhir_bulk`) so that the job tables have their own migrations."""

    name = "bienestar.fhir.bulk"
    label = "fhir_bulk"
    verbose_name = "FHIR bulk data"
    default_auto_field = "django.db.models.BigAutoField"
