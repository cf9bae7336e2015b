"""`bienestar fhir import`: the round trip (export → empty database → import → export gives the
same resources), malformed lines refused with file:line while the rest goes in, idempotence, and a
kill -9 in the middle of an import followed by a re-run that ends with every resource exactly once."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from bienestar.access.models import AuditAction, AuditEvent
from bienestar.access.tests.factories import actor_for
from bienestar.clinical.models import Encounter, Observation
from bienestar.config.database import connection_url
from bienestar.fhir import systems
from bienestar.fhir.bulk import importer
from bienestar.fhir.bulk.models import ImportJob, ImportStatus
from bienestar.fhir.bulk.sql import stable_uuid
from bienestar.fhir.tests.client import assert_valid
from bienestar.fhir.tests.test_bundles import blood_pressure, encounter, patient, weight
from bienestar.people.models import Person, PersonAddress, PersonContact, PersonIdentifier
from bienestar.people.services import person_merge
from bienestar.people.tests.factories import PersonFactory

ROUND_TRIP_TYPES = (
    "Patient",
    "Encounter",
    "Condition",
    "Observation",
    "AllergyIntolerance",
    "Immunization",
)


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BIENESTAR_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def importer_user(users, net):  # type: ignore[no-untyped-def]
    """The integrator records at the Oaxaca centre (FHIR does not say where an allergy was taken)."""
    user = users["integrator"]
    user.facility = net.centre
    user.save(update_fields=["facility"])
    return user


def export_to(directory: Path, username: str) -> dict[str, dict[str, Any]]:
    """Run `bienestar fhir export` of the round-trip types; the resources by type and id, with
    meta.lastUpdated removed (an import writes new rows: only that may differ)."""
    call_command(
        "fhir",
        "export",
        "--as",
        username,
        "--type",
        ",".join(ROUND_TRIP_TYPES),
        "--out",
        str(directory),
        stdout=StringIO(),
        stderr=StringIO(),
    )
    out: dict[str, dict[str, Any]] = {t: {} for t in ROUND_TRIP_TYPES}
    for path in sorted(directory.glob("*.ndjson")):
        for line in path.read_text().splitlines():
            resource = json.loads(line)
            assert_valid(resource)
            resource.get("meta", {}).pop("lastUpdated", None)
            out[resource["resourceType"]][resource["id"]] = resource
    return out


def empty_the_registry_of_persons() -> None:
    """Every person and everything hanging from them, gone (inside the test's transaction)."""
    with connection.cursor() as cursor:
        # Deferred foreign-key checks pending from the fixtures would block TRUNCATE.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("TRUNCATE people_person CASCADE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def write_ndjson(path: Path, lines: list[Any]) -> Path:
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n"
    if path.name.endswith(".gz"):
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(text)
    else:
        path.write_text(text)
    return path


def run_import(path: Path, user: Any, **options: Any) -> importer.Summary:
    return importer.import_path(path, user=user, options=importer.Options(**options))


# --- round trip --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_export_then_import_into_an_empty_registry_gives_the_same_resources(
    users, net, record, jose, importer_user, geo, tmp_path
) -> None:
    twin = PersonFactory(
        territory=geo["oaxaca_centro"], given_names="José", birth_date=jose.birth_date
    )
    person_merge(actor_for(users["clinician"]), survivor=jose, merged=twin, reason="duplicado")
    PersonIdentifier.objects.create(
        person=jose,
        system="imss-nss",
        value="12345678901",
        source="test",
        valid_until="2030-01-31",
    )
    PersonAddress.objects.create(
        person=jose,
        line="Calle Reforma 12",
        neighbourhood="Centro",
        postal_code="68000",
        territory=geo["oaxaca_centro"],
        start="2020-01-01",
    )
    PersonContact.objects.create(person=jose, system="mobile", value="9511234567")
    before = export_to(tmp_path / "first", importer_user.username)
    assert all(before[t] for t in ROUND_TRIP_TYPES), {t: len(v) for t, v in before.items()}
    assert any("link" in p for p in before["Patient"].values())

    empty_the_registry_of_persons()
    assert Person.objects.count() == 0
    summary = run_import(tmp_path / "first", importer_user, batch_size=2)

    assert summary.refused == 0, importer.issues(summary.job)
    assert summary.job.status == ImportStatus.COMPLETED
    after = export_to(tmp_path / "second", importer_user.username)
    for kind in ROUND_TRIP_TYPES:
        assert after[kind] == before[kind], kind
    audited = AuditEvent.objects.filter(action=AuditAction.CREATE, channel="cli")
    assert audited.filter(resource_type="Person").count() == len(before["Patient"])
    assert audited.filter(resource_type="Observation").exists()


