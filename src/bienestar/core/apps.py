from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "bienestar.core"
    label = "core"
    verbose_name = "Core"
