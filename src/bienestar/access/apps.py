from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "bienestar.access"
    label = "access"
