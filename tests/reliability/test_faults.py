"""Kill the server with SIGKILL in the middle of a burst of dispensing (JSON API) and of a burst of
FHIR transaction Bundles, start it again, and prove that nothing is half-written and that sending
every request again applies each one once.

The burst goes through the JSON API of a real `bienestar serve` (gunicorn, 2 workers x 4 threads)
on 127.0.0.1, from 8 client threads, each request carrying an `Idempotency-Key`. The master and its
workers are killed together (no graceful shutdown) once some dispenses have been answered and
others are still in flight. Then:

- `bienestar verify` (a subprocess) exits 0: balances equal their ledgers, no negative stock, every
  dispensed unit left the ledger, dispensed quantities add up, the audit log is intact;
- every dispense has all its lines, and every line its stock movements;
- every request is sent again with its key: the ones that were recorded answer as replays, the
  others are recorded now, and in the end each prescription has exactly one dispense.

For the Bundles (10 Patients each, each entry a conditional create on the patient's CURP): every
Bundle is all there or not there at all, and sending them all again leaves exactly 10 patients per
Bundle (FHIR's own idempotency: `ifNoneExist`). The bulk `$import` has no fault test yet.
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from typing import Any

import pytest
from django.db import connection

from bienestar.inventory.tests.factories import ENALAPRIL, METFORMIN, receive
from bienestar.people.tests.factories import PersonFactory
from bienestar.prescribing.models import Dispense, DispenseLine, PrescriptionStatus
from bienestar.prescribing.tests.factories import line, prescribe

from .helpers import build_world, child_database_url, http_session, run_verify

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]

PRESCRIPTIONS = 48
CLIENTS = 8
KILL_AFTER_ANSWERS = 12


def _body(p: Any) -> dict[str, Any]:
    return {
        "lines": [
            {"line": str(pl.public_id), "quantity": pl.quantity}
            for pl in p.lines.order_by("position")
        ]
    }


def _partial_dispenses() -> list[str]:
    """Dispenses missing a line, and dispensed lines whose stock movements do not add up."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT d.public_id FROM prescribing_dispense d
               WHERE (SELECT count(*) FROM prescribing_dispenseline dl WHERE dl.dispense_id = d.id)
                   <> (SELECT count(*) FROM prescribing_prescriptionline pl
                       WHERE pl.prescription_id = d.prescription_id)"""
        )
        missing_lines = [f"dispense {r[0]} lacks lines" for r in cursor.fetchall()]
        cursor.execute(
            """SELECT dl.public_id FROM prescribing_dispenseline dl
               WHERE dl.quantity <> coalesce((SELECT -sum(m.quantity) FROM inventory_stockmovement m
                     WHERE m.reference = 'dispense-line:' || dl.public_id::text), 0)"""
        )
        unmoved = [f"dispense line {r[0]} without its movements" for r in cursor.fetchall()]
    return missing_lines + unmoved


def _burst_then_kill(
    srv: Any, items: list[Any], send: Any, kill_after: int
) -> tuple[list[int], list[str]]:
    """Send `items` from CLIENTS threads (keep-alive sessions) and SIGKILL the server once
    `kill_after` answers have arrived. Returns the statuses answered and the requests lost."""
    todo: queue.Queue[Any] = queue.Queue()
    for item in items:
        todo.put(item)
    answered: list[int] = []
    lost: list[str] = []
    killed = threading.Event()
    lock = threading.Lock()

    def client() -> None:
        session = http_session()
        while not killed.is_set():
            try:
                item = todo.get_nowait()
            except queue.Empty:
                return
            try:
                status = send(session, item)
                with lock:
                    answered.append(status)
            except Exception as exc:  # the kill: connection reset, refused, or no answer
                with lock:
                    lost.append(type(exc).__name__)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while len(answered) < kill_after and time.monotonic() < deadline:
        time.sleep(0.005)
    srv.kill()
    killed.set()
    for t in threads:
        t.join(timeout=60)
    return answered, lost


def test_sigkill_mid_burst_leaves_nothing_partial_and_resends_apply_once(geo, users, serve):
    world = build_world(geo, users)
    net = world.net
    receive(net.actor("pharmacist"), net.centre, METFORMIN, 5000, lot_number="F1")
    receive(net.actor("pharmacist"), net.centre, ENALAPRIL, 5000, lot_number="F2")
    prescriptions = [
        prescribe(
            net,
            PersonFactory(territory=geo["oaxaca_centro"]),
            line(METFORMIN, 30),
            line(ENALAPRIL, 20),
        )
        for _ in range(PRESCRIPTIONS)
    ]
    requests_ = [(p, _body(p), f"fault-{p.public_id}") for p in prescriptions]
    token = world.token("pharmacist")
    database_url = child_database_url()
    connection.close()  # the server's workers and the verify subprocess get their own

    srv = serve()

    def send(session: Any, item: tuple[Any, dict[str, Any], str]) -> int:
        p, data, key = item
        r = session.post(
            f"{srv.url}/api/prescriptions/{p.public_id}/dispenses",
            json=data,
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
            timeout=30,
        )
        return int(r.status_code)

    answered, lost = _burst_then_kill(srv, requests_, send, KILL_AFTER_ANSWERS)

    assert answered, "no dispense was answered before the kill"
    assert set(answered) == {201}, answered
    assert len(answered) < PRESCRIPTIONS, "the burst finished before the kill: nothing was tested"

    result = run_verify(database_url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert _partial_dispenses() == []
    burst = Dispense.objects.filter(prescription__in=prescriptions)
    recorded_before = burst.count()
    assert len(answered) <= recorded_before <= len(answered) + len(lost) + CLIENTS

    # Restart and send everything again, with the same keys.
    srv2 = serve()
    session = http_session(token)
    replays = 0
    for p, data, key in requests_:
        r = session.post(
            f"{srv2.url}/api/prescriptions/{p.public_id}/dispenses",
            json=data,
            headers={"Idempotency-Key": key},
            timeout=30,
        )
        assert r.status_code == 201, (r.status_code, r.text[:500])
        replays += r.headers.get("Idempotent-Replayed") == "true"
        assert r.json()["status"] == PrescriptionStatus.COMPLETED
    assert replays == recorded_before
    assert burst.count() == PRESCRIPTIONS
    assert DispenseLine.objects.filter(dispense__prescription__in=prescriptions).count() == (
        2 * PRESCRIPTIONS
    )
    for p in prescriptions:
        assert Dispense.objects.filter(prescription=p).count() == 1
    assert _partial_dispenses() == []
    result = run_verify(database_url)
    assert result.returncode == 0, result.stdout + result.stderr


BUNDLES = 24
PER_BUNDLE = 10
KILL_AFTER_BUNDLES = 4


def _curp(n: int) -> str:
    """A well-formed synthetic CURP (valid structure and check digit), distinct for each n < 8,000."""
    from bienestar.people.curp import check_digit

    month, day, homonym = 1 + n % 12, 1 + (n // 12) % 28, "0123456789"[(n // 336) % 10]
    first17 = f"LOTE70{month:02d}{day:02d}MOCRPS{homonym}"
    return first17 + check_digit(first17)


def _surname(i: int) -> str:
    return "Lote" + "abcdefghijklmnopqrstuvwxyz"[i // 26] + "abcdefghijklmnopqrstuvwxyz"[i % 26]


def _bundle(i: int) -> dict[str, Any]:
    from bienestar.fhir import systems

    entries = []
    for k in range(PER_BUNDLE):
        curp = _curp(i * PER_BUNDLE + k)
        entries.append(
            {
                "fullUrl": f"urn:uuid:{uuid.uuid4()}",
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [{"system": systems.CURP, "value": curp}],
                    "name": [{"family": f"{_surname(i)} Pérez", "given": [GIVEN[k]]}],
                    "gender": "female",
                    "birthDate": "1970-06-15",
                    "address": [
                        {
                            "extension": [
                                {"url": systems.TERRITORY_EXTENSION, "valueCode": "MX.20.067"}
                            ]
                        }
                    ],
                },
                "request": {
                    "method": "POST",
                    "url": "Patient",
                    "ifNoneExist": f"identifier={systems.CURP}|{curp}",
                },
            }
        )
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


GIVEN = ["Ana", "Rosa", "Luz", "Inés", "Sara", "Alma", "Elsa", "Irma", "Olga", "Rita"]


def _bundle_sizes() -> list[int]:
    from bienestar.people.models import Person

    return [Person.objects.filter(first_surname=_surname(i)).count() for i in range(BUNDLES)]


def test_sigkill_mid_fhir_transactions_leaves_whole_bundles_and_resends_apply_once(
    geo, users, serve
):
    world = build_world(geo, users)
    token = world.token("clinician")
    database_url = child_database_url()
    bundles = [(i, _bundle(i)) for i in range(BUNDLES)]
    connection.close()
    srv = serve()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}

    def send(session: Any, item: tuple[int, dict[str, Any]]) -> int:
        r = session.post(f"{srv.url}/fhir/", json=item[1], headers=headers, timeout=60)
        return int(r.status_code)

    answered, _lost = _burst_then_kill(srv, bundles, send, KILL_AFTER_BUNDLES)
    assert answered and set(answered) == {200}, answered
    assert len(answered) < BUNDLES, "every Bundle finished before the kill: nothing was tested"

    result = run_verify(database_url)
    assert result.returncode == 0, result.stdout + result.stderr
    sizes = _bundle_sizes()
    assert set(sizes) <= {0, PER_BUNDLE}, sizes  # all of a Bundle, or nothing of it
    assert sizes.count(PER_BUNDLE) >= len(answered)

    srv2 = serve()
    session = http_session()
    for _i, bundle in bundles:
        r = session.post(f"{srv2.url}/fhir/", json=bundle, headers=headers, timeout=60)
        assert r.status_code == 200, (r.status_code, r.text[:500])
    assert _bundle_sizes() == [PER_BUNDLE] * BUNDLES
    result = run_verify(database_url)
    assert result.returncode == 0, result.stdout + result.stderr
