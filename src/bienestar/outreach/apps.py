from django.apps import AppConfig


class OutreachConfig(AppConfig):
    name = "bienestar.outreach"
    label = "outreach"
