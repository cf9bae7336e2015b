from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "bienestar.people"
    label = "people"
