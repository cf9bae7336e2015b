"""Soak: a mixed load against a real `bienestar serve` for a bounded time, with zero 5xx and the
memory of the gunicorn workers held within a stated bound.

The mix, from CLIENTS keep-alive client threads on 127.0.0.1: person search by name (with typos),
person read, facility list, the pharmacy's stock, and dispenses (each with an Idempotency-Key).
Duration: BIENESTAR_SOAK_SECONDS (20 s by default, so that `make test` stays short; the bench
README shows how to run it for 10 minutes).

Memory bound: after a warm-up (the first WARMUP_S seconds, when imports, caches and connection
pools fill), the resident set size (RSS) of each worker may grow by at most
RSS_GROWTH_BOUND_MB. A leak of even a few kilobytes per request breaks this over a long run, since a
worker serves thousands of requests here.
"""

from __future__ import annotations

import collections
import contextlib
import os
import random
import threading
import time

import psutil
import pytest
from django.db import connection

from bienestar.facilities.models import Facility
from bienestar.inventory import checks as inventory_checks
from bienestar.inventory.tests.factories import METFORMIN, receive
from bienestar.people.tests.factories import PersonFactory
from bienestar.prescribing import checks as prescribing_checks
from bienestar.prescribing.models import Prescription, PrescriptionLine

from .helpers import build_world, http_session, server_errors_in_log

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]

SOAK_SECONDS = float(os.environ.get("BIENESTAR_SOAK_SECONDS", "20"))
CLIENTS = 4
WARMUP_S = min(5.0, SOAK_SECONDS / 4)
RSS_GROWTH_BOUND_MB = 20 + SOAK_SECONDS / 60  # 20 MB, plus 1 MB a minute on long runs
PRESCRIPTIONS = int(SOAK_SECONDS * 6) + 20
SURNAMES = ["García", "Martínez", "López", "Hernández", "Ramírez", "Cruz", "Santiago", "Ortiz"]
GIVEN = ["José", "María", "Guadalupe", "Juan", "Rosa", "Pedro", "Juana", "Miguel"]


def _typo(text: str, rng: random.Random) -> str:
    if len(text) < 5:
        return text
    i = rng.randrange(1, len(text) - 2)
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


def _rss_mb(pids: list[int]) -> dict[int, float]:
    out = {}
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            out[pid] = psutil.Process(pid).memory_info().rss / 2**20
    return out


def test_mixed_load_has_no_5xx_and_bounded_memory(geo, users, serve):
    world = build_world(geo, users)
    net = world.net
    rng = random.Random(5)
    people = [
        PersonFactory(
            territory=geo["oaxaca_centro"],
            given_names=rng.choice(GIVEN),
            first_surname=rng.choice(SURNAMES),
            second_surname=rng.choice(SURNAMES),
        )
        for _ in range(40)
    ]
    receive(net.actor("pharmacist"), net.centre, METFORMIN, 100_000, lot_number="S1")
    from bienestar.prescribing.tests.factories import line, prescribe

    rx = [prescribe(net, rng.choice(people), line(METFORMIN, 10)) for _ in range(PRESCRIPTIONS)]
    lines = dict(
        PrescriptionLine.objects.filter(prescription__in=rx).values_list(
            "prescription__public_id", "public_id"
        )
    )
    dispense_queue = collections.deque((str(p), str(lines[p])) for p in lines)
    names = [f"{p.given_names} {p.first_surname}" for p in people]
    person_ids = [str(p.public_id) for p in people]
    centre = str(Facility.objects.get(pk=net.centre.pk).public_id)
    clinician, pharmacist = world.token("clinician"), world.token("pharmacist")
    connection.close()

    srv = serve(workers=2, threads=4)
    statuses: collections.Counter[tuple[str, int]] = collections.Counter()
    failures: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client(seed: int) -> None:
        r = random.Random(seed)
        as_clinician, as_pharmacist = http_session(clinician), http_session(pharmacist)
        while not stop.is_set():
            pick = r.random()
            if pick >= 0.85 and not dispense_queue:
                pick = r.random() * 0.85  # no prescription left to dispense: read instead
            try:
                if pick < 0.35:
                    kind = "search"
                    resp = as_clinician.get(
                        f"{srv.url}/api/people/",
                        params={"q": _typo(r.choice(names), r)},
                        timeout=30,
                    )
                elif pick < 0.55:
                    kind = "person"
                    resp = as_clinician.get(
                        f"{srv.url}/api/people/{r.choice(person_ids)}", timeout=30
                    )
                elif pick < 0.70:
                    kind = "facilities"
                    resp = as_clinician.get(
                        f"{srv.url}/api/facilities/", params={"limit": 20}, timeout=30
                    )
                elif pick < 0.85:
                    kind = "stock"
                    resp = as_pharmacist.get(
                        f"{srv.url}/api/inventory/facilities/{centre}/stock", timeout=30
                    )
                else:
                    kind = "dispense"
                    with lock:
                        item = dispense_queue.popleft() if dispense_queue else None
                    if item is None:  # another client took the last one
                        continue
                    resp = as_pharmacist.post(
                        f"{srv.url}/api/prescriptions/{item[0]}/dispenses",
                        json={"lines": [{"line": item[1], "quantity": 10}]},
                        headers={"Idempotency-Key": f"soak-{item[0]}"},
                        timeout=30,
                    )
            except Exception as exc:
                with lock:
                    failures.append(f"{kind}: {type(exc).__name__}: {exc}")
                continue
            with lock:
                statuses[(kind, resp.status_code)] += 1
                if resp.status_code >= 500:
                    failures.append(f"{kind}: {resp.status_code} {resp.text[:200]}")

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    time.sleep(WARMUP_S)
    workers = srv.worker_pids()
    assert len(workers) == 2
    after_warmup = _rss_mb(workers)
    time.sleep(max(0.0, SOAK_SECONDS - WARMUP_S))
    at_end = _rss_mb(workers)
    stop.set()
    for t in threads:
        t.join(timeout=60)

    summary = dict(sorted(statuses.items()))
    assert failures == [], (failures[:10], summary, server_errors_in_log(srv))
    expected = {"search": 200, "person": 200, "facilities": 200, "stock": 200, "dispense": 201}
    unexpected = {k: n for k, n in statuses.items() if expected[k[0]] != k[1]}
    assert unexpected == {}, summary
    assert all(statuses[(kind, code)] > 0 for kind, code in expected.items()), summary
    assert set(at_end) == set(after_warmup), "a worker died or was replaced during the soak"
    growth = {pid: at_end[pid] - after_warmup[pid] for pid in at_end}
    assert max(growth.values()) <= RSS_GROWTH_BOUND_MB, (growth, after_warmup, summary)
    # What was dispensed under load is consistent in the books.
    dispensed = Prescription.objects.filter(pk__in=[p.pk for p in rx], status="completed").count()
    assert dispensed == statuses[("dispense", 201)]
    for _name, check in inventory_checks.checks() + prescribing_checks.checks():
        assert check() == []
    print(f"soak {SOAK_SECONDS:g} s: {summary}; RSS growth MB {growth}")
