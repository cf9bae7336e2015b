"""Lean INSERTs for hot write paths (dispensing, the audit row written with it).

`insert` writes what `Model.objects.bulk_create(objs)` would — field defaults, `auto_now` and
`auto_now_add`, each field's database preparation, one `INSERT … VALUES … RETURNING id` — but with
the statement's text built once per model instead of by the query compiler on every call, which is
most of the ORM's cost for a one-row insert. Like `bulk_create`, it sends no signals (the project
has no receivers on the models that use it).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.fields import AutoFieldMixin


@functools.cache
def _insert_parts(model: type[models.Model]) -> tuple[str, tuple[models.Field[Any, Any], ...]]:
    meta = model._meta
    pk = meta.pk
    if not isinstance(pk, AutoFieldMixin):
        raise TypeError(f"{model.__name__}: insert() needs a database-assigned primary key")
    fields = tuple(f for f in meta.concrete_fields if f is not pk)
    if any(f.has_db_default() for f in fields):
        raise TypeError(f"{model.__name__}: insert() does not handle db_default")
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    return f"INSERT INTO {quote(meta.db_table)} ({columns})", fields


@functools.cache
def _relations(
    model: type[models.Model], computed: frozenset[str]
) -> frozenset[models.Field[Any, Any]]:
    return frozenset(
        f for f in model._meta.concrete_fields if f.is_relation and f.attname not in computed
    )


def _values(
    obj: models.Model,
    fields: Sequence[models.Field[Any, Any]],
    computed: dict[str, str],
    conn: BaseDatabaseWrapper,
) -> tuple[list[str], list[Any]]:
    # As bulk_create: a related object saved after this instance was built gives its id now.
    relations = _relations(type(obj), frozenset(computed))
    if relations:
        obj._prepare_related_fields_for_save(operation_name="insert", fields=relations)  # type: ignore[attr-defined]
    expressions: list[str] = []
    params: list[Any] = []
    for f in fields:
        if f.attname in computed:
            expressions.append(computed[f.attname])
        else:
            expressions.append("%s")
            params.append(f.get_db_prep_save(f.pre_save(obj, True), conn))
    return expressions, params


def insert_sql(
    objs: Sequence[models.Model], *, computed: dict[str, str] | None = None
) -> tuple[str, list[Any]]:
    """`INSERT INTO <table> (<columns>) VALUES (…), (…)` for unsaved instances of one model, and its
    parameters, ready to be sent alone or inside a `WITH …` (add `RETURNING` as needed). `computed`
    maps attnames to SQL expressions used instead of the instances' values (e.g. the id a `WITH`
    query returned: `{"dispense_id": "(SELECT id FROM dispense)"}`)."""
    head, fields = _insert_parts(type(objs[0]))
    rows: list[str] = []
    params: list[Any] = []
    conn = connections[DEFAULT_DB_ALIAS]
    for obj in objs:
        expressions, values = _values(obj, fields, computed or {}, conn)
        rows.append(f"({', '.join(expressions)})")
        params += values
    return f"{head} VALUES {', '.join(rows)}", params


def insert_select_sql(
    obj: models.Model, *, source: str, computed: dict[str, str]
) -> tuple[str, list[Any]]:
    """`INSERT INTO <table> (<columns>) SELECT …, <expression>, … FROM <source>` for one unsaved
    instance whose `computed` fields (attname → SQL expression over `source`, e.g. a `WITH` query)
    are taken from the source's rows and the rest from the instance; one row per source row."""
    head, fields = _insert_parts(type(obj))
    expressions, params = _values(obj, fields, computed, connections[DEFAULT_DB_ALIAS])
    sql = f"{head} SELECT {', '.join(expressions)} FROM {source}"  # noqa: S608 - the caller's SQL
    return sql, params


def mark_saved(objs: Sequence[models.Model], pks: Sequence[Any]) -> None:
    """Give inserted instances the ids the database assigned (in insertion order), as `save` does."""
    for obj, pk in zip(objs, pks, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = connection.alias


def insert(objs: Sequence[models.Model]) -> None:
    """Insert unsaved instances of one model in one statement and set their ids."""
    if not objs:
        return
    sql, params = insert_sql(objs)
    pk_column = connection.ops.quote_name(str(type(objs[0])._meta.pk.column))  # type: ignore[union-attr]
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} RETURNING {pk_column}", params)
        mark_saved(objs, [row[0] for row in cursor.fetchall()])


@functools.cache
def select_list(model: type[models.Model], alias: str) -> tuple[str, tuple[str, ...]]:
    """The columns of every concrete field of `model` qualified by `alias`, for a hand-written
    SELECT, and the attnames to build instances from its rows with `Model.from_db`."""
    quote = connection.ops.quote_name
    fields = model._meta.concrete_fields
    return (
        ", ".join(f"{alias}.{quote(str(f.column))}" for f in fields),
        tuple(f.attname for f in fields),
    )
