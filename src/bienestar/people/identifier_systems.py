"""The registry of identifier systems: which institution issues each, and how its values are checked.

Identifier systems are data, not an enum. The systems Bienestar knows are seeded (migration
0004) with their official URI where one exists (DGIS's OIDs, see fhir/systems.py) and their
validation rule; any other system a client sends — another institution's `urn:oid:…`, a foreign
hospital's record number — is accepted: the value is stored exactly as given (trimmed), unique
per system, and the system is added to the registry as *unverified* for an administrator to
name and, when its rule is known, verify.

`PersonIdentifier.system` holds a seeded system's short code (`curp`) or, for every other system,
the URI itself; `code_for_uri` and `uri_for_code` map between the two without touching the
database (FHIR mappers stay pure functions).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import connection
from django.utils.translation import gettext as _

from bienestar.core.errors import ValidationFailed
from bienestar.people import curp as curp_mod
from bienestar.people.models import (
    IdentifierSystem,
    IdentifierSystemEntry,
    SystemStatus,
    ValidationRule,
)

# Official URIs (DGIS CDA implementation guide); the rest live under Bienestar's own namespace.
CURP_URI = "urn:oid:2.16.840.1.113883.4.629"
BIENESTAR_SID = "urn:bienestar:sid:"
NATIONAL_HEALTH_ID_URI = BIENESTAR_SID + "national-health-id"


@dataclass(frozen=True)
class SeedSystem:
    code: str
    uri: str
    name: str
    issuer: str
    country: str
    rule: str


SEED: tuple[SeedSystem, ...] = (
    SeedSystem(
        IdentifierSystem.CURP,
        CURP_URI,
        "Clave Única de Registro de Población",
        "RENAPO",
        "MX",
        ValidationRule.CURP,
    ),
    SeedSystem(
        IdentifierSystem.IMSS_NSS,
        BIENESTAR_SID + "imss-nss",
        "Número de seguridad social",
        "IMSS",
        "MX",
        ValidationRule.IMSS_NSS,
    ),
    SeedSystem(
        IdentifierSystem.ISSSTE,
        BIENESTAR_SID + "issste",
        "Número de afiliación",
        "ISSSTE",
        "MX",
        ValidationRule.UPPER_TEXT,
    ),
    SeedSystem(
        IdentifierSystem.RECORD,
        BIENESTAR_SID + "record",
        "Número de expediente institucional",
        "",
        "",
        ValidationRule.UPPER_TEXT,
    ),
    *(
        SeedSystem(
            code, BIENESTAR_SID + code, name, "Registraduría / Migración Colombia", "CO", rule
        )
        for code, name, rule in (
            (IdentifierSystem.CO_CC, "Cédula de ciudadanía", ValidationRule.CO_DOCUMENT),
            (IdentifierSystem.CO_TI, "Tarjeta de identidad", ValidationRule.CO_DOCUMENT),
            (IdentifierSystem.CO_RC, "Registro civil de nacimiento", ValidationRule.CO_DOCUMENT),
            (IdentifierSystem.CO_CE, "Cédula de extranjería", ValidationRule.CO_DOCUMENT),
            (IdentifierSystem.CO_PA, "Pasaporte", ValidationRule.CO_DOCUMENT),
            (
                IdentifierSystem.CO_PPT,
                "Permiso por protección temporal",
                ValidationRule.CO_DOCUMENT,
            ),
        )
    ),
)
URI_BY_CODE: dict[str, str] = {s.code: s.uri for s in SEED}
CODE_BY_URI: dict[str, str] = {s.uri: s.code for s in SEED}
RULE_BY_CODE: dict[str, str] = {s.code: s.rule for s in SEED}

# An absolute URI: a URN (RFC 8141: `urn:` NID `:` NSS) or an http(s) URL; no spaces.
_URI_RE = re.compile(r"^(urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}:\S+|https?://\S+)$")
MAX_URI = 255
MAX_VALUE = 120


def code_for_uri(uri: str) -> str:
    """The code stored for a system URI: a seeded system's code, otherwise the URI itself."""
    return CODE_BY_URI.get(uri, uri)


def uri_for_code(code: str) -> str:
    return URI_BY_CODE.get(code, code)


