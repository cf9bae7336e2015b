from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "bienestar.scheduling"
    label = "scheduling"
