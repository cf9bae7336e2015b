from django.apps import AppConfig


class SynthConfig(AppConfig):
    name = "bienestar.synth"
    label = "synth"
