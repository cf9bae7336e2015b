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

On the contexts: a Bienestar token carries no SMART launch context (no "current patient"), so
`patient/` scopes cannot be narrowed to one patient; they grant the same resource types as `user/`
and the user's role and territory narrow the data exactly as on the pages. Binding a token to one
patient needs a launch context on ApiToken (not in this version).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.http import HttpRequest
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor, client_address
from bienestar.access.errors import Forbidden, NotAuthenticated
from bienestar.access.tokens import token_authenticate

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
    return Actor(
        user=row.user,
        client_address=client_address(request),
        channel=CHANNEL,
        scopes=frozenset(row.scopes.split()),
    )


def scope_allows(actor: Actor, resource_type: str, action: str) -> bool:
    """What the token's scopes allow (True for a token without scopes: its role decides)."""
    if not actor.scopes:
        return True
    return any(s.allows(resource_type, action) for s in parse_scopes(actor.scopes))


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
