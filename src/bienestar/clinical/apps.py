from django.apps import AppConfig


class ClinicalConfig(AppConfig):
    name = "bienestar.clinical"
    label = "clinical"
