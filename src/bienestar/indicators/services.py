"""Publishing a period of an indicator: its current aggregates frozen as a new version.

A month once published stays as published (PublishedValue rows never change); publishing the same
period again — after a correction of the records and a refresh — makes version n+1, and every
version stays readable. Only the national coordination publishes (the figures of every state)."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.access.audit import audit_record
from bienestar.access.errors import Forbidden
from bienestar.access.models import AuditAction
from bienestar.access.permissions import require
from bienestar.access.roles import Permission, Role
from bienestar.core.errors import ValidationFailed
from bienestar.indicators.models import Aggregate, Publication, PublishedValue
from bienestar.indicators.selectors import definition_or_404


def publication_create(*, actor: Actor, indicator: str, period: str, note: str = "") -> Publication:
    """Freeze the indicator's aggregates of `period` (every level, area and disaggregation) as the
    next version. Atomic (a row lock on the indicator's publications serialises two publishers);
    audited. Refuses a period with no aggregates."""
    require(actor, Permission.INDICATOR_READ)
    if actor.role != Role.NATIONAL_COORDINATOR or actor.scope_path != "MX":
        raise Forbidden(_("Solo la coordinación nacional publica cifras."))
    definition = definition_or_404(indicator)
    with transaction.atomic():
        list(Publication.objects.select_for_update().filter(indicator=indicator, period=period))
        rows = list(
            Aggregate.objects.filter(indicator=indicator, period=period).values_list(
                "level", "area", "dimension", "category", "numerator", "denominator"
            )
        )
        if not rows:
            raise ValidationFailed(_("No hay cifras calculadas para ese periodo."), field="period")
        last = Publication.objects.filter(indicator=indicator, period=period).aggregate(
            v=Max("version")
        )["v"]
        assert actor.user is not None
        publication = Publication.objects.create(
            indicator=indicator,
            definition_version=definition.version,
            period=period,
            version=(last or 0) + 1,
            published_at=timezone.now(),
            published_by=actor.user,
            note=note[:300],
        )
        PublishedValue.objects.bulk_create(
            PublishedValue(
                publication=publication,
                level=level,
                area=area,
                dimension=dimension,
                category=category,
                numerator=num,
                denominator=den,
            )
            for level, area, dimension, category, num, den in rows
        )
        audit_record(
            actor,
            action=AuditAction.CREATE,
            resource_type="IndicatorPublication",
            resource_id=str(publication.id),
            query={"indicator": indicator, "period": period, "version": publication.version},
        )
    return publication
