"""The machinery every reference loader shares: reading files with line numbers, validating every
row before anything is written, and syncing rows to a table in bulk with honest counts.

A loader parses a whole file into plain dicts first. If any row is malformed it raises
`FileRefused` with every problem (file:line and the reason) and nothing from that file is written;
the caller runs each file in its own `transaction.atomic`. Only then does it call `sync_rows`, which
compares with what is stored and writes only what is new or different, so a second run changes
nothing and says so.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

from django.db import connection, models
from django.utils import timezone
from django.utils.translation import gettext as _
from tqdm import tqdm

# Files with more rows than this get a progress bar (on a terminal only; tqdm hides it elsewhere).
PROGRESS_THRESHOLD = 5000
BATCH_SIZE = 2000
# A refused file lists at most this many problems; the rest are counted.
MAX_ISSUES_SHOWN = 25

T = TypeVar("T")


class RowError(ValueError):
    """One row of a file cannot be loaded; the message says why."""


@dataclass(frozen=True)
class RowIssue:
    where: str  # "clues/x.csv:14", "bogota/upz.geojson:feature 3", "libro.xlsx[HORARIOS]:20"
    reason: str
    line: int = 0  # for ordering the report

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


class FileRefused(Exception):
    """The file has malformed rows (or a wrong layout) and is refused whole."""

    def __init__(self, issues: list[RowIssue]) -> None:
        super().__init__(f"{len(issues)} problem(s)")
        self.issues = issues


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def __iadd__(self, other: Counts) -> Counts:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        return self


@dataclass
class FileResult:
    """What happened to one file (or one sheet of a workbook, or one table the package ships)."""

    label: str
    dataset: str = ""
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    refused: bool = False
    missing: bool = False
    issues: list[RowIssue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, counts: Counts) -> None:
        self.created += counts.created
        self.updated += counts.updated
        self.unchanged += counts.unchanged

    def discard_writes(self) -> None:
        """The transaction was rolled back: nothing from this file was loaded."""
        self.created = self.updated = self.unchanged = 0


class Issues:
    """Collects row problems for one file; `raise_if_any` refuses the file."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.items: list[RowIssue] = []

    def add(self, where: str | int, reason: str) -> None:
        line = where if isinstance(where, int) else int(re.sub(r"\D", "", where) or 0)
        self.items.append(RowIssue(f"{self.label}:{where}", reason, line))

    def raise_if_any(self) -> None:
        if self.items:
            raise FileRefused(sorted(self.items, key=lambda issue: issue.line))


# --- reading --------------------------------------------------------------------------------------


def read_text(path: Path, label: str) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FileRefused([RowIssue(f"{label}:{line}", _("el archivo no está en UTF-8"))]) from exc


