"""Organization and Location ↔ facilities.Facility (read only).

A facility is both: the Organization that provides care (Encounter.serviceProvider, with its
institution and CLUES) and the Location where it happens (position, address). Both share the
facility's opaque id, so `Organization/<id>` and `Location/<id>` name the same establishment.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bienestar.facilities.models import Facility
from bienestar.fhir import systems
from bienestar.fhir.mappers.common import coding, concept, derived_version, meta, number, reference
from bienestar.fhir.mappers.patient import territory_address
from bienestar.territories.models import Territory


def _identifiers(facility: Facility) -> list[dict[str, Any]]:
    out = []
    if facility.clues:
        out.append({"use": "official", "system": systems.CLUES, "value": facility.clues})
    if facility.other_code:
        out.append({"system": systems.FACILITY_CODE, "value": facility.other_code})
    return out


def _address(facility: Facility, territories: Mapping[str, Territory]) -> dict[str, Any]:
    out: dict[str, Any] = {"use": "work"}
    if facility.address:
        out["text"] = facility.address
    out.update(territory_address(facility.territory.path, territories))
    return out


def _common(facility: Facility, resource_type: str) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": resource_type,
        "id": str(facility.public_id),
        "meta": meta(derived_version(facility.updated_at), facility.updated_at),
    }
    identifiers = _identifiers(facility)
    if identifiers:
        resource["identifier"] = identifiers
    return resource


def organization_to_fhir(
    facility: Facility, *, territories: Mapping[str, Territory]
) -> dict[str, Any]:
    resource = _common(facility, "Organization")
    resource["active"] = facility.in_operation
    resource["type"] = [
        concept(
            coding(
                systems.FACILITY_TYPE, facility.facility_type, facility.get_facility_type_display()
            )
        ),
        concept(
            coding(systems.INSTITUTION, facility.institution, facility.get_institution_display())
        ),
    ]
    resource["name"] = facility.name
    resource["address"] = [_address(facility, territories)]
    if facility.parent is not None:
        resource["partOf"] = reference("Organization", facility.parent.public_id)
    return resource


def location_to_fhir(facility: Facility, *, territories: Mapping[str, Territory]) -> dict[str, Any]:
    resource = _common(facility, "Location")
    resource["status"] = "active" if facility.in_operation else "inactive"
    resource["name"] = facility.name
    resource["mode"] = "instance"
    resource["type"] = [
        concept(
            coding(
                systems.FACILITY_TYPE, facility.facility_type, facility.get_facility_type_display()
            )
        )
    ]
    resource["address"] = _address(facility, territories)
    if facility.latitude is not None and facility.longitude is not None:
        resource["position"] = {
            "longitude": number(facility.longitude),
            "latitude": number(facility.latitude),
        }
    resource["managingOrganization"] = reference("Organization", facility.public_id)
    return resource