# --- malformed lines ---------------------------------------------------------------------------------


def _malformed(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    p1 = {
        **patient("Ana"),
        "id": "p-1",
        "identifier": [{"system": systems.CURP, "value": "GARA850101HOCRCN07"}],
    }
    bad_curp = {
        **patient("Eva"),
        "id": "p-3",
        "identifier": [{"system": systems.CURP, "value": "XXXX"}],
    }
    write_ndjson(
        folder / "a.ndjson",
        [
            p1,  # 1
            "{not json",  # 2
            "[1, 2]",  # 3
            {**patient("Rosa"), "id": "p-2", "gender": 7},  # 4: not R4
            bad_curp,  # 5
            {**blood_pressure("Patient/p-1", 400, 80), "id": "o-1"},  # 6
            {**weight("Patient/p-1", "Encounter/e-0", 70), "id": "o-2"},  # 7: no such encounter
            {**weight("Patient/p-9", "Encounter/e-0", 70), "id": "o-3"},  # 8: no such patient
            {"resourceType": "Claim", "id": "c-1", "status": "active"},  # 9
            "",  # 10: blank, skipped
            patient("Sin id"),  # 11
        ],
    )
    ok_weight = weight("Patient/p-1", "x", 70)
    ok_weight.pop("encounter")
    write_ndjson(
        folder / "b.ndjson.gz",
        [
            {**patient("Luz"), "id": "p-4"},
            {**encounter("Patient/p-4", 2), "id": "e-1"},
            {**ok_weight, "id": "o-4"},
        ],
    )
    return folder


@pytest.mark.django_db
def test_malformed_lines_are_refused_with_their_place_and_the_rest_goes_in(
    importer_user, codes, tmp_path
) -> None:
    summary = run_import(_malformed(tmp_path), importer_user, batch_size=3)

    assert Person.objects.filter(public_id=stable_uuid("Patient", "p-1")).exists()
    assert Person.objects.filter(public_id=stable_uuid("Patient", "p-4")).exists()
    assert Person.objects.count() == 2
    assert Encounter.objects.get().public_id == stable_uuid("Encounter", "e-1")
    assert Observation.objects.get().public_id == stable_uuid("Observation", "o-4")
    reported = importer.issues(summary.job)
    text = "\n".join(reported)
    for expected in (
        "a.ndjson:2: JSON inválido",
        "a.ndjson:3: ",
        "a.ndjson:4: Patient/p-2: Patient.gender",
        "a.ndjson:5: Patient/p-3: Patient.identifier",
        "a.ndjson:6: Observation/o-1: Observation.component[0].valueQuantity.value",
        "a.ndjson:7: Observation/o-2: Observation.encounter",
        "a.ndjson:8: Observation/o-3: Observation.subject",
        "a.ndjson:9: Claim/c-1: Tipo de recurso no admitido: Claim.",
        "a.ndjson:11: ",
    ):
        assert expected in text, (expected, reported)
    assert summary.refused == 9
    assert summary.counts["Patient"] == {"created": 2, "existing": 0, "refused": 3}


@pytest.mark.django_db
def test_the_command_lists_refusals_and_exits_with_1(importer_user, codes, tmp_path) -> None:
    out, err = StringIO(), StringIO()

    with pytest.raises(SystemExit) as exit_info:
        call_command(
            "fhir",
            "import",
            str(_malformed(tmp_path)),
            "--as",
            importer_user.username,
            "--no-progress",
            stdout=out,
            stderr=err,
        )

    assert exit_info.value.code == 1
    assert "a.ndjson:6: Observation/o-1:" in err.getvalue()
    assert "Patient" in out.getvalue()


@pytest.mark.django_db
def test_stop_on_error_stops_after_the_batch_and_a_rerun_goes_on(importer_user, tmp_path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    write_ndjson(
        folder / "p.ndjson",
        [{**patient(f"P{i}"), "id": f"p-{i}"} for i in range(2)]
        + [{**patient("Mal"), "id": "bad", "birthDate": "2999-01-01"}]
        + [{**patient(f"Q{i}"), "id": f"q-{i}"} for i in range(4)],
    )

    first = run_import(folder, importer_user, batch_size=3, stop_on_error=True)

    assert first.stopped
    assert Person.objects.count() == 2
    second = run_import(folder, importer_user, batch_size=3)
    assert second.resumed and not second.stopped
    assert Person.objects.count() == 6


# --- idempotence -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_importing_the_same_resources_again_writes_nothing_new(importer_user, tmp_path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    resources = [{**patient(f"P{i}"), "id": str(uuid.uuid4())} for i in range(5)]
    write_ndjson(folder / "p.ndjson", resources)
    run_import(folder, importer_user, batch_size=2)
    again = run_import(folder, importer_user, batch_size=2)
    assert again.resumed
    other = tmp_path / "copy"
    other.mkdir()
    # The same resources in another file (another job): all found already.
    write_ndjson(other / "again.ndjson", resources + resources[:2])

    third = run_import(other, importer_user, batch_size=3)

    assert third.counts["Patient"] == {"created": 0, "existing": 7, "refused": 0}
    assert Person.objects.count() == 5
    assert {str(p) for p in Person.objects.values_list("public_id", flat=True)} == {
        r["id"] for r in resources
    }


# --- kill -9 -----------------------------------------------------------------------------------------


def _command_env(home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": connection_url(connection.settings_dict),
        "DJANGO_SETTINGS_MODULE": "bienestar.config.settings.test",
        "BIENESTAR_HOME": str(home),
    }


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_killed_import_resumes_and_ends_with_every_resource_exactly_once(
    importer_user, tmp_path, home
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    people = [{**patient(f"Persona{i}"), "id": str(uuid.uuid4())} for i in range(300)]
    write_ndjson(folder / "1-patients.ndjson", people)
    measures = []
    for i, p in enumerate(people):
        w = weight(f"Patient/{p['id']}", "x", 50 + i % 40)
        w.pop("encounter")
        measures.append({**w, "id": str(uuid.uuid4())})
    write_ndjson(folder / "2-observations.ndjson.gz", measures)
    command = [
        str(Path(sys.executable).parent / "bienestar"),
        "fhir",
        "import",
        str(folder),
        "--as",
        importer_user.username,
        "--batch-size",
        "10",
        "--no-progress",
    ]
    env = _command_env(home)

    victim = subprocess.Popen(
        [*command, "--sleep-between-batches", "0.2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while True:
        job = ImportJob.objects.first()
        if job is not None and job.batches >= 8:
            break
        assert victim.poll() is None, "the import ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)

    job.refresh_from_db()
    assert job.status != ImportStatus.COMPLETED
    done_before = Person.objects.count()
    assert 0 < done_before < len(people)
    finish = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=300, check=False
    )

    assert finish.returncode == 0, finish.stderr
    job.refresh_from_db()
    assert job.status == ImportStatus.COMPLETED
    assert sorted(str(p) for p in Person.objects.values_list("public_id", flat=True)) == sorted(
        p["id"] for p in people
    )
    assert sorted(
        str(o) for o in Observation.objects.values_list("public_id", flat=True)
    ) == sorted(m["id"] for m in measures)
    assert Person.objects.values("national_health_id").distinct().count() == len(people)
    created = AuditEvent.objects.filter(action=AuditAction.CREATE, resource_type="Person")
    assert created.values("person_id").distinct().count() == len(people)
    assert created.count() == len(people)
    connection.close()
