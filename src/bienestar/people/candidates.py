"""Who might this newcomer already be? The registration page's candidate query.

One SQL statement finds candidates on indexes only (so it stays fast at national scale):
- everyone born on the typed date, on the date with day and month swapped, and on the CURP's
  date (btree on birth_date: about 35 persons a day per million people);
- the typed CURP itself and CURPs sharing its first ten characters (initials and birth date:
  one wrong character in the last eight) — a range on the unique (system, value) index;
- everyone bearing both typed surnames (in any order: the name-word GIN index of ADR 0008) born
  within two years of the typed date (a wrong year).
Candidates are then read through the caller's scope and scored by people/matching.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import OuterRef, Subquery

from bienestar.access.actor import Actor
from bienestar.access.audit import audit_record
from bienestar.access.models import AuditAction
from bienestar.people import curp as curp_mod
from bienestar.people import matching
from bienestar.people.models import IdentifierSystem, Person, PersonIdentifier
from bienestar.people.selectors import persons_visible_to

MAX_CANDIDATES = 300
SHOWN_MAX = 10
YEARS_AROUND = 2

CANDIDATE_SQL = """
SELECT id FROM people_person WHERE status = 'active' AND birth_date = ANY(%(dates)s::date[])
UNION
SELECT i.person_id FROM people_personidentifier i
 WHERE i.system = 'curp' AND i.value >= %(prefix)s AND i.value <= %(prefix_end)s
UNION
SELECT id FROM people_person
 WHERE status = 'active' AND cardinality(%(surnames)s::text[]) > 0
   AND string_to_array(name_search, ' ') @> %(surnames)s::text[]
   AND birth_date BETWEEN %(low)s AND %(high)s
LIMIT %(limit)s
"""


def _swap(day: dt.date) -> dt.date | None:
    try:
        return day.replace(month=day.day, day=day.month) if day.day <= 12 else None
    except ValueError:
        return None


def candidate_params(record: matching.Record) -> dict[str, Any] | None:
    """The candidate query's parameters, or None when too little was typed to look."""
    dates: set[dt.date] = set()
    parts = curp_mod.decode(record.curp) if record.curp else None
    for day in (record.birth_date, parts.birth_date if parts else None):
        if day is not None:
            dates.add(day)
            swapped = _swap(day)
            if swapped:
                dates.add(swapped)
    curp = curp_mod.normalize(record.curp)
    prefix = curp[:10] if len(curp) >= 10 else "\x7f"  # nothing sorts after DEL: no match
    surnames = [w for w in (record.first_surname, record.second_surname) if w.strip()]
    born = record.birth_date or (parts.birth_date if parts else None)
    if not dates and prefix == "\x7f":
        return None
    low = born.replace(year=max(born.year - YEARS_AROUND, 1), day=1) if born else dt.date.max
    high = born.replace(year=born.year + YEARS_AROUND, day=28) if born else dt.date.min
    return {
        "dates": sorted(dates),
        "prefix": prefix,
        "prefix_end": prefix + "Z" * 8,
        "surnames_raw": " ".join(surnames),
        "low": low,
        "high": high,
        "limit": MAX_CANDIDATES,
    }


def candidate_ids(params: dict[str, Any]) -> list[int]:
    """The candidate ids (all territories, unscoped: callers scope before reading anything)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(string_to_array(bienestar_unaccent(lower(%s)), ' '), '{}')",
            [params["surnames_raw"]],
        )
        surnames = [w for w in cursor.fetchone()[0] if w]
        cursor.execute(CANDIDATE_SQL, {**params, "surnames": surnames})
        return [row[0] for row in cursor.fetchall()]


@dataclass
class Candidate:
    person: Person
    curp: str
    match: matching.Match


@dataclass
class Candidates:
    candidates: list[Candidate] = field(default_factory=list)
    curp_elsewhere: bool = False  # the typed CURP belongs to someone outside the caller's scope
    warnings: list[str] = field(default_factory=list)

    @property
    def strong(self) -> list[Candidate]:
        return [c for c in self.candidates if c.match.band == "strong"]


def registration_candidates(
    actor: Actor, *, record: matching.Record, limit: int = SHOWN_MAX
) -> Candidates:
    """The persons visible to the actor who may be `record`, best first, with the reasons; one
    audit row (kind "candidates") lists every person shown."""
    scoped = persons_visible_to(actor)  # checks PERSON_READ
    out = Candidates(warnings=matching.curp_disagreements(record))
    params = candidate_params(record)
    if params is None:
        return out
    ids = candidate_ids(params)
    curp_of = PersonIdentifier.objects.filter(
        person=OuterRef("pk"), system=IdentifierSystem.CURP
    ).values("value")[:1]
    people = (
        scoped.select_related(None)
        .filter(id__in=ids)
        .annotate(curp_value=Subquery(curp_of))
        .only(
            "id",
            "public_id",
            "given_names",
            "first_surname",
            "second_surname",
            "sex",
            "birth_date",
        )
    )
    scored = []
    for person in people:
        curp = person.curp_value or ""  # type: ignore[attr-defined]
        existing = matching.Record(
            given_names=person.given_names,
            first_surname=person.first_surname,
            second_surname=person.second_surname,
            sex=person.sex,
            birth_date=person.birth_date,
            curp=curp,
        )
        match = matching.compare(record, existing)
        if match.probability >= matching.SHOWN:
            scored.append(Candidate(person=person, curp=curp, match=match))
    scored.sort(key=lambda c: (-c.match.probability, c.person.id))
    out.candidates = scored[: max(1, min(limit, 50))]
    typed_curp = curp_mod.normalize(record.curp)
    if typed_curp and not any(c.curp == typed_curp for c in out.candidates):
        out.curp_elsewhere = PersonIdentifier.objects.filter(
            system=IdentifierSystem.CURP, value=typed_curp
        ).exists()
    audit_record(
        actor,
        action=AuditAction.SEARCH,
        resource_type="Person",
        query={"kind": "candidates", "curp": bool(typed_curp)},
        result_ids=[str(c.person.public_id) for c in out.candidates],
    )
    return out
