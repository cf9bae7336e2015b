from django.apps import AppConfig


class FacilitiesConfig(AppConfig):
    name = "bienestar.facilities"
    label = "facilities"
