"""Who is calling the FHIR API, and what the token lets them do.

Authentication is a bearer token (`Authorization: Bearer <token>`, created with `bienestar token
create`), checked with access.tokens.token_authenticate. The page session is not accepted: FHIR
clients are machines, and refusing cookies keeps the write endpoints free of CSRF.

Authorisation has two layers, both required:
1. the user's role and territory, enforced by the domain selectors and services exactly as for the
   web pages (a patient outside the territory is a 404, a role without the permission a 403);
2. the SMART on FHIR scopes stored on the token (`ApiToken.scopes`, space separated), which can only
   narrow what the role allows. A token with no scopes carries the role's permissions unchanged.

Scopes understood (SMART v1 and v2 syntax): `<context>/<Type|*>.<read|write|*>` and
`<context>/<Type|*>.<cruds letters>`; context is `patient`, `user` or `system`. read covers read,
vread, search, history and $everything; write covers create and update. Other scopes (`openid`,
`launch`, `offline_access`…) grant nothing here.

On the contexts: a token may be bound to one patient (`bienestar token create USER --patient ID`,
the SMART launch context, stored as `ApiToken.patient_public_id`). A bound token is confined to that
patient's compartment whatever its scopes: searches, reads, $everything, bulk export and includes
see only the patient's own records (and the shared registries: organisations, practitioners,
medicines), anything else is 404, and a write whose record would belong to another person is refused
(403) with nothing written. `patient/` scopes grant only on a bound token: without a launch patient
there is no "current patient", so they grant nothing (ask for `user/` scopes instead). `user/` and
`system/` scopes mean the user's own role and territory, as on the pages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor, client_address
from bienestar.access.errors import Forbidden, NotAuthenticated
from bienestar.access.tokens import token_authenticate

if TYPE_CHECKING:
    from bienestar.fhir.registry import ResourceDef

CHANNEL = "fhir"
READ = "read"
WRITE = "write"

_SCOPE_RE = re.compile(
    r"^(?P<context>patient|user|system)/(?P<type>\*|[A-Z][A-Za-z]+)\.(?P<access>\*|read|write|[cruds]+)$"
)


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


def bearer_token(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def authenticate(request: HttpRequest) -> Actor:
    """The actor behind the request's bearer token; NotAuthenticated (401) without a live one."""
    token = bearer_token(request)
    row = token_authenticate(token) if token else None
    if row is None:
        raise NotAuthenticated()
    patient_id = None
    if row.patient_public_id is not None:
        from bienestar.people.models import Person

        patient_id = (
            Person.objects.filter(public_id=row.patient_public_id)
            .values_list("pk", flat=True)
            .first()
        )
        if patient_id is None:  # the patient is gone: the token no longer grants anything
            raise NotAuthenticated()
    return Actor(
        user=row.user,
        client_address=client_address(request),
        channel=CHANNEL,
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


def confine_to_patient(actor: Actor, definition: ResourceDef, row: Any) -> None:
    """A patient-bound token writes only its patient's records: Forbidden otherwise."""
    if actor.patient_id is None or not definition.audit_type:
        return
    if definition.person_id(row) != actor.patient_id:
        raise Forbidden(_("Este token solo da acceso a los registros de su paciente."))


def require_scope(actor: Actor, resource_type: str, action: str) -> None:
    if not actor.is_authenticated:
        raise NotAuthenticated()
    if not scope_allows(actor, resource_type, action):
        raise Forbidden(
            _("Los alcances del token no permiten %(action)s recursos %(type)s.")
            % {
                "action": _("leer") if action == READ else _("escribir"),
                "type": resource_type,
            }
        )
