"""Groups for `Group/<id>/$export`: sets of patients named by their id, not stored resources.

| Group id                | members                                                            |
|-------------------------|--------------------------------------------------------------------|
| `territory-<path>`      | persons living in that territory or inside it (`territory-MX.20`,  |
|                         | `territory-MX.20.067`, `territory-CO.11001`)                       |
| `facility-<public id>`  | persons attended at that facility (at least one encounter there)   |

Either way the members are further narrowed to the persons the caller may see (role and
territory), exactly as a search would; a group outside the caller's territory is simply empty for
them, and an unknown group is a 404.
"""

from __future__ import annotations

import re

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.clinical.models import Encounter
from bienestar.facilities.selectors import facilities_list
from bienestar.fhir.errors import FhirError
from bienestar.fhir.params import uuid_or_none
from bienestar.people.models import Person
from bienestar.territories.models import Territory
from bienestar.territories.selectors import within

_GROUP_RE = re.compile(r"^(?P<kind>territory|facility)-(?P<key>[A-Za-z0-9.\-]{1,60})$")


def _unknown(group_id: str) -> FhirError:
    return FhirError(404, _("No existe el grupo %(id)s.") % {"id": group_id}, code="not-found")


def members(actor: Actor, group_id: str) -> QuerySet[Person]:
    """The persons of a group (unscoped: the export narrows every query to the caller's scope).
    FhirError 404 when the group does not exist."""
    match = _GROUP_RE.match(group_id)
    if match is None:
        raise _unknown(group_id)
    key = match["key"]
    if match["kind"] == "territory":
        if not Territory.objects.filter(path=key).exists():
            raise _unknown(group_id)
        return Person.objects.filter(within(key, "territory__path"))
    public_id = uuid_or_none(key)
    facility = facilities_list(actor).filter(public_id=public_id).first() if public_id else None
    if facility is None:
        raise _unknown(group_id)
    attended = Encounter.objects.filter(facility=facility).values("person_id")
    return Person.objects.filter(Q(pk__in=attended))
