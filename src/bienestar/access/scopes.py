"""What an API token lets its caller do: the one authorization decision for tokens, used by every
door that accepts them (FHIR at /fhir/, the JSON API at /api/). See docs/adr/0004 (addenda).

Two layers, both required:
1. the user's role and territory, enforced by the domain selectors and services as for the pages;
2. the SMART on FHIR scopes stored on the token (`ApiToken.scopes`, space separated), which can
   only narrow what the role allows. A token with no scopes carries the role's permissions.

Scopes understood (SMART v1 and v2 syntax): `<context>/<Type|*>.<read|write|*>` and
`<context>/<Type|*>.<cruds letters>`; context is `patient`, `user` or `system`. read covers read,
vread, search, history and $everything; write covers create, update and every other change.
Other scopes (`openid`, `launch`, `offline_access`…) grant nothing. `patient/` scopes grant only on
a token bound to a patient (`Actor.patient_id`): without a launch patient there is no "current
patient". Type names are FHIR resource types; the JSON API names what it touches with the same
types (and a few API-only kinds such as `Inventory`), declared on every operation with
`reads(...)` / `writes(...)` below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bienestar.access.actor import Actor
from bienestar.access.errors import Forbidden, NotAuthenticated

READ = "read"
WRITE = "write"

_SCOPE_RE = re.compile(
    r"^(?P<context>patient|user|system)/(?P<type>\*|[A-Z][A-Za-z]+)\.(?P<access>\*|read|write|[cruds]+)$"
)


class ScopeDenied(Forbidden):
    """403: the token's scopes (or its patient binding) do not allow this; the role might."""

    code = "token_scope"


@dataclass(frozen=True)
class Scope:
    context: str
    resource_type: str
    read: bool
    write: bool

    def allows(self, resource_type: str, action: str) -> bool:
        if self.resource_type not in ("*", resource_type):
            return False
        return self.read if action == READ else self.write


def parse_scope(text: str) -> Scope | None:
    match = _SCOPE_RE.match(text.strip())
    if match is None:
        return None
    access = match["access"]
    if access == "*":
        read = write = True
    elif access in (READ, WRITE):
        read, write = access == READ, access == WRITE
    else:  # SMART v2: c(reate) r(ead) u(pdate) d(elete) s(earch)
        read = "r" in access or "s" in access
        write = "c" in access or "u" in access
    return Scope(match["context"], match["type"], read, write)


def parse_scopes(raw: frozenset[str] | set[str] | list[str]) -> list[Scope]:
    return [s for s in (parse_scope(t) for t in raw) if s is not None]


def token_actor(
    row: Any, *, client_address: str | None, channel: str, patient_id: int | None = None
) -> Actor:
    """The Actor of a live token (`access.tokens.token_authenticate`): its user, its scopes and,
    for a patient-bound token, the patient's internal id (resolved by the caller)."""
    return Actor(
        user=row.user,
        client_address=client_address,
        channel=channel,
        scopes=frozenset(row.scopes.split()),
        patient_id=patient_id,
    )


def scope_allows(actor: Actor, resource_type: str, action: str) -> bool:
    """What the token's scopes allow (True for a token without scopes: its role decides)."""
    if not actor.scopes:
        return True
    return any(
        s.allows(resource_type, action)
        for s in parse_scopes(actor.scopes)
        if s.context != "patient" or actor.patient_id is not None
    )


def require_scope(actor: Actor, resource_type: str, action: str) -> None:
    if not actor.is_authenticated:
        raise NotAuthenticated()
    if not scope_allows(actor, resource_type, action):
        raise ScopeDenied(
            _("Los alcances del token no permiten %(action)s recursos %(type)s.")
            % {
                "action": _("leer") if action == READ else _("escribir"),
                "type": resource_type,
            }
        )


# --- Declarations of what each JSON API operation touches ------------------------------------

OPENAPI_KEY = "x-bienestar-access"

PATIENT_BOUND_REFUSED = gettext_lazy(
    "Este token está ligado a un paciente y solo sirve en la API FHIR (/fhir/), que lo limita a los "
    "registros de ese paciente; la API JSON (/api/) no lo acepta."
)


@dataclass(frozen=True)
class Access:
    """What one operation touches: resource types (FHIR names, or API-only kinds) and whether it
    reads or writes them. A token must be allowed every type listed."""

    resources: tuple[str, ...]
    action: str

    @classmethod
    def from_openapi(cls, extra: dict[str, Any] | None) -> Access | None:
        data = (extra or {}).get(OPENAPI_KEY)
        if not data:
            return None
        return cls(tuple(data["resources"]), data["action"])


def _declare(action: str, resources: tuple[str, ...]) -> dict[str, Any]:
    if not resources or not all(parse_scope(f"user/{r}.read") for r in resources):
        raise ValueError(f"declare one or more resource type names, not {resources!r}")
    return {OPENAPI_KEY: {"resources": list(resources), "action": action}}


def reads(*resources: str) -> dict[str, Any]:
    """`openapi_extra=reads("Patient")` on a JSON API operation that only reads."""
    return _declare(READ, resources)


def writes(*resources: str) -> dict[str, Any]:
    """`openapi_extra=writes("AllergyIntolerance")` on a JSON API operation that changes data."""
    return _declare(WRITE, resources)


def require_token_access(actor: Actor, access: Access | None, *, patient_bound: bool) -> None:
    """The JSON API's check of a token against the operation's declaration (scopes as on FHIR).

    A patient-bound token is refused: the JSON API has no patient compartment to confine it to.
    An operation without a declaration refuses every scoped token (fail closed)."""
    if patient_bound:
        raise ScopeDenied(PATIENT_BOUND_REFUSED)
    if not actor.scopes:
        return
    if access is None:
        raise ScopeDenied(
            _("Esta operación no declara qué recursos toca; un token con alcances no puede usarla.")
        )
    for resource in access.resources:
        require_scope(actor, resource, access.action)
