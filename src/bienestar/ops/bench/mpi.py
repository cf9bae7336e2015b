"""Master patient index: the registration page's candidate query (issue 14)."""

from __future__ import annotations

import random
from typing import Any

from django.db import connection

from bienestar.ops.bench.common import Metric, metric, percentile, raw_connection, timed_ms


def _typed(row: tuple[Any, ...], rng: random.Random) -> Any:
    """What a clerk types for an existing person: with one of the issue's error patterns."""
    from bienestar.people.matching import Record

    given, first, second, sex, born, curp = row
    pattern = rng.randrange(5)
    if pattern == 0:  # surnames swapped
        first, second = second or first, first
    elif pattern == 1:  # second surname missing
        second = ""
    elif pattern == 2 and born.day <= 12:  # day and month swapped
        born = born.replace(month=born.day, day=born.month)
    elif pattern == 3:  # compound name shortened
        given = given.split()[-1]
    return Record(
        given_names=given,
        first_surname=first,
        second_surname=second,
        sex=sex,
        birth_date=born,
        curp=(curp or "") if pattern == 4 else "",
    )


def mpi_match(samples: int, rng: random.Random) -> dict[str, Metric]:
    from bienestar.ops.bench.people import bench_actor
    from bienestar.people.candidates import CANDIDATE_SQL, candidate_params, registration_candidates

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.given_names, p.first_surname, p.second_surname, p.sex, p.birth_date, "
            "(SELECT value FROM people_personidentifier i WHERE i.person_id = p.id "
            " AND i.system = 'curp' LIMIT 1) "
            "FROM people_person p TABLESAMPLE SYSTEM (5) WHERE p.status = 'active' LIMIT %s",
            [samples],
        )
        rows = cursor.fetchall()
    if not rows:
        return {}
    typed = [_typed(r, rng) for r in rows]
    actor = bench_actor()
    raw = raw_connection()
    try:

        def raw_candidates(record: Any) -> list[Any]:
            params = candidate_params(record)
            if params is None:
                return []
            surnames = raw.execute(
                "SELECT coalesce(string_to_array(bienestar_unaccent(lower(%s)), ' '), '{}')",
                [params["surnames_raw"]],
            ).fetchone()[0]
            return raw.execute(CANDIDATE_SQL, {**params, "surnames": surnames}).fetchall()

        it = iter(typed * 2)
        base = timed_ms(lambda: raw_candidates(next(it)), len(typed))
        it = iter(typed * 2)
        app = timed_ms(
            lambda: registration_candidates(actor, record=next(it)),  # type: ignore[arg-type]
            len(typed),
        )
    finally:
        raw.close()
    note = (
        f"{len(typed)} registrations typed with one of the issue's errors each (surnames swapped, "
        "second surname missing, day/month swapped, compound name shortened, or the CURP): "
        "registration_candidates (candidate SQL, scoped read of the candidates with their CURPs, "
        "scoring with reasons, one audit row) as a national coordinator; baseline: the same "
        "candidate SQL (two statements) in raw psycopg"
    )
    return {"mpi_match_p95_ms": metric(percentile(app, 95), "ms", percentile(base, 95), note)}


def mpi_linkage(people: int, seed: int) -> dict[str, Metric]:
    """Batch linkage of a labelled synthetic list (synth/mpi_labelled.py) with the Spanish-name
    model and, as the same-run baseline, Splink's generic comparisons; pairwise scores."""
    import tempfile
    from pathlib import Path

    from bienestar.people import linkage
    from bienestar.synth.mpi_labelled import write_labelled

    with tempfile.TemporaryDirectory() as tmp:
        labelled = Path(tmp) / "labelled.csv"
        records = write_labelled(labelled, people, seed)
        runs = {}
        for generic in (False, True):
            out = Path(tmp) / f"out_{generic}.csv"
            result = linkage.link_rows(
                linkage.read_csv_rows(labelled), out, generic=generic, progress=False, seed=seed
            )
            runs[generic] = (result, linkage.evaluate(labelled, out))
    (ours, s), (base, b) = runs[False], runs[True]
    note = (
        f"{records} records of {people} synthetic people (duplicates with clinic errors; twins, "
        f"namesakes, fathers and sons as hard non-matches), pairwise against the truth, clusters "
        f"at p >= {linkage.AUTO_LINK}; baseline: Splink with generic comparisons (Jaro-Winkler "
        "on the folded names, exact sex, Levenshtein on the date and the CURP), same blocking "
        "and training, same run"
    )
    return {
        "mpi_link_f1": metric(s.f1, "ratio", b.f1, note),
        "mpi_link_precision": metric(s.precision, "ratio", b.precision, note),
        "mpi_link_recall": metric(s.recall, "ratio", b.recall, note),
        "mpi_link_seconds": metric(ours.seconds, "s", base.seconds, note),
    }
