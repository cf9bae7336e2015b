"""DHIS2 exchange of the aggregates: dataValueSets JSON and ADX XML, code id scheme.

Each indicator gives two data elements, its numerator and its denominator (`BNS_<CODE>_NUM`,
`BNS_<CODE>_DEN`: DHIS2 computes the indicator from them, so sums over org units stay right).
Org units are identified by code: the territory path (MX, MX.13, MX.13.048) or, for a unit, its
CLUES. Periods use DHIS2's formats (202611, 2026Q3, 2026); ADX uses ISO 8601 start/duration
(2026-11-01/P1M). Only the totals (no disaggregation) are exported; a missing value is left out
(never sent as 0). `mapping()` is the metadata mapping (data elements and their meaning).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any
from xml.etree import ElementTree as ET

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.core.errors import ValidationFailed
from bienestar.facilities.models import Facility
from bienestar.indicators import selectors as sel
from bienestar.indicators.definitions import DEFINITIONS
from bienestar.indicators.models import Aggregate, Level

DATASET = "BIENESTAR_INDICADORES"
ADX_NS = "urn:ihe:qrph:adx:2015"
_MONTH = re.compile(r"^(\d{4})(0[1-9]|1[0-2])$")
_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")


def element(code: str, part: str) -> str:
    return f"BNS_{code.upper()}_{part}"


def mapping() -> list[dict[str, str]]:
    out = []
    for d in DEFINITIONS.values():
        out.append(
            {
                "code": element(d.code, "NUM"),
                "name": f"{d.name} — numerador",
                "description": str(d.numerator),
                "version": str(d.version),
            }
        )
        out.append(
            {
                "code": element(d.code, "DEN"),
                "name": f"{d.name} — denominador",
                "description": str(d.denominator),
                "version": str(d.version),
            }
        )
    return out


def parse_period(text: str) -> tuple[str, str, str]:
    """DHIS2 period → (period_type, our period key, ADX period)."""
    text = text.strip()
    if m := _MONTH.match(text):
        year, month = int(m[1]), int(m[2])
        return "M", f"{year}-{month:02d}", f"{year}-{month:02d}-01/P1M"
    if m := _QUARTER.match(text):
        year, quarter = int(m[1]), int(m[2])
        return "Q", f"{year}Q{quarter}", f"{year}-{(quarter - 1) * 3 + 1:02d}-01/P3M"
    if m := _YEAR.match(text):
        return "Y", m[1], f"{m[1]}-01-01/P1Y"
    raise ValidationFailed(_("Periodo no válido: use 202611, 2026Q3 o 2026."), field="period")


def _area(actor: Actor | None, territory: str) -> sel.Area:
    if actor is not None:
        return sel.territory_area(actor, territory)
    # The command line (an operator on the server): any territory, but one that exists.
    from bienestar.territories.models import Territory

    found = Territory.objects.filter(path=territory).first()
    if found is None or found.path.count(".") > 2:
        raise ValidationFailed(
            _("No existe el territorio %(t)s.") % {"t": territory}, field="territory"
        )
    return sel.Area(Level.NATION, found.path, found.name, found.path)


def data_values(actor: Actor | None, *, period: str, territory: str) -> list[dict[str, str]]:
    """The totals of every indicator for `period` in the territory and everything inside it that
    the actor may see (the territory check is the selectors'; None: the command line)."""
    area = _area(actor, territory)
    period_type, key, _adx = parse_period(period)
    inside = Q(area=area.key) | Q(area__startswith=area.key + ".")
    facilities = {
        str(f.id): f.clues or str(f.public_id)
        for f in Facility.objects.filter(
            Q(territory__path=area.key) | Q(territory__path__startswith=area.key + ".")
        )
    }
    rows = Aggregate.objects.filter(
        period_type=period_type, period=key, dimension="", indicator__in=list(DEFINITIONS)
    ).filter((~Q(level=Level.UNIT) & inside) | Q(level=Level.UNIT, area__in=list(facilities)))
    out = []
    for r in rows.order_by("indicator", "level", "area"):
        org_unit = facilities[r.area] if r.level == Level.UNIT else r.area
        for part, value in (("NUM", r.numerator), ("DEN", r.denominator)):
            if value is not None:
                out.append(
                    {
                        "dataElement": element(r.indicator, part),
                        "period": period,
                        "orgUnit": org_unit,
                        "value": str(value),
                    }
                )
    return out


def to_json(values: list[dict[str, str]]) -> str:
    return (
        json.dumps({"dataSet": DATASET, "dataValues": values}, ensure_ascii=False, indent=1) + "\n"
    )


def to_adx(values: list[dict[str, str]], period: str) -> str:
    _type, _key, adx_period = parse_period(period)
    root = ET.Element(
        "adx", {"xmlns": ADX_NS, "exported": timezone.now().isoformat(timespec="seconds")}
    )
    groups: dict[str, ET.Element] = {}
    for v in values:
        group = groups.get(v["orgUnit"])
        if group is None:
            group = ET.SubElement(
                root, "group", {"orgUnit": v["orgUnit"], "period": adx_period, "dataSet": DATASET}
            )
            groups[v["orgUnit"]] = group
        ET.SubElement(group, "dataValue", {"dataElement": v["dataElement"], "value": v["value"]})
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def export_text(actor: Actor | None, *, fmt: str, period: str, territory: str) -> str:
    values = data_values(actor, period=period, territory=territory)
    if fmt == "dhis2-json":
        return to_json(values)
    if fmt == "adx":
        return to_adx(values, period)
    raise ValidationFailed(_("Formato no válido: dhis2-json o adx."), field="format")


def parse_json(text: str) -> set[tuple[str, str, str, str]]:
    data: dict[str, Any] = json.loads(text)
    return {(v["dataElement"], v["period"], v["orgUnit"], v["value"]) for v in data["dataValues"]}


def parse_adx(text: str) -> set[tuple[str, str, str, str]]:
    """(dataElement, DHIS2 period, orgUnit, value) of an ADX document (for round trips)."""
    root = ET.fromstring(text)  # noqa: S314 - our own output, in tests
    out = set()
    for group in root.findall(f"{{{ADX_NS}}}group"):
        start, duration = group.attrib["period"].split("/")
        day = dt.date.fromisoformat(start)
        period = {
            "P1M": f"{day:%Y%m}",
            "P3M": f"{day.year}Q{(day.month - 1) // 3 + 1}",
            "P1Y": f"{day.year}",
        }[duration]
        for value in group.findall(f"{{{ADX_NS}}}dataValue"):
            out.add(
                (
                    value.attrib["dataElement"],
                    period,
                    group.attrib["orgUnit"],
                    value.attrib["value"],
                )
            )
    return out
