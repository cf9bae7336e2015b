"""Batch record linkage of person lists with Splink on DuckDB (issue 14, ADR 0016).

`link_file` reads a CSV with the columns of `bienestar mpi link` (CONTRACTS.md), prepares each
record with the registration page's own name handling (people/matching.py: folding, particles,
abbreviations, the nickname table), adds a Spanish phonetic key and the CURP's parts, trains a
Fellegi-Sunter model by EM on the data itself, scores the blocked pairs, clusters at the
automatic-link threshold and writes `record_id, cluster_id, match_probability`.

`generic=True` builds the baseline the issue names: Jaro-Winkler on names, exact sex, a date
comparison, Levenshtein on the CURP, the same blocking and the same training.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bienestar.people import curp as curp_mod
from bienestar.people import matching

# Bands (ADR 0016): automatic link, human review, non-match.
AUTO_LINK = 0.999
REVIEW = 0.9

INPUT_COLUMNS = [
    "record_id",
    "given_names",
    "first_surname",
    "second_surname",
    "sex",
    "birth_date",
    "curp",
    "state",
    "municipality",
    "phone",
]
PREPARED = [
    "unique_id",
    "given",
    "given_first",
    "given_canon",
    "given_phon",
    "first_s",
    "second_s",
    "first_phon",
    "surnames_sorted",
    "sex",
    "dob",
    "dob_swapped",
    "dob_year",
    "curp",
    "curp_prefix10",
    "curp_mid",
    "curp_valid",
    "state",
    "municipality",
    "phone",
]
SKIPPED_GIVEN = frozenset({"maria", "jose"})

_PHONETIC = [
    (re.compile(r"ch"), "x"),
    (re.compile(r"ll"), "y"),
    (re.compile(r"qu"), "k"),
    (re.compile(r"gu(?=[ei])"), "g"),
    (re.compile(r"g(?=[ei])"), "j"),
    (re.compile(r"c(?=[ei])"), "s"),
    (re.compile(r"c"), "k"),
    (re.compile(r"z"), "s"),
    (re.compile(r"v"), "b"),
    (re.compile(r"w"), "u"),
    (re.compile(r"h"), ""),
    (re.compile(r"y$"), "i"),
    (re.compile(r"(.)\1+"), r"\1"),
]


def phonetic(text: str) -> str:
    """A Spanish phonetic key: letters that sound alike in Mexican Spanish folded together
    (b/v, c/s/z before e and i, c/k/qu, g/j before e and i, ll/y, silent h, doubled letters)."""
    out = matching.fold(text).replace(" ", "")
    for pattern, repl in _PHONETIC:
        out = pattern.sub(repl, out)
    return out


def _canonical(words: list[str]) -> list[str]:
    nicknames, _abbr = matching._table()
    out = []
    for w in words:
        formal = sorted(nicknames.get(w, ()))
        out.extend(formal[0].split() if formal else [w])
    return out


def _date(raw: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat((raw or "").strip()[:10])
    except ValueError:
        return None


def prepare(row: dict[str, str]) -> list[str]:
    """One input row as the PREPARED columns (empty string for unknown)."""
    given_words = matching.name_words(row.get("given_names", ""))
    canon = _canonical(given_words)
    significant = [w for w in canon if w not in SKIPPED_GIVEN] or canon
    first = " ".join(matching.name_words(row.get("first_surname", "")))
    second = " ".join(matching.name_words(row.get("second_surname", "")))
    born = _date(row.get("birth_date", ""))
    swapped = ""
    if born and born.day <= 12 and born.day != born.month:
        swapped = born.replace(month=born.day, day=born.month).isoformat()
    curp = (row.get("curp") or "").strip().upper()
    sex = (row.get("sex") or "").strip().upper()[:1]
    phone = re.sub(r"\D", "", row.get("phone") or "")[-10:]
    return [
        (row.get("record_id") or "").strip(),
        " ".join(given_words),
        significant[0] if significant else "",
        " ".join(canon),
        phonetic(" ".join(significant[:1])),
        first,
        second,
        phonetic(first),
        " ".join(sorted(w for w in (first, second) if w)),
        sex if sex in ("H", "M") else "",
        born.isoformat() if born else "",
        swapped,
        str(born.year) if born else "",
        curp if len(curp) == 18 else "",
        curp[:10] if len(curp) == 18 else "",
        curp[4:13] if len(curp) == 18 else "",
        "1" if len(curp) == 18 and curp_mod.is_valid(curp) else "",
        (row.get("state") or "").strip().upper(),
        (row.get("municipality") or "").strip(),
        phone if len(phone) >= 7 else "",
    ]


# --- the model -----------------------------------------------------------------------------------


def _null(*cols: str) -> str:
    return " OR ".join(f'"{c}_l" IS NULL OR "{c}_r" IS NULL' for c in cols)


def spanish_comparisons() -> list[Any]:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    def custom(name: str, levels: list[tuple[str, str]], null: str) -> Any:
        return cl.CustomComparison(
            output_column_name=name,
            comparison_levels=[
                cll.CustomLevel(null, "null").configure(is_null_level=True),
                *[cll.CustomLevel(sql, label) for sql, label in levels],
                cll.ElseLevel(),
            ],
        )

    return [
        custom(
            "curp",
            [
                ("curp_l = curp_r", "exact"),
                ("levenshtein(curp_l, curp_r) <= 1", "one character"),
            ],
            _null("curp"),
        ),
        custom(
            "given",
            [
                ("given_l = given_r", "exact"),
                ("given_canon_l = given_canon_r", "nickname"),
                (
                    "list_has_all(string_split(given_canon_l, ' '), string_split(given_canon_r, ' ')) "
                    "OR list_has_all(string_split(given_canon_r, ' '), string_split(given_canon_l, ' '))",
                    "compound shortened",
                ),
                ("jaro_winkler_similarity(given_l, given_r) >= 0.92", "jaro-winkler 0.92"),
                ("given_phon_l = given_phon_r", "phonetic"),
            ],
            _null("given"),
        ),
        custom(
            "surnames",
            [
                (
                    "first_s_l = first_s_r AND coalesce(second_s_l, '') = coalesce(second_s_r, '')",
                    "exact",
                ),
                ("first_s_l = second_s_r AND second_s_l = first_s_r", "swapped"),
                (
                    "first_s_l = first_s_r AND (second_s_l IS NULL OR second_s_r IS NULL)",
                    "second missing",
                ),
                (
                    "jaro_winkler_similarity(first_s_l, first_s_r) >= 0.92 "
                    "AND (coalesce(second_s_l, '') = coalesce(second_s_r, '') "
                    "OR second_s_l IS NULL OR second_s_r IS NULL)",
                    "typo",
                ),
                ("first_phon_l = first_phon_r", "phonetic"),
            ],
            _null("first_s"),
        ),
        custom(
            "birth_date",
            [
                ("dob_l = dob_r", "exact"),
                ("dob_l = dob_swapped_r", "day/month swapped"),
                ("levenshtein(dob_l, dob_r) <= 1", "one digit"),
                (
                    "abs(CAST(dob_year_l AS INTEGER) - CAST(dob_year_r AS INTEGER)) <= 1 "
                    "AND substr(dob_l, 6) = substr(dob_r, 6)",
                    "year off by one",
                ),
            ],
            _null("dob"),
        ),
        cl.ExactMatch("sex"),
        cl.ExactMatch("state"),
        cl.ExactMatch("phone"),
    ]


def generic_comparisons() -> list[Any]:
    """The baseline: generic Splink comparisons on the raw (only case-folded) columns."""
    import splink.comparison_library as cl

    return [
        cl.JaroWinklerAtThresholds("given", [0.92, 0.8]),
        cl.JaroWinklerAtThresholds("first_s", [0.92, 0.8]),
        cl.JaroWinklerAtThresholds("second_s", [0.92, 0.8]),
        cl.ExactMatch("sex"),
        cl.LevenshteinAtThresholds("dob", [1, 2]),
        cl.LevenshteinAtThresholds("curp", [1, 2]),
    ]


BLOCKING = [
    "l.curp = r.curp",
    "l.curp_prefix10 = r.curp_prefix10",
    "l.dob = r.dob",
    "l.dob = r.dob_swapped",
    "l.surnames_sorted = r.surnames_sorted AND l.dob_year = r.dob_year",
    "l.first_s = r.first_s AND l.given_first = r.given_first AND l.dob_year = r.dob_year",
]


@dataclass
class LinkResult:
    records: int
    pairs: int
    clusters: int
    seconds: float
    out: Path
    timings: dict[str, float] = field(default_factory=dict)


def _write_prepared(rows: Iterable[dict[str, str]], path: Path, tick: Callable[[], None]) -> int:
    count = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(PREPARED)
        for row in rows:
            writer.writerow(prepare(row))
            count += 1
            if count % 10000 == 0:
                tick()
    return count


def link_rows(
    rows: Iterable[dict[str, str]],
    out: Path,
    *,
    generic: bool = False,
    progress: bool = True,
    threshold: float = AUTO_LINK,
    seed: int = 1,
) -> LinkResult:
    """Link the rows (dicts with INPUT_COLUMNS) and write OUT. Returns counts and timings."""
    import duckdb
    from splink import Linker, SettingsCreator, block_on
    from splink.backends.duckdb import DuckDBAPI
    from splink.blocking_rule_library import CustomRule
    from tqdm import tqdm

    started = time.perf_counter()
    timings: dict[str, float] = {}
    steps = ["preparar", "entrenar (EM)", "comparar pares", "agrupar", "escribir"]
    bar = tqdm(total=len(steps), disable=not progress, unit="paso", desc="vinculación")

    def step(name: str) -> None:
        timings[name] = time.perf_counter() - started - sum(timings.values())
        bar.set_postfix_str(name)
        bar.update(1)

    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.csv"
        count = _write_prepared(rows, prepared, lambda: None)
        con = duckdb.connect()
        con.execute(
            "CREATE TABLE records AS SELECT * FROM read_csv(?, header = true, all_varchar = true, "
            "nullstr = '')",
            [str(prepared)],
        )
        step("preparar")
        db_api = DuckDBAPI(connection=con)
        sdf = db_api.register("records")
        settings = SettingsCreator(
            link_type="dedupe_only",
            comparisons=generic_comparisons() if generic else spanish_comparisons(),
            blocking_rules_to_generate_predictions=[CustomRule(rule) for rule in BLOCKING],
            retain_matching_columns=True,
            retain_intermediate_calculation_columns=False,
            additional_columns_to_retain=["curp_valid"],
        )
        linker = Linker(sdf, settings, log_level=30)
        linker.training.estimate_probability_two_random_records_match(
            ["l.curp = r.curp", "l.given = r.given AND l.first_s = r.first_s AND l.dob = r.dob"],
            recall=0.7,
        )
        linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=seed)
        linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
        linker.training.estimate_parameters_using_expectation_maximisation(
            block_on("surnames_sorted", "dob_year")
        )
        step("entrenar (EM)")
        predictions = linker.inference.predict(threshold_match_probability=0.01)
        pairs = con.execute(f"SELECT count(*) FROM {predictions.physical_name}").fetchall()[0][0]  # noqa: S608 - Splink's own table name
        step("comparar pares")
        # The rule: two different CURPs that both pass their check digit are two people;
        # such a pair is never linked automatically, whatever its score (twins have them).
        con.execute(
            f"""CREATE TABLE linkable AS SELECT * FROM {predictions.physical_name}
            WHERE NOT (coalesce(curp_valid_l, '') = '1' AND coalesce(curp_valid_r, '') = '1'
                       AND curp_l <> curp_r)"""  # noqa: S608 - Splink's own table name
        )
        clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
            db_api.register("linkable"), threshold_match_probability=threshold
        )
        step("agrupar")
        con.execute(
            f"""
            COPY (
              WITH best AS (
                SELECT id, max(p) AS p FROM (
                  SELECT unique_id_l AS id, match_probability AS p FROM linkable
                  WHERE match_probability >= {float(threshold)}
                  UNION ALL
                  SELECT unique_id_r, match_probability FROM linkable
                  WHERE match_probability >= {float(threshold)}
                ) GROUP BY id
              )
              SELECT c.unique_id AS record_id, c.cluster_id,
                     CASE WHEN b.p IS NULL THEN NULL ELSE round(b.p, 6) END AS match_probability
              FROM {clusters.physical_name} c LEFT JOIN best b ON b.id = c.unique_id
              ORDER BY c.cluster_id, c.unique_id
            ) TO '{out}' (HEADER, DELIMITER ',')
            """  # noqa: S608 - Splink's table names, a float and our own path
        )
        n_clusters = con.execute(
            f"SELECT count(DISTINCT cluster_id) FROM {clusters.physical_name}"  # noqa: S608
        ).fetchall()[0][0]
        step("escribir")
        con.close()
    bar.close()
    return LinkResult(
        records=count,
        pairs=int(pairs),
        clusters=int(n_clusters),
        seconds=time.perf_counter() - started,
        out=out,
        timings=timings,
    )


def read_csv_rows(path: Path) -> Iterable[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in ("record_id",) if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"Faltan columnas en {path}: {', '.join(missing)}")
        yield from reader


@dataclass
class Scores:
    precision: float
    recall: float
    f1: float
    true_pairs: int
    predicted_pairs: int


def evaluate(labelled: Path, linked: Path) -> Scores:
    """Pairwise precision, recall and F1 of OUT's clusters against the `person_id` truth."""
    import duckdb

    con = duckdb.connect()
    con.execute(
        "CREATE TABLE truth AS SELECT record_id, person_id FROM read_csv(?, all_varchar = true)",
        [str(labelled)],
    )
    con.execute(
        "CREATE TABLE linked AS SELECT record_id, cluster_id FROM read_csv(?, all_varchar = true)",
        [str(linked)],
    )
    true_pairs, predicted, both = con.execute(
        """
        WITH t AS (SELECT a.record_id x, b.record_id y FROM truth a JOIN truth b
                   ON a.person_id = b.person_id AND a.record_id < b.record_id),
             p AS (SELECT a.record_id x, b.record_id y FROM linked a JOIN linked b
                   ON a.cluster_id = b.cluster_id AND a.record_id < b.record_id)
        SELECT (SELECT count(*) FROM t), (SELECT count(*) FROM p),
               (SELECT count(*) FROM t JOIN p USING (x, y))
        """
    ).fetchall()[0]
    con.close()
    precision = both / predicted if predicted else 1.0
    recall = both / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Scores(precision, recall, f1, int(true_pairs), int(predicted))
