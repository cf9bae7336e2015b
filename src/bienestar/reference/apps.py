from django.apps import AppConfig


class ReferenceConfig(AppConfig):
    name = "bienestar.reference"
    label = "reference"
