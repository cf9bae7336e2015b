"""GET /fhir/Slot and /fhir/Slot/<id>: slots computed from the agendas in the caller's territory.

A Slot is not a row (scheduling.slots computes them in each unit's time zone), so it has its own
small search: `schedule` (repeatable), `status` (free | busy), `start` with ge/gt/le/lt/eq (default:
from now to seven days ahead; at most 92 days), `_count` (default 50, at most 500). Unknown
parameters are refused (400), never ignored. Past slots are never listed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from bienestar.access.permissions import require
from bienestar.access.roles import Permission
from bienestar.access.scopes import READ, require_scope
from bienestar.fhir.errors import FhirError, not_found
from bienestar.fhir.http import FhirResponse, base_url
from bienestar.fhir.mappers.scheduling import slot_to_fhir
from bienestar.fhir.params import parse_moment, split_prefix, uuid_or_none
from bienestar.fhir.views import _actor, _answer, _method_not_allowed, _params
from bienestar.scheduling import selectors
from bienestar.scheduling.models import Schedule
from bienestar.scheduling.scope import facilities_in_scope
from bienestar.scheduling.slots import parse_slot_id
from bienestar.scheduling.timezones import facility_zone

DEFAULT_DAYS = 7
MAX_DAYS = 92
KNOWN = {"schedule", "status", "start", "_count"}


def _bad(name: str, message: Any) -> FhirError:
    return FhirError(400, message, code="value", expression=[name])


def _window(values: list[str]) -> tuple[dt.datetime, dt.datetime]:
    now = timezone.now()
    lo, hi = now, None
    for value in values:
        prefix, text = split_prefix(value)
        moment = parse_moment("start", text)
        if prefix in ("ge", "gt"):
            lo = max(lo, moment.start if prefix == "ge" else moment.end)
        elif prefix in ("le", "lt"):
            edge = moment.end if prefix == "le" else moment.start
            hi = edge if hi is None else min(hi, edge)
        elif prefix == "eq":
            lo, hi = max(lo, moment.start), moment.end if hi is None else min(hi, moment.end)
        else:
            raise _bad("start", _("Prefijo no admitido en start: %(p)s.") % {"p": prefix})
    hi = hi or lo + dt.timedelta(days=DEFAULT_DAYS)
    if hi - lo > dt.timedelta(days=MAX_DAYS):
        raise _bad(
            "start", _("El intervalo de búsqueda no puede pasar de %(n)s días.") % {"n": MAX_DAYS}
        )
    return lo, hi


def _search(request: HttpRequest) -> FhirResponse:
    actor = _actor(request)
    require_scope(actor, "Slot", READ)
    require(actor, Permission.SCHEDULE_READ)
    params = _params(request)
    given: dict[str, list[str]] = defaultdict(list)
    for name, value in params:
        if name not in KNOWN:
            raise _bad(name, _("Parámetro de búsqueda no admitido en Slot: %(n)s.") % {"n": name})
        given[name].append(value)
    status = given.get("status", [""])[-1]
    if status not in ("", "free", "busy"):
        raise _bad("status", _("status es free o busy."))
    try:
        count = int(given.get("_count", ["50"])[-1])
    except ValueError:
        raise _bad("_count", _("_count es un número.")) from None
    count = min(max(count, 0), 500)
    lo, hi = _window(given.get("start", []))
    schedules = Schedule.objects.filter(
        active=True, facility__in=facilities_in_scope(actor, Permission.SCHEDULE_READ)
    ).select_related("service", "facility__territory")
    if "schedule" in given:
        keys = [uuid_or_none(v.split("/")[-1]) for v in given["schedule"]]
        valid = [k for k in keys if k is not None]
        if len(valid) != len(keys):
            raise _bad("schedule", _("schedule es Schedule/<id>."))
        schedules = schedules.filter(public_id__in=valid)
    by_unit: dict[int, list[Schedule]] = defaultdict(list)
    for s in schedules.prefetch_related("rules"):
        by_unit[s.facility_id].append(s)
    found = []
    for unit_schedules in by_unit.values():
        zone = facility_zone(unit_schedules[0].facility)
        first, last = lo.astimezone(zone).date(), hi.astimezone(zone).date()
        for slot in selectors.compute_slots(unit_schedules, first, last):
            if not lo <= slot.start < hi or slot.start < timezone.now():
                continue
            if (status == "free" and slot.free == 0) or (status == "busy" and slot.free > 0):
                continue
            found.append(slot)
    found.sort(key=lambda s: (s.start, str(s.schedule)))
    base = base_url(request)
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(found),
        "link": [{"relation": "self", "url": request.build_absolute_uri()}],
        "entry": [
            {
                "fullUrl": f"{base}/Slot/{s.slot_id}",
                "resource": slot_to_fhir(s),
                "search": {"mode": "match"},
            }
            for s in found[:count]
        ],
    }
    return FhirResponse(200, bundle)


def _read(request: HttpRequest, resource_id: str) -> FhirResponse:
    actor = _actor(request)
    require_scope(actor, "Slot", READ)
    require(actor, Permission.SCHEDULE_READ)
    parsed = parse_slot_id(resource_id)
    schedule = None
    if parsed is not None:
        schedule = (
            Schedule.objects.filter(
                public_id=parsed[0],
                facility__in=facilities_in_scope(actor, Permission.SCHEDULE_READ),
            )
            .select_related("service", "facility__territory")
            .first()
        )
    slot = selectors.slot_of(schedule, parsed[1]) if schedule is not None and parsed else None
    if slot is None:
        raise not_found("Slot", resource_id)
    return FhirResponse(200, slot_to_fhir(slot), {"ETag": 'W/"1"'})


@csrf_exempt
def slot_type(request: HttpRequest) -> HttpResponse:
    def run() -> FhirResponse:
        if request.method != "GET":
            return _method_not_allowed(request.method or "")
        return _search(request)

    return _answer(request, run)


@csrf_exempt
def slot_instance(request: HttpRequest, resource_id: str) -> HttpResponse:
    def run() -> FhirResponse:
        if request.method != "GET":
            return _method_not_allowed(request.method or "")
        return _read(request, resource_id)

    return _answer(request, run)
