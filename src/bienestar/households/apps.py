from django.apps import AppConfig


class HouseholdsConfig(AppConfig):
    name = "bienestar.households"
    label = "households"