def normalize(code: str, value: str) -> str:
    """The stored form of a value: seeded systems upper-case (as they always have); any other
    system keeps the value as given, trimmed (another institution's keys may be case-sensitive)."""
    value = (value or "").strip()
    return value.upper() if code in RULE_BY_CODE else value


def rule_problem(rule: str, value: str) -> str | None:
    """Why `value` (already normalised) breaks `rule`, in Spanish; None when it does not."""
    if rule == ValidationRule.CURP:
        problem = curp_mod.validate(value)
        return _(problem) if problem else None
    if rule == ValidationRule.IMSS_NSS and not (value.isdigit() and len(value) == 11):
        return _("El NSS del IMSS tiene 11 dígitos.")
    if rule == ValidationRule.CO_DOCUMENT and not value.replace("-", "").isalnum():
        return _("El documento colombiano solo admite letras y dígitos.")
    return None


def static_problem(code: str, value: str) -> str | None:
    """The check of a seeded system's value without the database (for FHIR mappers, to name the
    element); the registry's own rule is applied again by `resolve_and_validate`."""
    rule = RULE_BY_CODE.get(code)
    return rule_problem(rule, normalize(code, value)) if rule else None


def is_plausible(system: str) -> bool:
    """A seeded system's code, or a URI that could name a system (for lookups: no database)."""
    if system in RULE_BY_CODE:
        return True
    return bool(_URI_RE.match(system)) and len(system) <= MAX_URI


def _is_reserved(system: str) -> bool:
    return system.startswith(BIENESTAR_SID) and system not in CODE_BY_URI


def resolve_and_validate(
    system: str, value: str, *, via: str = "", register: bool = True
) -> tuple[str, str]:
    """(code, normalised value) for an identifier, or ValidationFailed.

    `system` is a registered code (`curp`) or a URI. A URI not in the registry is added as
    unverified (when `register`; inside the caller's transaction, concurrent-safe) and its value
    accepted as given; a registered system's rule is applied."""
    raw = (system or "").strip()
    if not raw:
        raise ValidationFailed(_("Indique el sistema del identificador."), field="identifiers")
    code = code_for_uri(raw)
    entry = IdentifierSystemEntry.objects.filter(code=code).only("code", "rule").first()
    if entry is None and code in RULE_BY_CODE:
        # A seeded system is known from the code even when its registry row is missing (a
        # database emptied by hand or a test's flush): never re-register it as unverified.
        rule: str = RULE_BY_CODE[code]
    elif entry is None:
        if not _URI_RE.match(raw) or len(raw) > MAX_URI or _is_reserved(raw):
            raise ValidationFailed(
                _(
                    "Sistema de identificador desconocido: %(s)s. Use el código de un sistema "
                    "registrado o un URI absoluto (urn:oid:…, https://…)."
                )
                % {"s": raw[:80]},
                field="identifiers",
            )
        if register:
            register_unverified(raw, via=via)
        rule = ValidationRule.AS_GIVEN.value
    else:
        rule = entry.rule
    normalised = normalize(code, value)
    if not normalised:
        raise ValidationFailed(_("El identificador está vacío."), field="identifiers")
    if len(normalised) > MAX_VALUE:
        raise ValidationFailed(
            _("El identificador tiene más de %(n)s caracteres.") % {"n": MAX_VALUE},
            field="identifiers",
        )
    problem = rule_problem(rule, normalised)
    if problem:
        raise ValidationFailed(problem, field="identifiers")
    return code, normalised


def register_unverified(uri: str, *, via: str = "") -> None:
    """Add a system to the registry as unverified; a no-op when a concurrent request did first."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO people_identifiersystementry "
            "(code, uri, name, issuer, country, rule, status, first_seen_at, first_seen_via) "
            "VALUES (%s, %s, '', '', '', %s, %s, now(), %s) ON CONFLICT DO NOTHING",
            [uri, uri, ValidationRule.AS_GIVEN, SystemStatus.UNVERIFIED, via[:10]],
        )


def systems_list() -> list[IdentifierSystemEntry]:
    """The whole registry (not personal data), seeded systems first."""
    return sorted(
        IdentifierSystemEntry.objects.all(), key=lambda e: (e.code not in URI_BY_CODE, e.code)
    )
