"""Two copies of one dispense form sent at once (a double tap, or two pharmacists on one voucher).

Both requests read the prescription and pass the page's own version check before either writes:
the test holds the prescription's row lock until both are waiting for it inside the dispensing
service, then lets them go. Exactly one dispense must be recorded; the other request is told the
prescription changed (409) and nothing of it is written.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections, transaction
from django.test import Client
from django.urls import reverse

from bienestar.inventory.models import Lot, StockMovement
from bienestar.inventory.tests.factories import METFORMIN, build_network, receive
from bienestar.prescribing.models import Dispense, Prescription, UnfilledReason
from bienestar.prescribing.tests.factories import line, prescribe


def _waiting_for_locks() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return int(cursor.fetchone()[0])


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_submissions_of_one_form_record_one_dispense(geo, users, jose):
    net = build_network(geo, users)
    receive(net.actor("pharmacist"), net.centre, METFORMIN, 100, lot_number="MET-RACE")
    rx = prescribe(net, jose, line(METFORMIN, 10))
    pl = rx.lines.get()
    form = {
        "version": Prescription.objects.get(pk=rx.pk).version,
        f"cantidad-{pl.public_id}": "4",
        f"motivo-{pl.public_id}": UnfilledReason.PATIENT_DECLINED,
        f"nota-{pl.public_id}": "",
    }
    url = reverse("dispense", args=[rx.public_id])
    clients = []
    for _ in range(2):
        client = Client()
        client.force_login(net.users["pharmacist"])
        clients.append(client)
    answers: list[tuple[int, str]] = []
    errors: list[BaseException] = []

    def send(client: Client) -> None:
        try:
            response = client.post(url, form)
            answers.append((response.status_code, response.content.decode()))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    with transaction.atomic():
        # Hold the prescription: both requests get past the page and queue on its row lock.
        Prescription.objects.select_for_update().get(pk=rx.pk)
        threads = [threading.Thread(target=send, args=(c,)) for c in clients]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while _waiting_for_locks() < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _waiting_for_locks() == 2
    for t in threads:
        t.join(timeout=60)
    connections.close_all()

    assert errors == []
    assert sorted(status for status, _body in answers) == [302, 409]
    refused = next(body for status, body in answers if status == 409)
    assert "La receta cambió desde que abrió esta página" in refused
    assert Dispense.objects.filter(prescription=rx).count() == 1
    rx.refresh_from_db()
    assert rx.lines.get().dispensed_quantity == 4
    assert Lot.objects.get(lot_number="MET-RACE").quantity == 96
    assert StockMovement.objects.filter(kind="dispense").count() == 1
