"""Finding persons by name, search-engine style: fuzzy on the dictionary, exact on the postings.

1. Each word of the query is matched, typos and all, against the dictionary of the words that
   names contain (`NameWord`, kept by PostgreSQL; a few hundred words in the synthetic network, tens
   of thousands in a country): `name_word_matches`.
2. The persons are those whose name has, for every word of the query, one of the dictionary words
   it matched: exact array overlaps (`&&`) served by the GIN index on the words of names
   (`person_name_words`), so "maria hernadnez" reads the María or Mario Hernández and nobody else.
3. They are ranked as trigram search always ranked them: highest word similarity of the query with
   the name, then highest similarity (least left over), then first surname, then id.

When some word of the query matches no word of any name (several typos in one word, words run
together), the words cannot say who is meant, and the trigram similarity of the whole name decides
instead, as before the dictionary existed (`_trigram_matches`; slow at scale, but rare).

The raw-SQL baseline of the benchmark (ops/bench/people.py) runs these same statements.
"""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.db.models import F, FloatField, Func, QuerySet, Value

from bienestar.people.models import Person

# Trigram fallback: the default 0.6 misses one swapped pair of letters in a short name ("jsoe lopez"
# scores 0.55).
NAME_MATCH_THRESHOLD = 0.5
# Higher thresholds tried first (see `_trigram_matches`): same results, far fewer rows sorted.
NAME_MATCH_STEPS = (0.8, 0.65)

# Words this long may be two edits away from the word they stand for (see NAME_WORD_MATCHES_SQL).
NAME_LONG_WORD = 6
# A query of one word is typed ahead from this many letters (see NAME_WORD_MATCHES_SQL).
NAME_ALONE_AHEAD = 4

# For each word of the query (lower case, unaccented, split on spaces like `Person.name_search`),
# the dictionary words it may stand for:
# - itself and every word one edit away: a letter deleted, inserted or replaced, or two adjacent
#   letters swapped (Damerau distance 1; trigrams miss a swap in a short word: "jsoe" shares one
#   trigram with "jose"). The edits are spelt out (about 55 per letter) and looked up by primary
#   key, so this is exact and costs the same with a dictionary of any size;
# - for words of NAME_LONG_WORD letters or more, also the words within Levenshtein distance 2 whose
#   length differs by at most one (two insertions mostly turn one name into another: martín,
#   martínez), among those sharing trigrams with it (pg_trgm's `%`, similarity at least 0.3 by
#   default, served by the dictionary's trigram index);
# - for the last word, also the words it begins (typing ahead: the page searches as one types);
#   alone, only from NAME_ALONE_AHEAD letters: "mar" begins a fifth of all names (maría, mario,
#   martínez, márquez…), and ranking them all takes half a second at a million people.
# One row per query word, in order, with an empty array when nothing in the dictionary is close.
NAME_WORD_MATCHES_SQL = r"""
WITH typed AS (
    SELECT t.word, t.ord
    FROM unnest(string_to_array(bienestar_unaccent(lower(%(q)s)), ' ')) WITH ORDINALITY AS t(word, ord)
    WHERE t.word <> ''
), query_word AS (
    SELECT word, ord, ord = max(ord) OVER () AS is_last FROM typed
), letter AS (
    SELECT c FROM unnest(string_to_array('abcdefghijklmnopqrstuvwxyz', NULL)) AS c
), one_edit AS (
    SELECT q.ord, q.word AS variant FROM query_word q
    UNION ALL
    SELECT q.ord, overlay(q.word PLACING '' FROM i FOR 1)
    FROM query_word q, generate_series(1, length(q.word)) AS i
    UNION ALL
    SELECT q.ord, overlay(q.word PLACING substr(q.word, i + 1, 1) || substr(q.word, i, 1) FROM i FOR 2)
    FROM query_word q, generate_series(1, length(q.word) - 1) AS i
    UNION ALL
    SELECT q.ord, overlay(q.word PLACING letter.c FROM i FOR 1)
    FROM query_word q, generate_series(1, length(q.word)) AS i, letter
    UNION ALL
    SELECT q.ord, overlay(q.word PLACING letter.c FROM i FOR 0)
    FROM query_word q, generate_series(1, length(q.word) + 1) AS i, letter
), matched AS (
    -- Through an array, whose length the planner guesses small (10): the edits are then looked up
    -- in the dictionary's primary key; from its guess for generate_series (1,000 rows each) it
    -- would hash the whole dictionary instead, 100 ms once it holds half a million words.
    SELECT e.ord, w.word
    FROM unnest(ARRAY(SELECT DISTINCT variant FROM one_edit)) AS v(variant)
    JOIN people_nameword w ON w.word = v.variant
    JOIN one_edit e ON e.variant = w.word
    UNION
    SELECT q.ord, w.word FROM query_word q JOIN people_nameword w
        ON length(q.word) >= %(long_word)s AND abs(length(w.word) - length(q.word)) <= 1
        AND w.word %% q.word AND levenshtein_less_equal(w.word, q.word, 2) <= 2
    UNION
    SELECT q.ord, w.word FROM query_word q JOIN people_nameword w
        ON q.is_last AND (length(q.word) >= %(alone_ahead)s OR q.ord > 1)
        AND w.word LIKE replace(replace(replace(q.word, '\', '\\'), '%%', '\%%'), '_', '\_') || '%%'
)
SELECT q.ord, coalesce(array_agg(m.word ORDER BY m.word) FILTER (WHERE m.word IS NOT NULL), '{}')
FROM query_word q LEFT JOIN matched m ON m.ord = q.ord
GROUP BY q.ord
ORDER BY q.ord
"""

