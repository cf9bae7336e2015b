"""Prescriptions, dispenses and the ledger in the admin: pages load, nothing is editable, reads of
prescriptions are audited."""

from __future__ import annotations

import pytest
from django.urls import reverse

from bienestar.access.models import AuditEvent
from bienestar.access.tests.factories import UserFactory
from bienestar.inventory.models import StockMovement
from bienestar.inventory.tests.factories import METFORMIN, receive
from bienestar.prescribing.models import Dispense
from bienestar.prescribing.services import dispense_record
from bienestar.prescribing.tests.factories import fill, line, prescribe

pytestmark = pytest.mark.django_db


def test_admin_pages_load_read_only_and_audited(client, net, jose):
    receive(net.actor("pharmacist"), net.centre, METFORMIN, 50)
    p = prescribe(net, jose, line(METFORMIN, 20))
    dispense_record(net.actor("pharmacist"), prescription=p, pharmacy=net.centre, lines=fill(p, 20))
    client.force_login(UserFactory(username="root", is_superuser=True, is_staff=True, role=""))
    for obj in (p, Dispense.objects.get(), StockMovement.objects.first()):
        meta = obj._meta
        before = AuditEvent.objects.count()
        changelist = client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        page = client.get(
            reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
        )
        assert changelist.status_code == page.status_code == 200
        assert b'name="_save"' not in page.content
        if meta.model_name in ("prescription", "dispense"):
            assert AuditEvent.objects.count() == before + 2
            assert AuditEvent.objects.latest("id").person_id == jose.id
        else:
            assert AuditEvent.objects.count() == before
