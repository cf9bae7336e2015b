"""PostgreSQL fast paths for the bulk import: multi-row INSERT … ON CONFLICT DO NOTHING built from
a model's own fields, and the stable identity that makes re-running an import harmless."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models
from django.utils import timezone

# Namespace of the ids derived from FHIR ids that are not UUIDs (uuid5 of "Type/id").
NAMESPACE = uuid.UUID("6f1d6c0e-3b8a-5d2e-9a51-4b9e2f0c7a10")


def stable_uuid(resource_type: str, resource_id: str) -> uuid.UUID:
    """The public id a FHIR resource gets: its own id when that is a UUID (so an export imported
    elsewhere keeps its ids), else a deterministic uuid5 of `Type/id` (so the same line always
    lands on the same row)."""
    try:
        return uuid.UUID(resource_id)
    except ValueError:
        return uuid.uuid5(NAMESPACE, f"{resource_type}/{resource_id}")


def _insertable(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    return [
        f
        for f in model._meta.concrete_fields
        if not (f.primary_key and isinstance(f, models.AutoField))
        and not getattr(f, "generated", False)
    ]


def insert_ignore(
    model: type[models.Model],
    rows: Sequence[dict[str, Any]],
    *,
    conflict: str = "public_id",
    returning: str | None = "public_id",
) -> list[Any]:
    """Insert `rows` (attname → value; missing fields take their default, timestamps now),
    skipping those whose `conflict` column already exists. Returns the `returning` values of the
    rows actually inserted. Any other constraint violation raises IntegrityError, as it must:
    only the identity conflict means "already imported".

    One statement per call whatever the number of rows: each column travels as one array
    parameter and `unnest` turns them back into rows, so PostgreSQL parses a short statement and
    psycopg adapts a few arrays instead of thousands of placeholders."""
    if not rows:
        return []
    fields = _insertable(model)
    quote = connection.ops.quote_name
    now = timezone.now()
    arrays: list[list[Any]] = [[] for _f in fields]
    for row in rows:
        for index, f in enumerate(fields):
            arrays[index].append(_prepared(f, _value(f, row, now)))
    casts, select = [], []
    for index, f in enumerate(fields):
        db_type = str(f.db_type(connection))
        if db_type == "jsonb":
            casts.append("%s::text[]")
            select.append(f"u.c{index}::jsonb")
        else:
            casts.append(f"%s::{db_type}[]")
            select.append(f"u.c{index}")
    columns = ", ".join(quote(str(f.column)) for f in fields)
    aliases = ", ".join(f"c{i}" for i in range(len(fields)))
    sql = (
        f"INSERT INTO {quote(str(model._meta.db_table))} ({columns}) "  # noqa: S608 - names from the model
        f"SELECT {', '.join(select)} FROM unnest({', '.join(casts)}) AS u({aliases}) "
        f"ON CONFLICT ({quote(conflict)}) DO NOTHING"
    )
    if returning:
        sql += f" RETURNING {quote(returning)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, arrays)
        return [r[0] for r in cursor.fetchall()] if returning else []


_PLAIN = (str, int, float, bool, uuid.UUID, dt.date, Decimal)


def _prepared(field: models.Field[Any, Any], value: Any) -> Any:
    if isinstance(field, models.JSONField):
        return None if value is None else json.dumps(value, cls=DjangoJSONEncoder)
    if value is None or type(value) in _PLAIN or isinstance(value, dt.datetime):
        # TextChoices members are str subclasses: their plain value goes in.
        return value
    if isinstance(value, str):
        return str(value)
    return field.get_db_prep_save(value, connection)


def _value(field: models.Field[Any, Any], row: dict[str, Any], now: Any) -> Any:
    if field.attname in row:
        return row[field.attname]
    if isinstance(field, models.DateTimeField) and (field.auto_now or field.auto_now_add):
        return now
    return field.get_default()
