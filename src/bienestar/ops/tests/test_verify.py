import pytest
from django.core.management import call_command
from django.db import connection

from bienestar.access.audit import audit_record
from bienestar.access.tests.factories import actor_for
from bienestar.people.services import person_merge
from bienestar.people.tests.factories import PersonFactory


def run_verify() -> tuple[int, str]:
    from io import StringIO

    out = StringIO()
    try:
        call_command("verify", stdout=out)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue()
    return 0, out.getvalue()


@pytest.mark.django_db
def test_verify_passes_on_consistent_data(users, geo):
    person = PersonFactory(territory=geo["oaxaca_centro"])
    audit_record(
        actor_for(users["clinician"]),
        action="read",
        resource_type="Person",
        resource_id=str(person.public_id),
        person_id=person.id,
    )
    code, out = run_verify()
    assert code == 0, out
    assert "checks hold" in out


@pytest.mark.django_db
def test_verify_names_a_tampered_audit_row(users, geo):
    person = PersonFactory(territory=geo["oaxaca_centro"])
    event = audit_record(
        actor_for(users["clinician"]),
        action="read",
        resource_type="Person",
        resource_id=str(person.public_id),
        person_id=person.id,
    )
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE access_auditevent DISABLE TRIGGER audit_no_update_delete")
        cursor.execute(
            "UPDATE access_auditevent SET actor_username = 'someone-else' WHERE id = %s", [event.id]
        )
        cursor.execute("ALTER TABLE access_auditevent ENABLE TRIGGER audit_no_update_delete")
    code, out = run_verify()
    assert code == 1
    assert f"row {event.id} was altered" in out


@pytest.mark.django_db
def test_verify_names_a_disabled_audit_trigger():
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE access_auditevent DISABLE TRIGGER audit_no_update_delete")
    code, out = run_verify()
    assert code == 1
    assert "audit_no_update_delete is missing or disabled" in out


@pytest.mark.django_db
def test_verify_names_a_merge_changed_behind_the_services(users, geo):
    a = PersonFactory(territory=geo["oaxaca_centro"])
    b = PersonFactory(territory=geo["oaxaca_centro"], given_names="Josefina")
    person_merge(actor_for(users["clinician"]), survivor=a, merged=b, reason="duplicado")
    assert run_verify()[0] == 0
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE people_personmerge SET undone_at = now() WHERE merged_id = %s", [b.id]
        )
    code, out = run_verify()
    assert code == 1
    assert f"person {b.public_id}: marked merged but no open merge record" in out


@pytest.mark.django_db
def test_verify_names_an_id_with_a_wrong_check_character(geo):
    person = PersonFactory(territory=geo["oaxaca_centro"])
    broken = person.national_health_id[:-1] + ("2" if person.national_health_id[-1] != "2" else "3")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE people_person SET national_health_id = %s WHERE id = %s", [broken, person.id]
        )
    code, out = run_verify()
    assert code == 1
    assert "fails its check character" in out
