"""Every resource type the FHIR API serves, registered in bienestar.fhir.registry on import."""

from bienestar.fhir.resources import clinical, people, pharmacy, registries, scheduling

__all__ = ["clinical", "people", "pharmacy", "registries", "scheduling"]