def read_csv(
    path: Path, label: str, required: Sequence[str], issues: Issues | None = None
) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows of a CSV as (line number where the row starts, row). Refuses a file whose header lacks
    a required column; a row with the wrong number of fields is reported in `issues` (so that the
    caller reports it with the other malformed rows) or, without `issues`, refuses the file."""
    text = read_text(path, label)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise FileRefused([RowIssue(f"{label}:1", _("el archivo está vacío"))]) from None
    missing = [c for c in required if c not in header]
    if missing:
        raise FileRefused(
            [RowIssue(f"{label}:1", _("faltan columnas: %(cols)s") % {"cols": ", ".join(missing)})]
        )
    own = issues is None
    issues = issues or Issues(label)
    line = reader.line_num
    for values in reader:
        start, line = line + 1, reader.line_num
        if not values or all(not v.strip() for v in values):
            continue
        if len(values) != len(header):
            issues.add(
                start,
                _("tiene %(n)d campos; el encabezado tiene %(m)d")
                % {"n": len(values), "m": len(header)},
            )
            continue
        yield start, dict(zip(header, values, strict=True))
    if own:
        issues.raise_if_any()


def read_json(path: Path, label: str) -> Any:
    try:
        return json.loads(read_text(path, label))
    except json.JSONDecodeError as exc:
        raise FileRefused(
            [RowIssue(f"{label}:{exc.lineno}", _("JSON inválido: %(msg)s") % {"msg": exc.msg})]
        ) from exc


def geojson_features(path: Path, label: str) -> list[dict[str, Any]]:
    data = read_json(path, label)
    if not isinstance(data, dict) or not isinstance(data.get("features"), list):
        raise FileRefused([RowIssue(f"{label}:1", _("no es una FeatureCollection GeoJSON"))])
    return data["features"]


def progress(items: Iterable[T], label: str, total: int | None = None) -> Iterable[T]:
    if total is not None and total < PROGRESS_THRESHOLD:
        return items
    # disable=None: shown only when stderr is a terminal, so logs and tests stay clean.
    return tqdm(items, total=total, desc=label, unit=" filas", disable=None, leave=False)


# --- parsing values -------------------------------------------------------------------------------


def text(
    row: dict[str, str], column: str, *, required: bool = False, max_length: int | None = None
) -> str:
    value = " ".join((row.get(column) or "").split())
    if required and not value:
        raise RowError(_("%(col)s está vacío") % {"col": column})
    if max_length is not None and len(value) > max_length:
        raise RowError(_("%(col)s excede %(n)d caracteres") % {"col": column, "n": max_length})
    return value


def integer(
    value: str | float | int | None, column: str, *, minimum: int | None = 0, blank_ok: bool = False
) -> int | None:
    """An integer, tolerating the "43540.0" that spreadsheet exports write for whole numbers."""
    raw = str(value).strip() if value is not None else ""
    if not raw:
        if blank_ok:
            return None
        raise RowError(_("%(col)s está vacío") % {"col": column})
    try:
        number = Decimal(raw)
    except InvalidOperation:
        raise RowError(
            _("%(col)s no es un número entero: %(value)r") % {"col": column, "value": raw}
        ) from None
    if number != number.to_integral_value():
        raise RowError(
            _("%(col)s no es un número entero: %(value)r") % {"col": column, "value": raw}
        )
    result = int(number)
    if minimum is not None and result < minimum:
        raise RowError(
            _("%(col)s es menor que %(min)d: %(value)r")
            % {"col": column, "min": minimum, "value": raw}
        )
    return result


def required_int(value: str | float | int | None, column: str, *, minimum: int | None = 0) -> int:
    result = integer(value, column, minimum=minimum)
    assert result is not None
    return result


def zero_padded(value: str | float | int | None, column: str, width: int) -> str:
    """An official numeric key written with its leading zeros ("1" → "001")."""
    number = required_int(value, column, minimum=0)
    key = f"{number:0{width}d}"
    if len(key) != width:
        raise RowError(
            _("%(col)s tiene más de %(n)d dígitos: %(value)r")
            % {"col": column, "n": width, "value": value}
        )
    return key


SIX_PLACES = Decimal("0.000001")


def coordinate(value: str | float | None, column: str, low: float, high: float) -> Decimal | None:
    raw = str(value).strip() if value is not None else ""
    if not raw:
        return None
    try:
        number = Decimal(raw)
    except InvalidOperation:
        raise RowError(
            _("%(col)s no es un número: %(value)r") % {"col": column, "value": raw}
        ) from None
    if not (Decimal(str(low)) <= number <= Decimal(str(high))):
        raise RowError(_("%(col)s fuera de rango: %(value)s") % {"col": column, "value": raw})
    return number.quantize(SIX_PLACES)


_SMALL_WORDS = {"de", "del", "la", "las", "los", "el", "y", "e", "o", "u", "en", "a"}


def title_es(value: str) -> str:
    """'SAN JOSE DE BAVARIA' → 'San Jose de Bavaria' (official files often shout)."""
    words = value.lower().split()
    return " ".join(
        w if (i and w in _SMALL_WORDS) else w[:1].upper() + w[1:] for i, w in enumerate(words)
    )


_KEY_RE = re.compile(r"\s+")


def squash(value: str) -> str:
    return _KEY_RE.sub(" ", value).strip()


# --- writing --------------------------------------------------------------------------------------


class Mode(Enum):
    UPSERT = "upsert"  # create what is new, overwrite the loader's fields where they differ
    CREATE_ONLY = "create_only"  # create what is new, never touch what exists
    FILL_BLANK = "fill_blank"  # create what is new, fill only fields that are empty in the database


def _blank(value: object) -> bool:
    return value is None or value == ""


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _batches(items: Sequence[T], label: str) -> Iterable[Sequence[T]]:
    batches = list(_chunks(items, BATCH_SIZE))
    if len(items) < PROGRESS_THRESHOLD:
        return batches
    return tqdm(batches, desc=label, unit=" lotes", disable=None, leave=False)


def sync_rows(
    model: type[models.Model],
    rows: Sequence[dict[str, Any]],
    *,
    key: Sequence[str],
    fields: Sequence[str],
    mode: Mode = Mode.UPSERT,
    scope: models.Q | None = None,
    label: str = "",
    create: bool = True,
) -> Counts:
    """Make the table hold `rows`, matched on `key` (attribute names, e.g. "territory_id").

    Only `fields` are compared and updated on existing rows; every column in a row is used when it
    is created. Rows must already be validated and unique on `key`. With a composite key, `scope`
    limits which stored rows are read for the comparison. With `create=False` rows that do not
    exist are ignored (the caller checked they exist). New rows are inserted with `bulk_create`,
    changed ones updated with `bulk_update` by primary key, in batches; nothing is written for a
    row that already holds the same values, so running twice writes nothing the second time.
    """
    counts = Counts()
    if not rows:
        return counts
    pk_name = model._meta.pk.attname  # type: ignore[union-attr]
    stored: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    columns = [pk_name, *key, *fields]
    width = len(key)
    if width == 1:
        values = [r[key[0]] for r in rows]
        for chunk in _chunks(values, 10000):
            for item in model._default_manager.filter(**{f"{key[0]}__in": chunk}).values_list(
                *columns
            ):
                stored[tuple(item[1 : 1 + width])] = item
    else:
        queryset = (
            model._default_manager.all() if scope is None else model._default_manager.filter(scope)
        )
        for item in queryset.values_list(*columns).iterator(chunk_size=10000):
            stored[tuple(item[1 : 1 + width])] = item

    has_updated_at = any(f.name == "updated_at" for f in model._meta.concrete_fields)
    now = timezone.now()
    to_create: list[models.Model] = []
    to_update: list[dict[str, Any]] = []
    changed_fields: set[str] = set()
    for row in rows:
        row_key = tuple(row[k] for k in key)
        current = stored.get(row_key)
        if current is None:
            if create:
                to_create.append(model(**row))
            continue
        if mode is Mode.CREATE_ONLY:
            counts.unchanged += 1
            continue
        old = dict(zip(fields, current[1 + width :], strict=True))
        changes = {
            f: row[f]
            for f in fields
            if f in row and row[f] != old[f] and (mode is Mode.UPSERT or _blank(old[f]))
        }
        if not changes:
            counts.unchanged += 1
            continue
        # The update carries every compared field (stored value, or the new one where it
        # changed) so one statement over the union of changed fields rewrites unchanged
        # columns with the value they already hold.
        to_update.append({pk_name: current[0], **old, **changes})
        changed_fields.update(changes)

    counts.created = len(to_create)
    counts.updated = len(to_update)
    for new_batch in _batches(to_create, f"{label} (altas)"):
        model._default_manager.bulk_create(new_batch)
    if to_update:
        columns_to_set = sorted(changed_fields)
        for changed_batch in _batches(to_update, f"{label} (cambios)"):
            _update_by_pk(model, changed_batch, columns_to_set, now if has_updated_at else None)
    return counts


def _update_by_pk(
    model: type[models.Model], rows: Sequence[dict[str, Any]], attnames: Sequence[str], now: Any
) -> None:
    """UPDATE … FROM (VALUES …) joined on the primary key: linear in the number of rows, unlike
    Django's bulk_update, whose CASE WHEN per field grows with the square of the batch."""
    meta = model._meta
    pk = meta.pk
    assert pk is not None
    by_attname = {f.attname: f for f in meta.concrete_fields}
    quote = connection.ops.quote_name

    def cast(field: models.Field[Any, Any]) -> str:
        return field.cast_db_type(connection) or "text"

    def column(field: models.Field[Any, Any]) -> str:
        return quote(field.column or field.attname)

    names = [pk.attname, *attnames]
    placeholders = "(" + ", ".join(["%s"] * len(names)) + ")"
    params: list[Any] = []
    if now is not None:
        params.append(now)  # the SET clause comes before the VALUES list
    for row in rows:
        for name in names:
            field = by_attname[name]
            params.append(field.get_db_prep_save(row[name], connection))
    assignments = [
        f"{column(by_attname[a])} = v.{quote(a)}::{cast(by_attname[a])}" for a in attnames
    ]
    if now is not None:
        assignments.append(f"{quote('updated_at')} = %s")
    sql = (
        f"UPDATE {quote(meta.db_table)} AS t SET {', '.join(assignments)} "  # noqa: S608 - identifiers are the model's own
        f"FROM (VALUES {', '.join([placeholders] * len(rows))}) AS v({', '.join(quote(n) for n in names)}) "
        f"WHERE t.{column(pk)} = v.{quote(pk.attname)}::{cast(pk)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def validate_rows(
    rows: Iterable[tuple[int | str, T]],
    issues: Issues,
    parse: Callable[[T], dict[str, Any] | None],
) -> list[tuple[int | str, dict[str, Any]]]:
    """Parse every row, collecting `RowError`s as issues; a None from `parse` skips the row."""
    parsed: list[tuple[int | str, dict[str, Any]]] = []
    for where, raw in rows:
        try:
            record = parse(raw)
        except RowError as exc:
            issues.add(where, str(exc))
            continue
        if record is not None:
            parsed.append((where, record))
    return parsed


def unique_by(
    records: Sequence[tuple[int | str, dict[str, Any]]],
    key: Callable[[dict[str, Any]], Any],
    issues: Issues,
    what: str,
) -> None:
    """Report a key that appears twice (the second occurrence, naming the first)."""
    seen: dict[Any, int | str] = {}
    for where, record in records:
        k = key(record)
        if k in seen:
            issues.add(
                where,
                _("%(what)s %(key)s repetida (ya en la línea %(first)s)")
                % {"what": what, "key": k, "first": seen[k]},
            )
        else:
            seen[k] = where
