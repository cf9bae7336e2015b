"""The auditor's question "who saw or changed this person's record": the log filtered by person,
including what the pharmacist saw through prescriptions (opened by code, listed in the queue), in
the users' words (names, roles, kinds of record in Spanish, readable filters), on the page and in
the CSV, and the backfill of rows written before they named the persons they list."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from bienestar.access.audit import audit_record
from bienestar.access.models import AuditAction, AuditEvent
from bienestar.access.tests.factories import actor_for
from bienestar.inventory.tests.factories import METFORMIN, build_network
from bienestar.people.selectors import person_get
from bienestar.people.tests.factories import PersonFactory
from bienestar.prescribing import selectors as rx
from bienestar.prescribing.tests.factories import line, prescribe

pytestmark = pytest.mark.django_db

LOG = reverse("audit_log")
CSV = reverse("audit_csv")


@pytest.fixture
def story(geo, users):  # type: ignore[no-untyped-def]
    """The doctor reads José's record and prescribes; the pharmacist sees him in the queue and
    opens the prescription by its code; someone else reads Ana's record."""
    net = build_network(geo, users)
    users["clinician"].first_name, users["clinician"].last_name = "Laura", "Méndez Ruiz"
    users["clinician"].save()
    users["pharmacist"].first_name, users["pharmacist"].last_name = "Pedro", "Sánchez"
    users["pharmacist"].save()
    jose = PersonFactory(territory=geo["oaxaca_centro"], given_names="José", first_surname="López")
    ana = PersonFactory(territory=geo["oaxaca_centro"], given_names="Ana", first_surname="Ruiz")
    person_get(net.actor("clinician"), public_id=jose.public_id)
    prescription = prescribe(net, jose, line(METFORMIN, 10))
    rx.prescription_queue(net.actor("pharmacist"))
    rx.prescription_by_code(net.actor("pharmacist"), code=prescription.code)
    person_get(net.actor("outreach_manager"), public_id=ana.public_id)
    return {"net": net, "jose": jose, "ana": ana}


def test_the_log_of_one_person_names_who_saw_it_and_through_what(client_for, users, story):
    jose = story["jose"]
    response = client_for(users["auditor"]).get(LOG, {"person": jose.national_health_id})

    assert response.status_code == 200
    rows = response.context["events"]
    seen = {(r.actor_name, r.resource_label, r.event.action) for r in rows}
    assert ("Laura Méndez Ruiz", "Persona (padrón)", "read") in seen
    assert ("Laura Méndez Ruiz", "Receta", "create") in seen
    assert ("Pedro Sánchez", "Receta", "search") in seen  # the queue that listed him
    assert ("Pedro Sánchez", "Receta", "read") in seen  # opened by its code
    assert all(r.event.actor_username != "outreach_manager" for r in rows)  # Ana's, not José's
    body = response.content.decode()
    assert "Pedro Sánchez" in body and "Farmacia" in body
    assert jose.national_health_id in body
    assert any(("por", "código de la receta") in r.filters for r in rows)  # {"by": "code"}
    assert "código de la receta" in body
    own = AuditEvent.objects.filter(actor_username="auditor").latest("id")
    assert own.person_id == jose.pk and own.query["person"] == jose.national_health_id


def test_the_csv_of_one_person_has_the_same_words(client_for, users, story):
    jose = story["jose"]
    response = client_for(users["auditor"]).get(CSV, {"person": jose.national_health_id})

    text = b"".join(response.streaming_content).decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text[1:])))
    # The auditor's own export concerns José too: it is on record before the first row is read.
    assert {r["Nombre del usuario"] for r in rows} == {
        "Laura Méndez Ruiz",
        "Pedro Sánchez",
        "auditor",
    }
    assert {r["Clave de salud"] for r in rows if r["Persona"]} == {jose.national_health_id}
    assert "Receta" in {r["Tipo de registro"] for r in rows}
    export = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert export.person_id == jose.pk


def test_a_person_outside_the_auditors_territory_cannot_be_filtered_by(client_for, users, geo):
    hidalgan = PersonFactory(territory=geo["pachuca"])
    before = AuditEvent.objects.count()

    response = client_for(users["auditor"]).get(LOG, {"person": hidalgan.national_health_id})

    assert response.status_code == 422
    assert "en su territorio" in response.content.decode()
    assert AuditEvent.objects.count() == before
    unknown = client_for(users["auditor"]).get(CSV, {"person": "NOEXISTE"})
    assert unknown.status_code == 422
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()


def test_names_of_persons_of_another_territory_stay_hidden(client_for, users, geo):
    hidalgan = PersonFactory(territory=geo["pachuca"], given_names="Rosa")
    # An Oaxaca user read a Hidalgo record: Oaxaca's auditor sees the access, not who it was.
    audit_record(
        actor_for(users["clinician"]),
        action=AuditAction.READ,
        resource_type="Person",
        resource_id=str(hidalgan.public_id),
        person_id=hidalgan.pk,
    )
    response = client_for(users["auditor"]).get(LOG)

    [row] = [r for r in response.context["events"] if r.event.person_id == hidalgan.pk]
    assert row.person is None and row.person_hidden
    body = response.content.decode()
    assert "Rosa" not in body and hidalgan.national_health_id not in body
    assert "Persona de otro territorio" in body


def test_backfill_names_the_persons_old_rows_listed(users, story):
    jose = story["jose"]
    # A queue row written before audit rows named the persons they list.
    old = audit_record(
        actor_for(users["pharmacist"]),
        action=AuditAction.SEARCH,
        resource_type="Prescription",
        result_ids=[str(p.public_id) for p in jose.prescriptions.all()],
    )
    assert AuditEvent.objects.get(pk=old.pk).person_ids is None

    call_command("audit_backfill_persons", batch=3, stdout=io.StringIO())
    call_command("audit_backfill_persons", stdout=io.StringIO())  # again: nothing more to do

    row = AuditEvent.objects.get(pk=old.pk)
    assert row.person_ids == [jose.pk] and row.digest == old.digest
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE access_auditevent SET person_ids = NULL WHERE id = %s", [old.pk])
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE access_auditevent SET query = '{}' WHERE id = %s", [old.pk])
