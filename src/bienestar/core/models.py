"""Base models shared by every domain app. Nothing domain-specific lives here."""

from __future__ import annotations

import uuid

from django.db import models


class BaseModel(models.Model):
    """Internal `bigint` identity; an opaque `public_id` is what leaves the system (URLs, API, FHIR)."""

    id = models.BigAutoField(primary_key=True)
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
