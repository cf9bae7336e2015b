from django.apps import AppConfig


class PrescribingConfig(AppConfig):
    name = "bienestar.prescribing"
    label = "prescribing"
