"""Person lookups and the synthetic generator's raw-COPY baseline."""

from __future__ import annotations

import random
import time
from typing import Any

from django.db import connection

from bienestar.ops.bench.common import Metric, metric, percentile, raw_connection, timed_ms


def bench_actor(channel: str = "bench") -> object:
    """A national coordinator: sees every person, so scoping costs what it costs at national level."""
    from bienestar.access.actor import Actor
    from bienestar.access.models import User
    from bienestar.access.roles import Role
    from bienestar.territories.models import Territory

    user, _ = User.objects.get_or_create(
        username="bench-national", defaults={"role": Role.NATIONAL_COORDINATOR}
    )
    user.role, user.territory = Role.NATIONAL_COORDINATOR, Territory.objects.get(path="MX")
    user.save()
    return Actor(
        user=User.objects.select_related("territory").get(pk=user.pk),
        client_address="127.0.0.1",
        channel=channel,
    )


def raw_name_search(raw: Any, text: str, limit: int = 20) -> list[Any]:
    """`person_search`'s name search (people/name_search.py) in raw SQL through psycopg, with its
    very statements but no ORM, no audit and no scoping: the dictionary words each query word may
    stand for, the page of ids of the persons having one for every word, best first, then their
    rows; or, when some word stands for none, the trigram threshold steps."""
    from bienestar.people.name_search import (
        NAME_MATCH_STEPS,
        NAME_MATCH_THRESHOLD,
        NAME_WORDS_SQL,
        name_word_matches,
        ranked_page_sql,
    )

    with raw.cursor() as cursor:
        matches = name_word_matches(cursor, text)
    if matches and all(matches):
        words = " AND ".join([f"{NAME_WORDS_SQL} && %s::text[]"] * len(matches))
        matched = (
            "SELECT id, name_search, first_surname FROM people_person "  # noqa: S608 - constants only
            f"WHERE status = 'active' AND {words}"
        )
        ids = [
            row[0]
            for row in raw.execute(
                ranked_page_sql(matched), [*matches, text, limit, text, 0, limit]
            ).fetchall()
        ]
        found = {
            row[0]: row
            for row in raw.execute(
                "SELECT * FROM people_person WHERE id = ANY(%s)", [ids]
            ).fetchall()
        }
        return [found[i] for i in ids]
    rows: list[Any] = []
    for threshold in (*NAME_MATCH_STEPS, NAME_MATCH_THRESHOLD):
        raw.execute(f"SET pg_trgm.word_similarity_threshold = {float(threshold)}")
        rows = raw.execute(
            "SELECT * FROM people_person WHERE status = 'active' "
            "AND bienestar_unaccent(%s) <%% name_search "
            "ORDER BY word_similarity(bienestar_unaccent(%s), name_search) DESC, "
            "similarity(bienestar_unaccent(%s), name_search) DESC, first_surname, id LIMIT %s",
            [text, text, text, limit],
        ).fetchall()
        if len(rows) == limit:
            break
    return rows


def person_lookups(samples: int, rng: random.Random) -> dict[str, Metric]:
    from bienestar.people.selectors import person_by_national_id, person_search

    actor = bench_actor()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT national_health_id, given_names, first_surname FROM people_person TABLESAMPLE SYSTEM (5) LIMIT %s",
            [samples],
        )
        rows = cursor.fetchall()
    if not rows:
        return {}
    ids = [r[0] for r in rows]
    names = [f"{r[1].split()[0]} {r[2]}".lower() for r in rows]

    def typo(text: str) -> str:
        i = rng.randrange(1, len(text) - 1)
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]

    queries = [typo(n) if len(n) > 4 else n for n in names]
    raw = raw_connection()
    try:
        it_id = iter(ids * 2)
        base_id = timed_ms(
            lambda: raw.execute(
                "SELECT * FROM people_person WHERE national_health_id = %s", [next(it_id)]
            ).fetchall(),
            len(ids),
        )
        it_id = iter(ids * 2)
        app_id = timed_ms(lambda: person_by_national_id(actor, value=next(it_id)), len(ids))  # type: ignore[arg-type]
        it_q = iter(queries * 2)
        base_name = timed_ms(lambda: raw_name_search(raw, next(it_q)), len(queries))
        it_q = iter(queries * 2)
        app_name = timed_ms(lambda: person_search(actor, text=next(it_q), limit=20), len(queries))  # type: ignore[arg-type]
    finally:
        raw.close()
    note_id = f"{len(ids)} lookups by national health ID through the scoped, audited selector; baseline: the same SELECT in raw SQL through psycopg"
    note_name = f"{len(queries)} fuzzy name searches (one adjacent-letter swap each) through person_search; baseline: the same queries in raw SQL (dictionary words within one or two edits of each query word, then the persons having one for every word, first page of 20)"
    return {
        "person_lookup_id_p50_ms": metric(
            percentile(app_id, 50), "ms", percentile(base_id, 50), note_id
        ),
        "person_lookup_id_p95_ms": metric(
            percentile(app_id, 95), "ms", percentile(base_id, 95), note_id
        ),
        "person_search_name_p95_ms": metric(
            percentile(app_name, 95), "ms", percentile(base_name, 95), note_name
        ),
    }


def copy_baseline_rows_per_s(limit: int) -> float:
    """Raw PostgreSQL COPY of person rows into a temporary table: the floor any generator pays.

    Every column is copied (not a list), so a column added to the person table later cannot make
    the baseline fail on a NOT NULL that only the ORM fills in.
    """
    raw = raw_connection()
    try:
        raw.execute("CREATE TEMP TABLE bench_people (LIKE people_person INCLUDING DEFAULTS)")
        buffer = bytearray()
        query = f"COPY (SELECT * FROM people_person LIMIT {int(limit)}) TO STDOUT"  # noqa: S608 - constants only
        with raw.cursor().copy(query) as copy:
            for chunk in copy:
                buffer += chunk
        start = time.perf_counter()
        with raw.cursor().copy("COPY bench_people FROM STDIN") as copy:
            copy.write(bytes(buffer))
        elapsed = time.perf_counter() - start
        count = raw.execute("SELECT count(*) FROM bench_people").fetchone()[0]
    finally:
        raw.close()
    return count / elapsed if elapsed else 0.0


SYNTH_TABLE = "bench_synth_measurement"


def remember_synth(measured: Metric) -> None:
    """Keep the generator's figure in the bench database: later runs reuse the network (and so
    cannot time its generation again) and report this figure, with when it was measured."""
    import json

    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {SYNTH_TABLE} (measured_at timestamptz PRIMARY KEY "
            "DEFAULT now(), metric jsonb NOT NULL)"
        )
        cursor.execute(f"INSERT INTO {SYNTH_TABLE} (metric) VALUES (%s)", [json.dumps(measured)])  # noqa: S608 - constant name


def recall_synth() -> Metric | None:
    import json

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [SYNTH_TABLE])
        if cursor.fetchone()[0] is None:  # type: ignore[index]
            return None
        cursor.execute(
            f"SELECT metric, measured_at FROM {SYNTH_TABLE} ORDER BY measured_at DESC LIMIT 1"  # noqa: S608 - constant name
        )
        row = cursor.fetchone()
    if row is None:
        return None
    found = row[0] if isinstance(row[0], dict) else json.loads(row[0])
    found["notes"] += f" (measured when the network was generated, {row[1]:%Y-%m-%d %H:%M} UTC)"
    return dict(found)
