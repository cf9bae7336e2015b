from django.apps import AppConfig


class WorkforceConfig(AppConfig):
    name = "bienestar.workforce"
    label = "workforce"
