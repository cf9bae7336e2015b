from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Operating commands that compose the domain apps: demo, serve, verify, bench."""

    name = "bienestar.ops"
    label = "ops"
