from django.apps import AppConfig


class TerminologyConfig(AppConfig):
    name = "bienestar.terminology"
    label = "terminology"
