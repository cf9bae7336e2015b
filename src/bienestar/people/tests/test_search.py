import pytest

from bienestar.access.models import AuditEvent
from bienestar.access.tests.factories import actor_for
from bienestar.people.models import IdentifierSystem, PersonIdentifier
from bienestar.people.selectors import person_search
from bienestar.people.tests.factories import PersonFactory


@pytest.fixture
def jose(geo):
    return PersonFactory(
        territory=geo["oaxaca_centro"],
        given_names="José",
        first_surname="López",
        second_surname="Hernández",
    )


@pytest.fixture
def others(geo):
    return [
        PersonFactory(
            territory=geo["oaxaca_centro"],
            given_names="María",
            first_surname="García",
            second_surname="Pérez",
        ),
        PersonFactory(
            territory=geo["oaxaca_centro"],
            given_names="Juan",
            first_surname="Martínez",
            second_surname="Ruiz",
        ),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "text",
    ["jose lopez", "JOSE LOPEZ", "josé lópez", "jsoe lopez", "jose lopes", "lopez hernandez"],
)
def test_name_search_is_accent_insensitive_and_tolerates_typos(users, jose, others, text):
    results = person_search(actor_for(users["clinician"]), text=text)
    assert results, text
    assert results[0].pk == jose.pk


@pytest.mark.django_db
def test_name_search_does_not_return_unrelated_people(users, jose, others):
    results = person_search(actor_for(users["clinician"]), text="maria garcia")
    assert [p.pk for p in results] == [others[0].pk]


@pytest.mark.django_db
def test_exact_search_by_national_id_with_dashes_and_lower_case(users, jose, others):
    from bienestar.people.national_id import display

    results = person_search(
        actor_for(users["clinician"]), text=display(jose.national_health_id).lower()
    )
    assert [p.pk for p in results] == [jose.pk]


@pytest.mark.django_db
def test_exact_search_by_curp(users, jose, others):
    from bienestar.people.curp import check_digit

    first17 = "LOHJ800517HOCPRS0"
    curp = first17 + check_digit(first17)
    PersonIdentifier.objects.create(person=jose, system=IdentifierSystem.CURP, value=curp)
    results = person_search(actor_for(users["clinician"]), text=curp.lower())
    assert [p.pk for p in results] == [jose.pk]


@pytest.mark.django_db
def test_search_is_scoped_to_the_callers_state(users, jose):
    assert person_search(actor_for(users["other_state_clinician"]), text="jose lopez") == []


@pytest.mark.django_db
def test_search_writes_one_audit_row_with_the_query_and_results(users, jose, others):
    before = AuditEvent.objects.count()
    person_search(actor_for(users["clinician"]), text="jose lopez")
    assert AuditEvent.objects.count() == before + 1
    event = AuditEvent.objects.latest("id")
    assert event.action == "search" and event.actor_username == "clinician"
    assert event.query["text"] == "jose lopez"
    assert event.result_ids == [str(jose.public_id)]
    assert event.client_address == "127.0.0.1"
