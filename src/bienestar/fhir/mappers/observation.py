"""Observation ↔ clinical.Observation (vital signs and measurements, LOINC with UCUM units).

The blood pressure is one Observation (panel 85354-9) with its systolic and diastolic values as
`component`s, as in the FHIR vital-signs profile; the component rows of the database are not
resources of their own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from bienestar.clinical import vitals
from bienestar.clinical.models import Observation, ObservationStatus
from bienestar.fhir import systems
from bienestar.fhir.errors import MappingError
from bienestar.fhir.mappers.common import (
    coding,
    concept,
    date_time,
    decimal_of,
    first_code,
    instant,
    meta,
    parse_date_time,
    quantity,
    reference,
    reference_id,
)

FIELD_PATHS = {
    "person": "Observation.subject",
    "encounter": "Observation.encounter",
    "effective_at": "Observation.effectiveDateTime",
    "vitals": "Observation.valueQuantity",
    "facility": "Observation.encounter",
    **{key: "Observation.valueQuantity.value" for key in vitals.VITALS},
    "systolic": "Observation.component[0].valueQuantity.value",
    "diastolic": "Observation.component[1].valueQuantity.value",
}


def category_of(code: str) -> str:
    return "laboratory" if code in systems.LABORATORY_CODES else "vital-signs"


def loinc_concept(code: str) -> dict[str, Any]:
    spec = vitals.BY_CODE.get(code)
    text = str(spec.label) if spec is not None else None
    if code == vitals.BP_PANEL:
        text = _("presión arterial")
    return concept(coding(systems.LOINC, code, systems.LOINC_DISPLAY.get(code)), text=text)


def _value(row: Observation) -> dict[str, Any]:
    spec = vitals.BY_CODE.get(row.code)
    display = spec.display_unit if spec is not None else row.unit
    assert row.value is not None
    return quantity(row.value, row.unit, display)


def observation_to_fhir(
    observation: Observation, *, components: Sequence[Observation] = ()
) -> dict[str, Any]:
    """`components`: the systolic and diastolic rows of a blood-pressure panel."""
    category = category_of(observation.code)
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": str(observation.public_id),
        "meta": meta(str(observation.version), observation.updated_at),
        "status": observation.status,
        "category": [
            concept(
                coding(
                    systems.OBSERVATION_CATEGORY,
                    category,
                    "Laboratory" if category == "laboratory" else "Vital Signs",
                )
            )
        ],
        "code": loinc_concept(observation.code),
        "subject": reference("Patient", observation.person.public_id),
    }
    if observation.encounter is not None:
        resource["encounter"] = reference("Encounter", observation.encounter.public_id)
    resource["effectiveDateTime"] = date_time(observation.effective_at)
    resource["issued"] = instant(observation.created_at)
    if observation.value is not None:
        resource["valueQuantity"] = _value(observation)
    order = {vitals.VITALS["systolic"].code: 0, vitals.VITALS["diastolic"].code: 1}
    parts = sorted(
        (c for c in components if c.value is not None), key=lambda c: order.get(c.code, 9)
    )
    if parts:
        resource["component"] = [
            {"code": loinc_concept(c.code), "valueQuantity": _value(c)} for c in parts
        ]
    return resource


@dataclass(frozen=True)
class ObservationInput:
    person_id: str
    # Keys of clinical.vitals.VITALS → value as given (the service checks the range).
    values: dict[str, Decimal] = field(default_factory=dict)
    encounter_id: str | None = None
    effective_at: dt.datetime | None = None
    status: str = ObservationStatus.FINAL


def _quantity_value(item: Any, code: str, path: str) -> Decimal:
    spec = vitals.BY_CODE[code]
    value = (item or {}).get("valueQuantity")
    if not isinstance(value, dict) or value.get("value") is None:
        raise MappingError(_("Falta valueQuantity.value."), f"{path}.valueQuantity")
    unit = value.get("code")
    if value.get("system") not in (None, systems.UCUM) or (unit is not None and unit != spec.unit):
        raise MappingError(
            _("Unidad no admitida para %(code)s: use %(unit)s de %(system)s.")
            % {"code": code, "unit": spec.unit, "system": systems.UCUM},
            f"{path}.valueQuantity.code",
        )
    return decimal_of(value["value"], f"{path}.valueQuantity.value")


def observation_from_fhir(data: Mapping[str, Any]) -> ObservationInput:
    status = data.get("status") or ObservationStatus.FINAL
    if status not in ObservationStatus.values:
        raise MappingError(
            _("Estado no admitido: %(s)s. Use final.") % {"s": status}, "Observation.status"
        )
    code = first_code(data.get("code"), systems.LOINC, "Observation.code")
    assert code is not None
    values: dict[str, Decimal] = {}
    if code == vitals.BP_PANEL:
        for index, component in enumerate(data.get("component") or []):
            part = first_code(
                component.get("code"), systems.LOINC, f"Observation.component[{index}].code"
            )
            spec = vitals.BY_CODE.get(part or "")
            if spec is None or spec.key not in ("systolic", "diastolic"):
                raise MappingError(
                    _("El panel de presión arterial solo admite 8480-6 y 8462-4."),
                    f"Observation.component[{index}].code",
                )
            values[spec.key] = _quantity_value(
                component, spec.code, f"Observation.component[{index}]"
            )
    elif code in vitals.BY_CODE:
        values[vitals.BY_CODE[code].key] = _quantity_value(data, code, "Observation")
    else:
        raise MappingError(
            _("Código LOINC no admitido: %(code)s. Use uno de: %(codes)s.")
            % {"code": code, "codes": ", ".join([vitals.BP_PANEL, *vitals.BY_CODE])},
            "Observation.code",
        )
    person_id = reference_id(data.get("subject"), "Patient", "Observation.subject")
    encounter_id = None
    if data.get("encounter"):
        encounter_id = reference_id(data["encounter"], "Encounter", "Observation.encounter")
    effective = None
    if data.get("effectiveDateTime"):
        effective = parse_date_time(data["effectiveDateTime"], "Observation.effectiveDateTime")
    return ObservationInput(
        person_id=person_id,
        values=values,
        encounter_id=encounter_id,
        effective_at=effective,
        status=status,
    )
