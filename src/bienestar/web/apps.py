from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "bienestar.web"
    label = "web"
