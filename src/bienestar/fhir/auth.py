"""Who is calling the FHIR API, and what the token lets them do.

Authentication is a bearer token (`Authorization: Bearer <token>`, created with `bienestar token
create`), checked with access.tokens.token_authenticate. The page session is not accepted: FHIR
clients are machines, and refusing cookies keeps the write endpoints free of CSRF.

Authorisation has two layers, both required:
1. the user's role and territory, enforced by the domain selectors and services exactly as for the
   web pages (a patient outside the territory is a 404, a role without the permission a 403);
2. the SMART on FHIR scopes stored on the token (`ApiToken.scopes`, space separated), which can only
   narrow what the role allows. A token with no scopes carries the role's permissions unchanged.

The scope rules live in access.scopes (the one decision every door applies; the JSON API checks
the same scopes). Scopes understood (SMART v1 and v2 syntax): `<context>/<Type|*>.<read|write|*>` and
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

from typing import TYPE_CHECKING, Any

from django.http import HttpRequest
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor, client_address
from bienestar.access.errors import Forbidden, NotAuthenticated
from bienestar.access.scopes import (
    READ,
    WRITE,
    require_scope,
    scope_allows,
    token_actor,
)
from bienestar.access.tokens import token_authenticate

if TYPE_CHECKING:
    from bienestar.fhir.registry import ResourceDef

__all__ = [
    "CHANNEL",
    "READ",
    "WRITE",
    "authenticate",
    "bearer_token",
    "confine_to_patient",
    "require_scope",
    "scope_allows",
]

CHANNEL = "fhir"


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
    return token_actor(
        row, client_address=client_address(request), channel=CHANNEL, patient_id=patient_id
    )


def confine_to_patient(actor: Actor, definition: ResourceDef, row: Any) -> None:
    """A patient-bound token writes only its patient's records: Forbidden otherwise."""
    if actor.patient_id is None or not definition.audit_type:
        return
    if definition.person_id(row) != actor.patient_id:
        raise Forbidden(_("Este token solo da acceso a los registros de su paciente."))
