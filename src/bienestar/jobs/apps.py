from django.apps import AppConfig


class JobsConfig(AppConfig):
    """Background jobs the users see: a Job row per job, run by Procrastinate workers (ADR 0009)."""

    name = "bienestar.jobs"
    label = "jobs"
