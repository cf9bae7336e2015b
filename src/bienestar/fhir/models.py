"""Past versions of resources written through the FHIR API (ADR 0006).

The current version of every resource is computed from its domain row (the row's `version`
counter); this table keeps the earlier states that FHIR clients wrote or replaced, so that `vread`
and `_history` can show them. Rows are only ever inserted.
"""

from __future__ import annotations

from django.db import models


class ResourceVersion(models.Model):
    id = models.BigAutoField(primary_key=True)
    resource_type = models.CharField(max_length=40)
    resource_id = models.CharField(max_length=64)
    version_id = models.CharField(max_length=64)
    last_updated = models.DateTimeField(null=True)
    # The person the resource is about (partitioning, like every clinical row), when there is one.
    person_id = models.BigIntegerField(null=True, blank=True)
    # How this version came to be: "create" or "update" through FHIR, or "replaced" (the state an
    # update through FHIR superseded).
    origin = models.CharField(max_length=10)
    resource = models.JSONField()
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["resource_type", "resource_id", "version_id"],
                name="fhir_resource_version_unique",
            )
        ]
        indexes = [models.Index(fields=["resource_type", "resource_id", "-recorded_at"])]
