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


GIVEN = ["José", "María", "Juan", "Guadalupe", "Luis", "Ana", "Josefina", "Mario"]
QUERIES = ["maria hernadnez", "jose lopez", "luis garza", "ana", "hernandez", "guadalupe lozano"]
SURNAMES = ["López", "Hernández", "García", "Martínez", "Pérez", "Hernán", "Lozano", "Garza"]


@pytest.fixture
def crowd(geo):
    """Eighty people whose names share words and trigrams, so every threshold step matters."""
    import random

    rng = random.Random(7)
    return [
        PersonFactory(
            territory=geo["oaxaca_centro"],
            given_names=rng.choice(GIVEN),
            first_surname=rng.choice(SURNAMES),
            second_surname=rng.choice(SURNAMES),
        )
        for _ in range(80)
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("limit", [1, 5, 20])
@pytest.mark.parametrize("offset", [0, 3, 25])
@pytest.mark.parametrize("text", QUERIES)
def test_the_threshold_steps_give_the_same_page_as_the_lowest_threshold(
    users, crowd, text, limit, offset
):
    """`_best_matches` tries higher thresholds first; the page must be the one the lowest threshold
    alone gives, in the same order."""
    from bienestar.people import selectors

    actor = actor_for(users["clinician"])
    stepped = person_search(actor, text=text, limit=limit, offset=offset)
    original_steps = selectors.NAME_MATCH_STEPS
    try:
        selectors.NAME_MATCH_STEPS = ()
        single = person_search(actor, text=text, limit=limit, offset=offset)
    finally:
        selectors.NAME_MATCH_STEPS = original_steps
    assert [p.pk for p in stepped] == [p.pk for p in single]


@pytest.mark.django_db
def test_the_crowd_exercises_every_threshold_step(crowd):
    """Guards the test above: over its queries, the crowd has matches in each band between the
    steps, and some query fills a page of 5 at each step."""
    from django.db import connection

    totals = [0, 0, 0]
    with connection.cursor() as cursor:
        for text in QUERIES:
            cursor.execute(
                "SELECT count(*) FILTER (WHERE s >= 0.8), count(*) FILTER (WHERE s >= 0.65 AND "
                "s < 0.8), count(*) FILTER (WHERE s >= 0.5 AND s < 0.65) FROM (SELECT "
                "word_similarity(bienestar_unaccent(%s), name_search) AS s FROM people_person) t",
                [text],
            )
            totals = [a + b for a, b in zip(totals, cursor.fetchone(), strict=True)]
    assert all(n >= 5 for n in totals), totals
