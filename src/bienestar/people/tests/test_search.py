import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
def test_a_user_without_territory_finds_nobody_by_name(users, jose):
    clinician = users["clinician"]
    clinician.territory = None
    clinician.save()
    assert person_search(actor_for(clinician), text="jose lopez") == []
    assert person_search(actor_for(clinician), text="joselopez") == []  # the trigram fallback


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
SURNAMES = ["López", "Hernández", "García", "Martínez", "Pérez", "Hernán", "Lozano", "Garza"]
QUERIES = [
    "maria hernadnez",
    "jose lopez",
    "luis garza",
    "ana",
    "hernandez",
    "guadalupe lozano",
    "jsoe lpoez",
    "mario hernan",
    "maria her",
    "jose h",
    "josef",
    "mar",
    "MARÍA  García",
]


@pytest.fixture
def crowd(geo):
    """Eighty people whose names share words: many have the very same name, so scores tie."""
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


def _edits(a: str, b: str, *, swaps: bool) -> int:
    """Levenshtein distance, or with `swaps` the optimal string alignment distance (an adjacent
    swap counts one)."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(
                d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1])
            )
            if swaps and i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


def _stands_for(typed: str, word: str, *, ahead: bool, trigram_similarity: float) -> bool:
    """The rule name search promises, spelt out independently of its SQL."""
    if _edits(typed, word, swaps=True) <= 1:
        return True
    if (
        len(typed) >= 6
        and abs(len(word) - len(typed)) <= 1
        and trigram_similarity >= 0.3
        and _edits(typed, word, swaps=False) <= 2
    ):
        return True
    return ahead and word.startswith(typed)


def _reference_page(text: str, offset: int, limit: int) -> list[int]:
    """Every active person, ranked by SQL alone (word similarity, similarity, first surname, id),
    kept when every word of `text` stands for one of the words of the name — or, when some word
    stands for none, when the word similarity is at least 0.5: the page name search must return."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT bienestar_unaccent(%s)", [" ".join(text.lower().split())])
        typed = cursor.fetchone()[0].split(" ")
        cursor.execute(
            "SELECT id, name_search, word_similarity(bienestar_unaccent(%s), name_search) "
            "FROM people_person WHERE status = 'active' ORDER BY 3 DESC, "
            "similarity(bienestar_unaccent(%s), name_search) DESC, first_surname, id",
            [" ".join(text.lower().split())] * 2,
        )
        ranked = cursor.fetchall()
        words = sorted({w for _, name, _ in ranked for w in name.split(" ") if w})
        cursor.execute(
            "SELECT w, t, similarity(w, t) FROM unnest(%s::text[]) AS w, unnest(%s::text[]) AS t",
            [words, typed],
        )
        similarity = {(w, t): s for w, t, s in cursor.fetchall()}
    stands = [
        {
            w
            for w in words
            if _stands_for(
                t,
                w,
                # The last word is typed ahead; if it is alone, from four letters.
                ahead=i == len(typed) - 1 and (i > 0 or len(t) >= 4),
                trigram_similarity=similarity[w, t],
            )
        }
        for i, t in enumerate(typed)
    ]
    if all(stands):
        kept = [pk for pk, name, _ in ranked if all(set(name.split(" ")) & s for s in stands)]
    else:
        kept = [pk for pk, _, score in ranked if score >= 0.5]
    return kept[offset : offset + limit]


@pytest.mark.django_db
@pytest.mark.parametrize("limit", [1, 5, 20])
@pytest.mark.parametrize("offset", [0, 3, 25])
@pytest.mark.parametrize("text", QUERIES)
def test_name_search_returns_exactly_the_reference_page(users, crowd, text, limit, offset):
    """Who matches (every typed word stands for a word of the name) and in which order (word
    similarity, similarity, first surname, id), against a reference that ranks everyone in SQL."""
    results = person_search(actor_for(users["clinician"]), text=text, limit=limit, offset=offset)
    assert [p.pk for p in results] == _reference_page(text, offset, limit)


