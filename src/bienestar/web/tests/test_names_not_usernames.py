"""People, not usernames: who dispensed and who moved stock are shown by full name and role."""

from __future__ import annotations

import pytest
from django.urls import reverse

from bienestar.inventory.tests.factories import METFORMIN, build_network, receive
from bienestar.prescribing.services import dispense_record
from bienestar.prescribing.tests.factories import fill, line, prescribe

pytestmark = pytest.mark.django_db


def test_receipt_history_and_ledger_name_the_pharmacist(client_for, geo, users, jose):
    net = build_network(geo, users)
    pharmacist = users["pharmacist"]
    pharmacist.first_name, pharmacist.last_name = "Pedro", "Sánchez Díaz"
    pharmacist.save()
    receive(net.actor("pharmacist"), net.centre, METFORMIN, 50)
    rx = prescribe(net, jose, line(METFORMIN, 10))
    done = dispense_record(
        net.actor("pharmacist"),
        prescription=rx,
        pharmacy=net.centre,
        lines=fill(rx, (4, "patient_declined")),
    )
    client = client_for(pharmacist)

    pages = [
        client.get(reverse("dispense_receipt", args=[done.public_id])),
        client.get(reverse("dispense", args=[rx.public_id])),
        client.get(reverse("stock_ledger", args=[net.centre.public_id])),
    ]

    for page in pages:
        body = page.content.decode()
        assert page.status_code == 200
        assert "Pedro Sánchez Díaz · Farmacia" in body
        assert ">pharmacist<" not in body and " pharmacist." not in body
