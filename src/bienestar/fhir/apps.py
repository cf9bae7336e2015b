from django.apps import AppConfig


class FhirConfig(AppConfig):
    name = "bienestar.fhir"
    label = "fhir"
    verbose_name = "FHIR R4"
    default_auto_field = "django.db.models.BigAutoField"