@pytest.mark.django_db
def test_the_crowd_has_ties_and_repeated_names(crowd):
    """Guards the test above: name search scores each distinct name once and computes the
    tie-break only for rows that can reach the page, so the crowd must have both."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE word_similarity('hernandez', name_search) = 1), "
            "count(*) - count(DISTINCT name_search) FROM people_person"
        )
        tied, repeated = cursor.fetchone()
    assert tied > 5 and repeated > 0


@pytest.mark.django_db
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_one_swapped_pair_of_letters_still_finds_the_person(users, crowd, data):
    """What the benchmark types: "<first given name> <first surname>" with two adjacent characters
    swapped (the space too). The person is found, and everyone found stands for every word."""
    person = data.draw(st.sampled_from(crowd))
    name = f"{person.given_names.split()[0]} {person.first_surname}".lower()
    i = data.draw(st.integers(min_value=0, max_value=len(name) - 2))
    text = name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    results = person_search(actor_for(users["clinician"]), text=text, limit=100)
    assert person.pk in [p.pk for p in results]
    assert [p.pk for p in results] == _reference_page(text, 0, 100)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("jose", [["jose", "josefina", "josue"]]),  # itself, a letter added, typed ahead
        ("jsoe", [["jose"]]),  # adjacent letters swapped: one trigram in common, still one edit
        ("jse lopez", [["jose"], ["lopez"]]),  # a letter left out
        ("jiose", [["jose"]]),  # a letter added
        ("JOSÉ  LÓPEZ ", [["jose", "josue"], ["lopez"]]),  # case, accents, spaces
        ("jisi", [[]]),  # two edits in a short word: nothing
        ("hernamdex", [["hernandez"]]),  # two edits in a long word
        ("hrenadnez", [[]]),  # two swaps are four Levenshtein edits: nothing
        ("martin lopez", [["martin"], ["lopez"]]),  # not martínez: two letters added
        ("lopez martin", [["lopez"], ["martin", "martinez"]]),  # ...unless typed ahead, last
        ("lop jose", [[], ["jose", "josefina", "josue"]]),  # only the last word is typed ahead
        ("jose h", [["jose", "josue"], ["hernan", "hernandez"]]),  # from one letter after a word
        ("jos", [["jose"]]),  # ...but alone from four letters
        ("jose l%", [["jose", "josue"], []]),  # LIKE's wildcards are plain characters
    ],
)
def test_query_words_stand_for_dictionary_words(geo, text, expected):
    from django.db import connection

    from bienestar.people.name_search import name_word_matches

    for given_name, surname in [
        ("José", "López"),
        ("Josué", "Hernández"),
        ("Martín", "Martínez"),
        ("Josefina", "Hernán"),
    ]:
        PersonFactory(territory=geo["oaxaca_centro"], given_names=given_name, first_surname=surname)
    with connection.cursor() as cursor:
        assert name_word_matches(cursor, text) == expected


@pytest.mark.django_db
def test_words_run_together_fall_back_to_trigram_similarity(users, jose, others):
    """ "joselopez" stands for no word of any name; the whole name's trigrams still find José."""
    results = person_search(actor_for(users["clinician"]), text="joselopez")
    assert [p.pk for p in results][:1] == [jose.pk]


@pytest.mark.django_db
def test_the_dictionary_follows_every_way_persons_are_written(users, geo, jose):
    """Created (ORM insert), bulk created (one INSERT of many rows) and renamed (UPDATE): PostgreSQL
    adds the new words, and name search finds them. (COPY: see the synthetic generator's tests.)"""
    from bienestar.people.models import NameWord, Person

    def words() -> set[str]:
        return set(NameWord.objects.values_list("word", flat=True))

    assert {"jose", "lopez", "hernandez"} <= words()
    assert "erendira" not in words() and "xochitl" not in words()
    Person.objects.bulk_create(
        [
            PersonFactory.build(territory=geo["oaxaca_centro"], given_names=given)
            for given in ("Eréndira", "Itzel")
        ]
    )
    assert {"erendira", "itzel"} <= words()
    Person.objects.filter(pk=jose.pk).update(first_surname="Xóchitl")
    assert "xochitl" in words()
    results = person_search(actor_for(users["clinician"]), text="xochtil")
    assert [p.pk for p in results] == [jose.pk]


@pytest.mark.django_db
def test_name_search_tolerates_typos_in_every_word(users, jose, others):
    results = person_search(actor_for(users["clinician"]), text="jsoe lpoez hernandze")
    assert [p.pk for p in results] == [jose.pk]


@pytest.mark.django_db
@pytest.mark.parametrize("text", ["maria hernadnez", "jsoe lpoez", "jose h", "joselopez"])
def test_the_benchmark_baseline_runs_the_same_search(users, crowd, text):
    """The raw-SQL baseline of `person_search_name_p95_ms` must be this algorithm, not another."""
    from django.db import connection

    from bienestar.ops.bench.people import raw_name_search

    connection.ensure_connection()
    try:
        rows = raw_name_search(connection.connection, text)
    finally:
        connection.connection.execute("RESET pg_trgm.word_similarity_threshold")
    expected = person_search(actor_for(users["clinician"]), text=text)
    assert rows and [row[0] for row in rows] == [p.pk for p in expected]
