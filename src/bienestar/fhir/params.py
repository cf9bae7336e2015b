"""Search parameter values: parsing (dates with prefixes, tokens, quantities, references) and the
ORM filters they become. Pure functions of their inputs; no queries run here."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import F, Func, Q, TextField, Value
from django.db.models.functions import Concat, Lower
from django.db.models.lookups import Contains, Exact, Regex, StartsWith
from django.utils import timezone
from django.utils.translation import gettext as _

from bienestar.fhir.errors import FhirError

PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
_DATE_RE = re.compile(
    r"^(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})"
    r"(?:T(?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?P<f>\.\d+)?)?(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)
NOTHING = Q(pk__in=[])


def bad_value(name: str, value: str, hint: str = "") -> FhirError:
    message = _("Valor inválido para %(name)s: %(value)s.") % {"name": name, "value": value}
    if hint:
        message = f"{message} {hint}"
    return FhirError(400, message, code="invalid")


def split_or(value: str) -> list[str]:
    """Comma-separated alternatives; `\\,` is a literal comma."""
    parts = re.split(r"(?<!\\),", value)
    return [p.replace("\\,", ",") for p in parts if p != ""]


def split_prefix(value: str) -> tuple[str, str]:
    if len(value) > 2 and value[:2] in PREFIXES and (value[2].isdigit() or value[2] in "-."):
        return value[:2], value[2:]
    return "eq", value


# --- dates -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Moment:
    """The range a date parameter denotes: [start, end) in time, and [day_start, day_end) in days
    (for date-only targets such as a birth date)."""

    start: dt.datetime
    end: dt.datetime
    day_start: dt.date
    day_end: dt.date


def _add_months(day: dt.date, months: int) -> dt.date:
    total = day.year * 12 + day.month - 1 + months
    return dt.date(total // 12, total % 12 + 1, 1)


def parse_moment(name: str, text: str) -> Moment:
    match = _DATE_RE.match(text)
    if match is None:
        raise bad_value(name, text, _("Use AAAA, AAAA-MM, AAAA-MM-DD o AAAA-MM-DDThh:mm:ss+zz:zz."))
    g = match.groupdict()
    try:
        year = int(g["y"])
        if g["H"] is None:
            if g["d"]:
                first = dt.date(year, int(g["m"]), int(g["d"]))
                last = first + dt.timedelta(days=1)
            elif g["m"]:
                first = dt.date(year, int(g["m"]), 1)
                last = _add_months(first, 1)
            else:
                first, last = dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
            start = timezone.make_aware(dt.datetime.combine(first, dt.time.min))
            end = timezone.make_aware(dt.datetime.combine(last, dt.time.min))
            return Moment(start, end, first, last)
        moment = dt.datetime(
            year, int(g["m"]), int(g["d"]), int(g["H"]), int(g["M"]), int(g["S"] or 0)
        )
    except ValueError:
        raise bad_value(name, text) from None
    if g["f"]:
        # Digits, not a float: int(float(".000123") * 1e6) is 122 for about 1% of fractions.
        # Beyond six digits the instant is finer than PostgreSQL keeps: truncate.
        moment = moment.replace(microsecond=int(g["f"][1:7].ljust(6, "0")))
        step = dt.timedelta(microseconds=1)
    else:
        step = dt.timedelta(seconds=1) if g["S"] else dt.timedelta(minutes=1)
    if g["tz"]:
        offset = dt.timedelta(0)
        if g["tz"] != "Z":
            sign = 1 if g["tz"][0] == "+" else -1
            offset = sign * dt.timedelta(hours=int(g["tz"][1:3]), minutes=int(g["tz"][4:6]))
        moment = moment.replace(tzinfo=dt.timezone(offset))
    else:
        moment = timezone.make_aware(moment)
    end = moment + step
    day_start = timezone.localdate(moment)
    day_end = timezone.localdate(end - dt.timedelta(microseconds=1)) + dt.timedelta(days=1)
    return Moment(moment, end, day_start, day_end)


def date_q(
    name: str, value: str, start_field: str, end_field: str | None = None, *, days: bool = False
) -> Q:
    """FHIR date search on a point (`start_field` only) or a period (`end_field` may be null for
    an open period). The parameter's own range follows its precision: `2024` is the whole year."""
    prefix, text = split_prefix(value)
    if prefix == "ap":
        raise bad_value(name, value, _("El prefijo ap no se admite en fechas."))
    moment = parse_moment(name, text)
    lo: Any = moment.day_start if days else moment.start
    hi: Any = moment.day_end if days else moment.end
    ts = start_field
    if end_field is None:
        eq = Q(**{f"{ts}__gte": lo, f"{ts}__lt": hi})
        by_prefix = {
            "eq": eq,
            "ne": ~eq,
            "gt": Q(**{f"{ts}__gte": hi}),
            "sa": Q(**{f"{ts}__gte": hi}),
            "lt": Q(**{f"{ts}__lt": lo}),
            "eb": Q(**{f"{ts}__lt": lo}),
            "ge": Q(**{f"{ts}__gte": lo}),
            "le": Q(**{f"{ts}__lt": hi}),
        }
        return by_prefix[prefix]
    te = end_field

    def ends_at_or_after(x: Any) -> Q:
        return Q(**{f"{te}__gte": x}) | Q(**{f"{te}__isnull": True})

    eq = Q(**{f"{ts}__gte": lo, f"{te}__lt": hi})
    by_prefix = {
        "eq": eq,
        "ne": ~eq,
        "gt": ends_at_or_after(hi),
        "lt": Q(**{f"{ts}__lt": lo}),
        "ge": ends_at_or_after(lo),
        "le": Q(**{f"{ts}__lt": hi}),
        "sa": Q(**{f"{ts}__gte": hi}),
        "eb": Q(**{f"{te}__lt": lo}),
    }
    return by_prefix[prefix]


