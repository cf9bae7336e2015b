"""The writing benchmarks at toy size on the test database: FHIR transaction Bundles, bulk NDJSON
import and export, the soak. Each produces a positive figure and a positive baseline, and leaves
the database as it found it (the records it wrote removed, `verify`'s checks still holding): the
bench database is reused run after run. The soak's 5xx counter is shown to count."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from bienestar.ops.bench import bulk, cleanup, crud, soak, transactions
from bienestar.ops.bench import server as server_mod
from bienestar.ops.tests.test_bench import _database_url

pytestmark = pytest.mark.django_db(transaction=True)

HAS_WRK = shutil.which("wrk") is not None


def _network(geo, users, n: int = 4) -> list[int]:  # type: ignore[no-untyped-def]
    """A health centre, a doctor, and `n` patients with an address and one finished consultation
    each (diagnosis, weight, height, glucose, blood pressure panel)."""
    from bienestar.access.tests.factories import actor_for
    from bienestar.clinical import services as clinical
    from bienestar.clinical.tests.factories import icd10_codes
    from bienestar.inventory.tests.factories import build_network
    from bienestar.people.models import PersonAddress
    from bienestar.people.tests.factories import PersonFactory
    from bienestar.territories.tests.factories import mexico
    from bienestar.workforce.tests.factories import PractitionerFactory

    mexico()
    build_network(geo, users)
    icd10_codes()
    users["clinician"].practitioner = PractitionerFactory()
    users["clinician"].save(update_fields=["practitioner"])
    doctor = actor_for(users["clinician"])
    ids = []
    for i in range(n):
        person = PersonFactory(territory=geo["oaxaca_centro"], first_surname=f"Pérez{'ab'[i % 2]}")
        PersonAddress.objects.create(
            person=person, territory=geo["oaxaca_centro"], line=f"Calle Morelos {i + 1}"
        )
        start = timezone.now() - dt.timedelta(days=2, hours=i)
        clinical.encounter_record(
            doctor,
            person=person,
            encounter_class="ambulatory",
            reason_text="Control",
            diagnoses=["E11"],
            vitals={"systolic": 120, "diastolic": 80, "weight": "70.5", "height": "165"},
            start=start,
            end=start + dt.timedelta(minutes=20),
        )
        ids.append(person.pk)
    return ids


def _rows() -> dict[str, int]:
    with connection.cursor() as cursor:
        out = {}
        for table in (
            *cleanup.ROOTS,
            "people_personaddress",
            "people_personchange",
            "clinical_condition",
            "fhir_resourceversion",
            "fhir_bulk_importjob",
            "fhir_bulk_exportjob",
            "jobs_job",
        ):
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - constant names
            out[table] = cursor.fetchone()[0]
    return out


def _checks_hold() -> None:
    from bienestar.ops.checks import CHECKS

    problems = [p for _name, check in CHECKS for p in check()]
    assert problems == []


def _token() -> str:
    from bienestar.access.roles import Role
    from bienestar.ops.bench.fhir import _token as token

    return token(Role.INTEGRATOR)


def test_cleanup_removes_rows_above_the_marks_and_what_refers_to_them_only(geo, users, monkeypatch):
    from bienestar.access.tests.factories import actor_for
    from bienestar.clinical import services as clinical
    from bienestar.clinical.models import Encounter, Observation
    from bienestar.people.models import Person
    from bienestar.people.tests.factories import PersonFactory

    monkeypatch.setenv("DATABASE_URL", _database_url())
    old = _network(geo, users, n=2)
    before_rows = _rows()
    marks = cleanup.marks()
    # After the marks: a new patient with a consultation, and a consultation of an old patient.
    newcomer = PersonFactory(territory=geo["oaxaca_centro"])
    for person in (newcomer, Person.objects.get(pk=old[0])):
        clinical.encounter_record(
            actor_for(users["clinician"]),
            person=person,
            encounter_class="ambulatory",
            reason_text="Revisión",
            diagnoses=["E11"],
            vitals={"systolic": 130, "diastolic": 85, "weight": "80"},
            start=timezone.now() - dt.timedelta(hours=1),
            end=timezone.now(),
        )
    assert _rows() != before_rows

    removed = cleanup.remove_since(marks)

    assert _rows() == before_rows
    assert removed["people_person"] == 1 and removed["clinical_encounter"] == 2
    assert set(Person.objects.values_list("pk", flat=True)) == set(old)
    assert Encounter.objects.filter(person_id=old[0]).count() == 1
    assert not Observation.objects.filter(pk__gt=marks["clinical_observation"]).exists()
    _checks_hold()
    # Nothing above the marks: nothing removed.
    assert cleanup.remove_since(cleanup.marks()) == {}
    assert _rows() == before_rows


def test_bulk_import_and_export_measure_and_leave_the_database_as_it_was(geo, users, monkeypatch):
    from bienestar.access.models import AuditEvent
    from bienestar.jobs import files as job_files

    monkeypatch.setenv("DATABASE_URL", _database_url())
    _network(geo, users, n=4)
    before = _rows()

    found, why = bulk.bulk_import(1000)

    assert why == ""
    m = found["fhir_bulk_import_res_per_s"]
    assert m["value"] > 0 and m["baseline"] > 0, m["notes"]
    # 4 patients, 4 encounters, 4 observations each (weight, height, BMI, blood pressure panel).
    assert "24 created (Patient 4/4, Encounter 4/4, Observation 16/16), 0 refused" in m["notes"]
    assert _rows() == before
    _checks_hold()

    audit_before = AuditEvent.objects.count()
    files_before = set(job_files.jobs_dir().iterdir())
    found, why = bulk.bulk_export()

    assert why == ""
    m = found["fhir_bulk_export_res_per_s"]
    assert m["value"] > 0 and m["baseline"] > 0, m["notes"]
    assert "24 resources (Patient 4, Encounter 4, Observation 16)" in m["notes"], m["notes"]
    assert _rows() == before
    assert AuditEvent.objects.count() == audit_before  # rolled back with the job
    assert set(job_files.jobs_dir().iterdir()) == files_before  # the NDJSON files are deleted


@pytest.mark.skipif(not HAS_WRK or crud.find_pgbench() is None, reason="needs wrk and pgbench")
def test_transaction_bundles_measure_committed_resources_and_remove_them(geo, users, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", _database_url())
    monkeypatch.setattr(transactions, "PATIENTS_PER_BUNDLE", 1)  # 10 entries per Bundle
    monkeypatch.setattr(transactions, "WORKERS", 1)  # quicker to start
    _network(geo, users, n=4)
    token = _token()
    before = _rows()

    found, why = transactions.transaction_import(2, token)

    assert why == ""
    m = found["fhir_transaction_import_res_per_s"]
    assert m["value"] > 0 and m["baseline"] > 0, m["notes"]
    assert "0 answered 4xx/5xx" in m["notes"], m["notes"]
    assert _rows() == before
    _checks_hold()


@pytest.mark.skipif(not HAS_WRK, reason="needs wrk")
def test_a_short_soak_reports_no_5xx_and_the_rss_growth(geo, users, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", _database_url())
    monkeypatch.setattr(soak, "WORKERS", 1)  # quicker to start
    _network(geo, users, n=4)
    token = _token()
    before = _rows()

    found, why = soak.soak(3, token, seed=1)

    assert why == ""
    errors, rss = found["soak_5xx_count"], found["soak_rss_growth_mb"]
    assert errors["value"] == 0 and errors["unit"] == "count", errors["notes"]
    assert rss["baseline"] > 0 and rss["unit"] == "MB", rss["notes"]
    assert "≤ 64 MB per worker" in rss["notes"]
    # The mix's creates are gone; its updates of existing patients only bump their versions.
    after = _rows()
    assert {k: after[k] for k in cleanup.ROOTS} == {k: before[k] for k in cleanup.ROOTS}
    _checks_hold()


class _Failing(http.server.BaseHTTPRequestHandler):
    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.send_response(500 if self.path.startswith("/fhir/Patient/") else 200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, *args: object) -> None:
        return


@pytest.mark.skipif(not HAS_WRK, reason="needs wrk")
def test_the_soak_counts_5xx_answers(tmp_path: Path) -> None:
    """Against a stub answering 500 to every Patient read, the soak's counter is not zero."""
    stub = http.server.ThreadingHTTPServer((server_mod.HOST, 0), _Failing)
    threading.Thread(target=stub.serve_forever, daemon=True).start()
    idle = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    data = tmp_path / "data.lua"
    body = json.dumps({"resourceType": "Patient"})
    data.write_text(
        "return { seed = 1, token = 't', patients = {'p'}, encounters = {'e'}, "
        "observations = {'o'}, surnames = {'x'}, "
        f"patient_body = [==[{body}]==], encounter_body = '{{}}', observation_body = '{{}}', "
        "updates = {{id = 'p', body = '{}'}} }\n"
    )
    srv = server_mod.Server(process=idle, port=stub.server_address[1], log=tmp_path / "log")
    try:
        run = soak._run(shutil.which("wrk") or "wrk", srv, data, 1)
    finally:
        stub.shutdown()
        idle.kill()
        idle.wait()
    assert run["requests"] > 0
    assert 0 < run["server_errors"] < run["requests"]
