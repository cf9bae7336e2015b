"""Building blocks shared by the mappers. Pure: nothing here touches the database."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from bienestar.fhir import systems
from bienestar.fhir.errors import MappingError

# Words that belong to the surname that follows them ("de la Cruz", "del Valle", "San Juan").
_PARTICLES = frozenset({"de", "del", "la", "las", "los", "y", "san", "santa", "van", "von", "da"})
_ID_RE = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


# --- time --------------------------------------------------------------------------------------------


def instant(value: dt.datetime) -> str:
    """A FHIR instant in UTC with milliseconds (meta.lastUpdated)."""
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def date_time(value: dt.datetime) -> str:
    """A FHIR dateTime in the deployment's time zone, to the second, with its offset."""
    return timezone.localtime(value).isoformat(timespec="seconds")


def date(value: dt.date) -> str:
    return value.isoformat()


def parse_date_time(value: Any, path: str) -> dt.datetime:
    """A FHIR dateTime as an aware datetime. A bare date is the start of that day in the
    deployment's time zone; a time without a zone is refused (FHIR requires one)."""
    if not isinstance(value, str) or not value:
        raise MappingError(_("Fecha y hora inválida."), path)
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            return timezone.make_aware(dt.datetime.combine(day, dt.time.min))
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise MappingError(_("Fecha y hora inválida: %(v)s.") % {"v": value}, path) from None
    if timezone.is_naive(parsed):
        raise MappingError(_("Indique la zona horaria de la fecha y hora."), path)
    return parsed


def parse_date(value: Any, path: str) -> dt.date:
    if not isinstance(value, str):
        raise MappingError(_("Fecha inválida."), path)
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        raise MappingError(_("Fecha inválida: %(v)s.") % {"v": value}, path) from None


# --- versions ----------------------------------------------------------------------------------------


def meta(version_id: str, last_updated: dt.datetime | None) -> dict[str, Any]:
    out: dict[str, Any] = {"versionId": version_id}
    if last_updated is not None:
        out["lastUpdated"] = instant(last_updated)
    return out


def derived_version(*moments: dt.datetime | None) -> str:
    """The version of a read-only resource that has no version counter: the microsecond of its
    latest change (monotonic for a row written with auto_now). See ADR 0006."""
    latest = max((m for m in moments if m is not None), default=None)
    if latest is None:
        return "1"
    return str(int(latest.timestamp() * 1_000_000))


# --- datatypes ---------------------------------------------------------------------------------------


def coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def concept(*codings: dict[str, Any], text: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if codings:
        out["coding"] = list(codings)
    if text:
        out["text"] = text
    return out


def reference(resource_type: str, resource_id: Any, display: str | None = None) -> dict[str, Any]:
    out = {"reference": f"{resource_type}/{resource_id}"}
    if display:
        out["display"] = display
    return out


def number(value: Decimal | int) -> int | float:
    """A Decimal as a JSON number without binary noise (values here have at most a few decimals,
    whose shortest float repr is exact); the dicts the mappers build hold only JSON types."""
    if isinstance(value, int):
        return value
    if value == value.to_integral_value():
        return int(value)
    return float(str(value))


def quantity(
    value: Decimal | int, unit_code: str, unit_display: str | None = None
) -> dict[str, Any]:
    return {
        "value": number(value),
        "unit": unit_display or unit_code,
        "system": systems.UCUM,
        "code": unit_code,
    }


def human_name(given_names: str, first_surname: str, second_surname: str) -> dict[str, Any]:
    """A Spanish name: `family` holds both surnames as written, with the HL7 fathers-family and
    mothers-family extensions telling them apart."""
    family = " ".join(p for p in (first_surname, second_surname) if p)
    name: dict[str, Any] = {"use": "official", "family": family}
    parts = [{"url": systems.FATHERS_FAMILY, "valueString": first_surname}]
    if second_surname:
        parts.append({"url": systems.MOTHERS_FAMILY, "valueString": second_surname})
    name["_family"] = {"extension": parts}
    given = given_names.split()
    if given:
        name["given"] = given
    name["text"] = " ".join(p for p in (given_names, family) if p)
    return name


def split_family(family: str) -> tuple[str, str]:
    """First and second surname from a family name without extensions: particles stay with the
    word that follows ("de la Cruz Pérez" → "de la Cruz", "Pérez")."""
    words = family.split()
    groups: list[str] = []
    pending: list[str] = []
    for word in words:
        pending.append(word)
        if word.lower() not in _PARTICLES:
            groups.append(" ".join(pending))
            pending = []
    if pending:
        if groups:
            groups[-1] += " " + " ".join(pending)
        else:
            groups.append(" ".join(pending))
    if not groups:
        return "", ""
    return groups[0], " ".join(groups[1:])


def parse_human_name(names: Any, path: str) -> tuple[str, str, str]:
    """(given names, first surname, second surname) from the official (else first) HumanName."""
    if not isinstance(names, list) or not names:
        raise MappingError(_("Indique el nombre."), path)
    index, chosen = next(
        ((i, n) for i, n in enumerate(names) if n.get("use") == "official"), (0, names[0])
    )
    here = f"{path}[{index}]"
    given = " ".join(chosen.get("given") or []).strip()
    family = (chosen.get("family") or "").strip()
    first = second = ""
    for ext in (chosen.get("_family") or {}).get("extension") or []:
        if ext.get("url") == systems.FATHERS_FAMILY:
            first = (ext.get("valueString") or "").strip()
        elif ext.get("url") == systems.MOTHERS_FAMILY:
            second = (ext.get("valueString") or "").strip()
    if not first:
        first, second = split_family(family)
    if not given:
        raise MappingError(_("Indique el nombre de pila."), f"{here}.given")
    if not first:
        raise MappingError(_("Indique el primer apellido."), f"{here}.family")
    return given, first, second


# --- references --------------------------------------------------------------------------------------


def reference_id(value: Any, expected: str | Sequence[str], path: str) -> str:
    """The id a Reference points at ("Patient/<id>", an absolute URL ending so, or with a
    _history suffix). Refused: another type, a contained or logical reference."""
    types = (expected,) if isinstance(expected, str) else tuple(expected)
    ref = value.get("reference") if isinstance(value, dict) else None
    if not isinstance(ref, str) or not ref:
        raise MappingError(_("Falta la referencia."), f"{path}.reference")
    parts = ref.split("?")[0].rstrip("/").split("/")
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    if len(parts) < 2 or parts[-2] not in types or not _ID_RE.match(parts[-1]):
        raise MappingError(
            _("La referencia debe ser %(types)s/<id>.") % {"types": " o ".join(types)},
            f"{path}.reference",
        )
    return parts[-1]


def codes_of(value: Any, system: str) -> list[str]:
    """The codes of a CodeableConcept in `system`."""
    if not isinstance(value, dict):
        return []
    return [
        c["code"]
        for c in value.get("coding") or []
        if isinstance(c, dict) and c.get("system") == system and c.get("code")
    ]


def first_code(value: Any, system: str, path: str, *, required: bool = True) -> str | None:
    found = codes_of(value, system)
    if not found:
        if required:
            raise MappingError(
                _("Falta un código del sistema %(system)s.") % {"system": system}, path
            )
        return None
    return found[0]


def decimal_of(value: Any, path: str) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise MappingError(_("Número inválido."), path) from None


def only_keys(data: dict[str, Any], allowed: Iterable[str]) -> dict[str, Any]:
    keep = set(allowed)
    return {k: v for k, v in data.items() if k in keep}