# --- tokens ------------------------------------------------------------------------------------------


def parse_token(value: str) -> tuple[str | None, str]:
    """(system, code): `system|code`, `|code` (no system: ""), `code` (any system: None),
    `system|` (any code of the system: code "")."""
    if "|" in value:
        system, code = value.split("|", 1)
        return system, code
    return None, value


def token_q(value: str, build: Callable[[str | None, str], Q]) -> Q:
    system, code = parse_token(value)
    return build(system, code)


def choice_token(
    field: str, allowed: dict[str, Any], system: str | None = None
) -> Callable[[str | None, str], Q]:
    """A token over a field with a fixed set of codes (`allowed`: FHIR code → stored value)."""

    def build(token_system: str | None, code: str) -> Q:
        if token_system not in (None, "") and system is not None and token_system != system:
            return NOTHING
        if code == "":
            return Q()
        if code not in allowed:
            return NOTHING
        stored = allowed[code]
        if isinstance(stored, list | tuple | set | frozenset):
            return Q(**{f"{field}__in": list(stored)})
        return Q(**{field: stored})

    return build


# --- quantities --------------------------------------------------------------------------------------


def quantity_q(name: str, value: str, value_field: str, unit_field: str, unit_system: str) -> Q:
    """`[prefix]number[|system|code]`; an `eq` match honours the number's implicit precision
    (`100` matches 99.5 to 100.5)."""
    prefix, rest = split_prefix(value)
    number_text, _sep, unit_part = rest.partition("|")
    try:
        number = Decimal(number_text)
    except InvalidOperation:
        raise bad_value(name, value) from None
    if not number.is_finite():
        raise bad_value(name, value)
    exponent = number.as_tuple().exponent
    half = Decimal(5).scaleb(int(exponent) - 1) if isinstance(exponent, int) else Decimal(0)
    f = value_field
    by_prefix = {
        "eq": Q(**{f"{f}__gte": number - half, f"{f}__lt": number + half}),
        "ne": ~Q(**{f"{f}__gte": number - half, f"{f}__lt": number + half}),
        "gt": Q(**{f"{f}__gt": number}),
        "lt": Q(**{f"{f}__lt": number}),
        "ge": Q(**{f"{f}__gte": number}),
        "le": Q(**{f"{f}__lte": number}),
        "ap": Q(**{f"{f}__gte": number - abs(number) / 10, f"{f}__lte": number + abs(number) / 10}),
    }
    if prefix not in by_prefix:
        raise bad_value(name, value, _("Los prefijos sa y eb no se admiten en cantidades."))
    q = by_prefix[prefix]
    if unit_part:
        system, _sep2, code = unit_part.partition("|")
        if not _sep2:
            system, code = "", unit_part
        if system and system != unit_system:
            return NOTHING
        if code:
            q &= Q(**{unit_field: code})
    return q


# --- references and ids ------------------------------------------------------------------------------


def reference_value(value: str, types: tuple[str, ...]) -> tuple[str | None, str]:
    """(type or None, id) of a reference search value: `id`, `Type/id` or an absolute URL."""
    parts = value.rstrip("/").split("/")
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    if len(parts) >= 2 and parts[-2] and parts[-2][0].isupper():
        return parts[-2], parts[-1]
    return None, parts[-1]


def uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def id_q(field: str, values: list[str], *, uuid_ids: bool = True) -> Q:
    if not uuid_ids:
        return Q(**{f"{field}__in": values})
    ids = [u for u in (uuid_or_none(v) for v in values) if u is not None]
    return Q(**{f"{field}__in": ids}) if ids else NOTHING


# --- strings -----------------------------------------------------------------------------------------


def plain(expression: Any) -> Func:
    """Lower-case, accent-free text, as the person search compares it."""
    if isinstance(expression, str):
        expression = F(expression)
    return Func(Lower(expression), function="bienestar_unaccent", output_field=TextField())


def _plain_value(text: str) -> Func:
    return Func(Value(text.lower()), function="bienestar_unaccent", output_field=TextField())


def text_q(
    expression: Any, value: str, modifier: str, *, words: bool = True, is_plain: bool = False
) -> Q:
    """FHIR string search: by default the element (or, with `words`, any word of it) starts with
    the value, ignoring case and accents; `:contains` anywhere; `:exact` the whole element, as
    written. `is_plain`: the column is already lower-case and unaccented (and trigram indexed, like
    Person.name_search), so it is compared as it is and its index can serve the search."""
    raw = F(expression) if isinstance(expression, str) else expression
    if modifier == "exact":
        return Q(Exact(raw, Value(value)))
    target = raw if is_plain else plain(raw)
    # A literal pattern (the value unaccented here, as PostgreSQL's unaccent does for Latin
    # letters) lets the planner use a trigram index on a plain column.
    text: Any = Value(python_plain(value)) if is_plain else _plain_value(value)
    if modifier == "contains":
        return Q(Contains(target, text))
    if words:
        if is_plain:
            pattern: Any = Value(r"(^|[[:space:]-])" + re.escape(python_plain(value)))
        else:
            pattern = Concat(Value(r"(^|[[:space:]-])"), _plain_value(re.escape(value)))
        return Q(Regex(target, pattern))
    return Q(StartsWith(target, text))


def python_plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def word_exact_q(field: str, value: str) -> Q:
    """Any word of `field` is exactly `value` (case and accents count)."""
    return Q(Regex(F(field), Value(r"(^|[[:space:]])" + re.escape(value) + r"([[:space:]]|$)")))
