from django.apps import AppConfig


class TerritoriesConfig(AppConfig):
    name = "bienestar.territories"
    label = "territories"
