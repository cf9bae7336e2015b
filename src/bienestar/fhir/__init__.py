"""FHIR R4 adapter over the domain: scoped selectors for reads, domain services for writes."""
