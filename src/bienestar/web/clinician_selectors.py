"""Reads for the clinician pages (chart, encounter and prescribe forms), composed from several apps.

Catalogue and code-system reads (CIE-10, the medicine catalogue, stock counts) hold no personal data,
so they are permission-checked but not audited; reading a patient for a form is scoped and audited.
Kept apart from `web/selectors.py` so the clinician and pharmacy pages can change independently.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from django.db.models import Case, F, Func, IntegerField, Q, TextField, Value, When
from django.db.models.functions import Concat, Lower

from bienestar.access.actor import Actor
from bienestar.access.audit import audit_record
from bienestar.access.errors import NotAuthenticated
from bienestar.access.models import AuditAction
from bienestar.access.permissions import require
from bienestar.access.roles import Permission
from bienestar.clinical.scope import visible_person
from bienestar.core.errors import DomainError
from bienestar.facilities.models import Facility, FacilityType
from bienestar.inventory.models import Lot
from bienestar.inventory.selectors import medicines_available
from bienestar.people.models import Person
from bienestar.terminology.models import Icd10Code, Medicine

_KEY_DIGITS_RE = re.compile(r"^\d{12}$")
_ICD10_TOKEN_RE = re.compile(r"^[A-Za-z][0-9][0-9A-Za-z]?(\.?[0-9A-Za-z]{1,2})?$")
MEDICINE_SEARCH_MAX = 30


def patient_for_form(actor: Actor, *, public_id: Any, permission: Permission) -> Person:
    """The person a clinical form is about (the page shows their name and ID). Requires
    `permission`; outside the territory → the 404 of a missing record. One audit row (read)."""
    person = visible_person(actor, public_id, permission=permission)
    audit_record(
        actor,
        action=AuditAction.READ,
        resource_type="Person",
        resource_id=str(person.public_id),
        person_id=person.pk,
        query={"view": f"form:{permission.value}"},
    )
    return person


def looks_like_icd10(token: str) -> bool:
    return bool(_ICD10_TOKEN_RE.match(token.strip()))


def icd10_lookup(codes: Iterable[str]) -> dict[str, Icd10Code]:
    """CIE-10 rows for codes written with or without the dot, in any case, keyed by the code as
    given (stripped and upper-cased). Unknown codes are absent. One query."""
    wanted = {c.strip().upper() for c in codes if c and c.strip()}
    if not wanted:
        return {}
    nodot = {c.replace(".", "") for c in wanted}
    rows = list(Icd10Code.objects.filter(Q(code__in=wanted) | Q(code_nodot__in=nodot)))
    by_code = {r.code: r for r in rows}
    by_nodot = {r.code_nodot: r for r in rows}
    out: dict[str, Icd10Code] = {}
    for code in wanted:
        found = by_code.get(code) or by_nodot.get(code.replace(".", ""))
        if found is not None:
            out[code] = found
    return out


def _require_prescriber(actor: Actor) -> None:
    if not actor.is_authenticated:
        raise NotAuthenticated()
    require(actor, Permission.PRESCRIBE)


def medicine_key_normalize(text: str) -> str:
    """A catalogue key as typed ("010.000.5165.00", "010000516500", " 010.000.5165.00 ") in the
    catalogue's dotted form; anything else is returned stripped."""
    raw = (text or "").strip()
    digits = raw.replace(".", "").replace(" ", "").replace("-", "")
    if _KEY_DIGITS_RE.match(digits):
        return f"{digits[:3]}.{digits[3:6]}.{digits[6:10]}.{digits[10:]}"
    return raw


def medicine_lookup(actor: Actor, *, key: str) -> Medicine | None:
    """The catalogue row of a key typed with or without its dots, or None."""
    _require_prescriber(actor)
    normalized = medicine_key_normalize(key)
    if not normalized:
        return None
    return Medicine.objects.filter(key=normalized).first()


def medicines_by_key(actor: Actor, *, keys: Iterable[str]) -> dict[str, Medicine]:
    _require_prescriber(actor)
    return Medicine.objects.in_bulk([k for k in dict.fromkeys(keys) if k])


def medicine_search(actor: Actor, *, text: str, limit: int = 15) -> list[Medicine]:
    """Catalogue keys by key prefix ("010.000.51", "5165") or by words of the generic name, form or
    strength, accent- and case-insensitive ("metf", "acido acetil"); every word must appear.
    Names starting with the first word come first."""
    _require_prescriber(actor)
    limit = max(1, min(limit, MEDICINE_SEARCH_MAX))
    raw = " ".join((text or "").split())
    if len(raw) < 2:
        return []
    digits = raw.replace(".", "")
    if digits.isdigit():
        return list(
            Medicine.objects.annotate(
                key_digits=Func(F("key"), Value("."), Value(""), function="replace")
            )
            .filter(Q(key__startswith=raw) | Q(key_digits__contains=digits))
            .order_by("key")[:limit]
        )
    words = [w for w in _plain(raw).split() if w]
    haystack = Func(
        Concat(
            Lower("generic_name"),
            Value(" "),
            Lower("form"),
            Value(" "),
            Lower("strength"),
            output_field=TextField(),
        ),
        function="bienestar_unaccent",
        output_field=TextField(),
    )
    name_plain = Func(
        Lower("generic_name"), function="bienestar_unaccent", output_field=TextField()
    )
    qs = Medicine.objects.annotate(haystack=haystack, name_plain=name_plain)
    for word in words:
        qs = qs.filter(haystack__contains=word)
    qs = qs.annotate(
        starts=Case(
            When(name_plain__startswith=words[0], then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        )
    )
    return list(qs.order_by("starts", "generic_name", "key")[:limit])


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def usual_pharmacy(actor: Actor) -> Facility | None:
    """Where the actor's patients usually collect their medicines: the actor's own facility when it
    holds stock (a health centre with its pharmacy), else a pharmacy in operation whose parent is
    that facility, else the facility itself. None for an actor attached to no facility."""
    own = actor.user.facility if actor.user is not None and actor.user.facility_id else None
    if own is None:
        return None
    if own.facility_type == FacilityType.PHARMACY or Lot.objects.filter(facility=own).exists():
        return own
    child = (
        Facility.objects.select_related("territory")
        .filter(parent=own, facility_type=FacilityType.PHARMACY, in_operation=True)
        .order_by("name", "id")
        .first()
    )
    return child or own


def stock_at(
    actor: Actor, *, facility: Facility | None, keys: Iterable[str]
) -> dict[str, int] | None:
    """Usable units of each key at `facility` (inventory's own scoping), or None when the actor may
    not read that stock or there is no facility: the page then says "unknown", never "out of stock"."""
    wanted = [k for k in dict.fromkeys(keys) if k]
    if facility is None:
        return None
    if not wanted:
        return {}
    try:
        return medicines_available(actor, facility=facility, medicine_keys=wanted)
    except DomainError:
        return None
