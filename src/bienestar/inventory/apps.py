from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "bienestar.inventory"
    label = "inventory"