# The words of a person's name, as the GIN index person_name_words indexes them.
NAME_WORDS_SQL = "string_to_array(people_person.name_search, ' ')"

# The ids of the page of `matched` (a query selecting id, name_search and first_surname), best
# first. Exactly `ORDER BY word_similarity DESC, similarity DESC, first_surname, id OFFSET LIMIT`,
# computed with less work, which at a million people is most of the cost of a search:
# - both similarities depend on the name alone, and thousands of the matches of a common name share
#   a few hundred names ("maria hernandez lopez"): they are computed once per distinct name;
# - a row with `offset + limit` rows or more scoring strictly higher in word similarity cannot be
#   on the page: the cut-off is found among the names (with how many persons bear each), and the
#   tie-break (similarity) and the final sort only concern the names and rows above it.
# Parameters: the query text, offset + limit, the query text, offset, limit.
NAME_RANKED_SQL = """
WITH matched AS MATERIALIZED ({matched}),
named AS MATERIALIZED (
    SELECT name_search, word_similarity(bienestar_unaccent(%s), name_search) AS score,
        count(*) AS persons
    FROM matched GROUP BY name_search
),
cutoff AS (
    SELECT min(score) AS score FROM (
        SELECT score, coalesce(sum(persons) OVER (ORDER BY score DESC
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS ahead
        FROM named
    ) ordered WHERE ahead < %s
),
scored AS (
    SELECT n.name_search, n.score, similarity(bienestar_unaccent(%s), n.name_search) AS closeness
    FROM named n JOIN cutoff c ON n.score >= c.score
)
SELECT m.id FROM matched m JOIN scored s USING (name_search)
ORDER BY s.score DESC, s.closeness DESC, m.first_surname, m.id
OFFSET %s LIMIT %s
"""


def name_word_matches(cursor: Any, text: str) -> list[list[str]]:
    """The dictionary words each word of `text` may stand for (see NAME_WORD_MATCHES_SQL), in the
    order of the words. `cursor` is a Django or psycopg cursor."""
    cursor.execute(
        NAME_WORD_MATCHES_SQL,
        {"q": text, "long_word": NAME_LONG_WORD, "alone_ahead": NAME_ALONE_AHEAD},
    )
    return [list(row[1]) for row in cursor.fetchall()]


def ranked_page_sql(matched_sql: str) -> str:
    """NAME_RANKED_SQL over `matched_sql` (its parameters come first)."""
    return NAME_RANKED_SQL.format(matched=matched_sql)


class Similarity(Func):
    output_field = FloatField()


def search_by_name(qs: QuerySet[Person], q: str, offset: int, limit: int) -> list[Person]:
    """The page `[offset, offset + limit)` of the persons of `qs` whose name has, for every word of
    `q`, a word that word may stand for (`name_word_matches`), best first (see the module's
    docstring). `q` is lower case with single spaces; `qs` is already scoped."""
    if qs.query.is_empty():  # an actor without a territory sees nobody
        return []
    with connection.cursor() as cursor:
        matches = name_word_matches(cursor, q)
    if not matches or not all(matches):
        return _trigram_matches(qs, q, offset, limit)
    with connection.cursor() as cursor:
        matched = (
            # Constant SQL; the words are parameters.
            qs.extra(where=[f"{NAME_WORDS_SQL} && %s::text[]"] * len(matches), params=matches)  # noqa: S610
            .order_by()
            .values_list("id", "name_search", "first_surname")
        )
        matched_sql, params = matched.query.sql_with_params()
        cursor.execute(ranked_page_sql(matched_sql), [*params, q, offset + limit, q, offset, limit])
        ids = [row[0] for row in cursor.fetchall()]
    found = qs.order_by().in_bulk(ids)
    # Missing only if merged or moved out of scope between the two statements.
    return [found[i] for i in ids if i in found]


def _trigram_matches(qs: QuerySet[Person], q: str, offset: int, limit: int) -> list[Person]:
    """The page `[offset, offset + limit)` of the persons whose name has trigram word similarity
    at least NAME_MATCH_THRESHOLD with `q`, ranked like `search_by_name`, found by lowering the
    threshold step by step.

    The page is exactly the one the lowest threshold alone would give: rows are ordered by score
    (word similarity) first, so when at least `offset + limit` rows score at or above a higher
    threshold, every row below it ranks after them and cannot be on the page. Slow at scale (at 0.5
    "maria hernadnez" rechecks and sorts every Hernández): only the fallback of `search_by_name`."""
    unaccented = Func(Value(q), function="bienestar_unaccent")
    qs = (
        qs.annotate(
            score=Similarity(unaccented, F("name_search"), function="word_similarity"),
            # Ties on the best-matching words go to the name with least left over.
            closeness=Similarity(unaccented, F("name_search"), function="similarity"),
        )
        .extra(where=["bienestar_unaccent(%s) <%% people_person.name_search"], params=[q])
        .order_by("-score", "-closeness", "first_surname", "id")
    )
    page: list[Person] = []
    for threshold in (*NAME_MATCH_STEPS, NAME_MATCH_THRESHOLD):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL pg_trgm.word_similarity_threshold = %s", [threshold])
            page = list(qs[offset : offset + limit])
        if len(page) == limit:
            break
    return page
