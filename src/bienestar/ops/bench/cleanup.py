"""Take out of the bench database the records a benchmark created, so that the network stays the
same size run after run and `bienestar verify` keeps passing on it.

Before a benchmark that writes, `marks()` notes the highest id of the person, encounter and
observation tables; afterwards `remove_since(marks)` deletes every row above those marks and every
row that refers to them, found through the foreign keys of the catalogue (identifiers, addresses,
changes, the clinical rows of a removed person, the rows of a removed panel …), plus the FHIR
version rows of the removed resources. One transaction; the foreign keys are deferred, so the order
of the deletes does not matter. The audit log is append-only and keeps its rows: they record what
the benchmark did, and nothing checks that their `person_id` still exists.

Only for the bench database, while nothing else writes to it (the bench runs its phases one after
another): a row another process created above a mark would be removed too.
"""

from __future__ import annotations

from typing import Any

from bienestar.ops.bench.common import raw_connection

ROOTS = ("people_person", "clinical_encounter", "clinical_observation")
# FHIR resource type of each root table, for its rows in fhir_resourceversion (no foreign key).
RESOURCE_TYPES = {
    "people_person": "Patient",
    "clinical_encounter": "Encounter",
    "clinical_observation": "Observation",
}


def marks() -> dict[str, int]:
    raw = raw_connection()
    try:
        return {
            table: int(raw.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0])  # noqa: S608 - constant names
            for table in ROOTS
        }
    finally:
        raw.close()


def counts(observations_filter: str = "panel_id IS NULL") -> dict[str, int]:
    """Rows of the root tables (observations: those that are resources of their own)."""
    raw = raw_connection()
    try:
        out = {}
        for table in ROOTS:
            where = f" WHERE {observations_filter}" if table == "clinical_observation" else ""
            out[table] = int(raw.execute(f"SELECT count(*) FROM {table}{where}").fetchone()[0])  # noqa: S608 - constants
        return out
    finally:
        raw.close()


def _edges(raw: Any) -> list[tuple[str, str, str, str]]:
    """Single-column foreign keys of the current schema: (child, column, parent, parent column)."""
    rows = raw.execute(
        """SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text, af.attname
           FROM pg_constraint c
           JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
           JOIN pg_attribute af ON af.attrelid = c.confrelid AND af.attnum = c.confkey[1]
           JOIN pg_namespace n ON n.oid = c.connamespace
           WHERE c.contype = 'f' AND cardinality(c.conkey) = 1
             AND n.nspname = current_schema()
           ORDER BY 1, 2"""
    ).fetchall()
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def _primary_key(raw: Any, table: str) -> str | None:
    """The table's primary key column when it is one integer column (every Django model's)."""
    row = raw.execute(
        """SELECT a.attname FROM pg_index i
           JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
           WHERE i.indrelid = %s::regclass AND i.indisprimary AND i.indnatts = 1
             AND a.atttypid IN ('bigint'::regtype, 'integer'::regtype, 'smallint'::regtype)""",
        [table],
    ).fetchone()
    return str(row[0]) if row else None


def remove_since(before: dict[str, int]) -> dict[str, int]:
    """Delete the rows created after `before` (see the module); returns rows deleted per table."""
    raw = raw_connection(autocommit=False)
    try:
        with raw.transaction():
            raw.execute("SET CONSTRAINTS ALL DEFERRED")
            edges = _edges(raw)
            keys: dict[str, str] = {}
            temp: dict[str, str] = {}
            untracked: set[str] = set()

            def tracked(table: str) -> str | None:
                if table in untracked:
                    return None
                if table not in temp:
                    pk = _primary_key(raw, table)
                    if pk is None:
                        untracked.add(table)
                        return None
                    keys[table], temp[table] = pk, f"bench_rm_{len(temp)}"
                    raw.execute(
                        f"CREATE TEMP TABLE {temp[table]} (k bigint PRIMARY KEY) ON COMMIT DROP"
                    )
                return temp[table]

            size: dict[str, int] = {}
            for table, mark in before.items():
                tmp = tracked(table)
                assert tmp is not None, table
                size[table] = raw.execute(
                    f"INSERT INTO {tmp} SELECT id FROM {table} WHERE id > %s",  # noqa: S608 - catalogue names
                    [mark],
                ).rowcount
                raw.execute(f"ANALYZE {tmp}")  # so that the joins below use the indexes
            # Follow the foreign keys until no table gains a row (a fixpoint: a table can be
            # reached by several paths, e.g. observations by person, encounter and panel). An
            # edge is followed again only when its parent gained rows since the last time.
            followed: dict[tuple[str, str, str, str], int] = {}
            changed = True
            while changed:
                changed = False
                for edge in edges:
                    child, column, parent, parent_column = edge
                    if size.get(parent, 0) == followed.get(edge, 0):
                        continue  # nothing (new) to follow
                    followed[edge] = size[parent]
                    tmp = tracked(child)
                    if tmp is None:
                        # Not an integer key: its rows cannot be tracked; if one refers to a
                        # removed row, the deferred foreign key fails the commit (nothing removed).
                        continue
                    if parent_column == keys[parent]:
                        source = f"SELECT k FROM {temp[parent]}"  # noqa: S608 - our names
                    else:
                        source = (
                            f'SELECT p."{parent_column}" FROM {parent} p '  # noqa: S608 - catalogue names
                            f'JOIN {temp[parent]} t ON t.k = p."{keys[parent]}"'
                        )
                    added = raw.execute(
                        f'INSERT INTO {tmp} SELECT c."{keys[child]}" FROM {child} c '  # noqa: S608 - catalogue names
                        f'WHERE c."{column}" IN ({source}) ON CONFLICT DO NOTHING'
                    ).rowcount
                    if added > 0:
                        size[child] = size.get(child, 0) + added
                        raw.execute(f"ANALYZE {tmp}")
                        changed = True
            for table, kind in RESOURCE_TYPES.items():
                if table in temp:
                    raw.execute(
                        "DELETE FROM fhir_resourceversion WHERE resource_type = %s AND "  # noqa: S608 - catalogue names
                        f"resource_id IN (SELECT public_id::text FROM {table} "
                        f"JOIN {temp[table]} t ON t.k = {table}.id)",
                        [kind],
                    )
            deleted = {}
            for table, tmp in temp.items():
                if size.get(table, 0):
                    raw.execute(
                        f'DELETE FROM {table} WHERE "{keys[table]}" IN (SELECT k FROM {tmp})'  # noqa: S608 - catalogue names
                    )
                    deleted[table] = size[table]
        return deleted
    finally:
        raw.close()
