"""Batch linkage: the labelled synthetic list, `bienestar mpi link` and its output contract."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from django.core.management import call_command

from bienestar.people import linkage
from bienestar.people.models import PersonIdentifier
from bienestar.people.tests.factories import PersonFactory
from bienestar.synth.mpi_labelled import COLUMNS, labelled_records, write_labelled


def test_phonetic_key_folds_spanish_spellings():
    assert linkage.phonetic("Vázquez") == linkage.phonetic("Basques")
    assert linkage.phonetic("Cecilia") == linkage.phonetic("Sesilia")
    assert linkage.phonetic("Hernández") == linkage.phonetic("Ernandes")
    assert linkage.phonetic("Guillermo") == linkage.phonetic("Guiyermo")


def test_prepare_canonicalises_names_and_dates():
    row = {
        "record_id": "1",
        "given_names": "Lupita",
        "first_surname": "de la Cruz",
        "second_surname": "",
        "sex": "M",
        "birth_date": "1985-03-04",
        "curp": "",
    }
    prepared = dict(zip(linkage.PREPARED, linkage.prepare(row), strict=True))
    assert prepared["given_canon"] == "guadalupe"
    assert prepared["first_s"] == "cruz"
    assert prepared["dob_swapped"] == "1985-04-03"


def test_labelled_set_is_reproducible_and_has_hard_non_matches():
    first = list(labelled_records(400, seed=3))
    assert first == list(labelled_records(400, seed=3))
    assert set(first[0]) == set(COLUMNS)
    by_person: dict[str, list[dict[str, str]]] = {}
    for row in first:
        by_person.setdefault(row["person_id"], []).append(row)
    assert any(len(rows) > 1 for rows in by_person.values())  # duplicates
    # Different people sharing surnames and birth date (twins) or the whole name (namesakes).
    keys: dict[tuple[str, str, str], set[str]] = {}
    for row in first:
        keys.setdefault(
            (row["first_surname"], row["second_surname"], row["birth_date"]), set()
        ).add(row["person_id"])
    assert any(len(ids) > 1 for ids in keys.values())


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.django_db
def test_mpi_link_command_writes_the_contract_and_links_well(tmp_path):
    source = tmp_path / "in.csv"
    records = write_labelled(source, 1500, seed=2)
    out = tmp_path / "out.csv"

    call_command("mpi", "link", str(source), "--out", str(out), "--no-progress")

    rows = _read(out)
    assert list(rows[0]) == ["record_id", "cluster_id", "match_probability"]
    assert len(rows) == records
    assert len({r["record_id"] for r in rows}) == records
    scores = linkage.evaluate(source, out)
    assert scores.f1 > 0.9, scores
    assert scores.precision > 0.9, scores


@pytest.mark.django_db
def test_against_registry_links_the_list_to_existing_persons(tmp_path, geo):
    source = tmp_path / "in.csv"
    write_labelled(source, 300, seed=4)
    rows = _read(source)
    target = rows[0]
    person = PersonFactory(
        territory=geo["oaxaca_centro"],
        given_names=target["given_names"],
        first_surname=target["first_surname"],
        second_surname=target["second_surname"],
        sex={"H": "M", "M": "F"}[target["sex"]],
        birth_date=dt.date.fromisoformat(target["birth_date"]),
    )
    if target["curp"]:
        PersonIdentifier.objects.create(person=person, system="curp", value=target["curp"])
    out = tmp_path / "out.csv"

    call_command(
        "mpi", "link", str(source), "--out", str(out), "--against-registry", "--no-progress"
    )

    linked = {r["record_id"]: r["cluster_id"] for r in _read(out)}
    assert linked[f"registry:{person.public_id}"] == linked[target["record_id"]]


def test_missing_input_is_a_clear_error(tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("mpi", "link", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o.csv"))
