"""Patient lines → persons, their identifiers, addresses and contacts (bulk import)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.utils.translation import gettext as _

from bienestar.fhir import systems
from bienestar.fhir.bulk.rows import (
    Batch,
    Item,
    Refused,
    in_scope,
    person_of,
    persons,
    ref_uuid,
    version_of,
)
from bienestar.fhir.bulk.sql import insert_ignore
from bienestar.fhir.mappers import patient as patient_map
from bienestar.fhir.mappers.common import (
    parse_date,
)
from bienestar.people import identifier_systems, national_id
from bienestar.people import services as people
from bienestar.people.models import (
    AddressUse,
    ChangeSource,
    ContactSystem,
    IssuedHealthId,
    Person,
    PersonAddress,
    PersonChange,
    PersonContact,
    PersonIdentifier,
    PersonStatus,
)
from bienestar.territories.models import Territory

# --- Patient -----------------------------------------------------------------------------------------

_CONTACT = {("phone", "home"): ContactSystem.PHONE, ("phone", "mobile"): ContactSystem.MOBILE}


def _addresses(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Addresses worth a row of their own: with a line, postal code or period (a bare territory
    is the person's residence, which the mapper already gives)."""
    out = []
    for index, address in enumerate(data.get("address") or []):
        path = f"Patient.address[{index}]"
        territory = next(
            (
                e.get("valueCode") or e.get("valueString")
                for e in address.get("extension") or []
                if e.get("url") == systems.TERRITORY_EXTENSION
            ),
            None,
        )
        lines = [str(x) for x in address.get("line") or []]
        period = address.get("period") or {}
        if not (lines or address.get("postalCode") or period or len(data["address"]) > 1):
            continue
        if not territory:
            raise Refused(_("Falta el territorio del domicilio."), f"{path}.extension")
        use = address.get("use") if address.get("use") in AddressUse.values else AddressUse.HOME
        out.append(
            {
                "territory": territory,
                "use": use,
                "line": lines[0][:250] if lines else "",
                "neighbourhood": lines[1][:120] if len(lines) > 1 else "",
                "postal_code": str(address.get("postalCode") or "")[:10],
                "start": parse_date(period["start"], f"{path}.period.start")
                if period.get("start")
                else None,
                "end": parse_date(period["end"], f"{path}.period.end")
                if period.get("end")
                else None,
            }
        )
    return out


def _contacts(data: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for item in data.get("telecom") or []:
        system, use, value = item.get("system"), item.get("use"), str(item.get("value") or "")
        if not value:
            continue
        if system == "email":
            out.append((ContactSystem.EMAIL.value, value[:120]))
        elif system == "phone":
            out.append((_CONTACT.get((system, use), ContactSystem.PHONE).value, value[:120]))
    return out


def _identifier_periods(data: dict[str, Any]) -> dict[tuple[str, str], dt.date]:
    out = {}
    for index, ident in enumerate(data.get("identifier") or []):
        end = (ident.get("period") or {}).get("end")
        domain = identifier_systems.code_for_uri(str(ident.get("system") or "").strip())
        if end and domain:
            value = people.validate_identifier(domain, ident.get("value") or "")
            out[(domain, value)] = parse_date(end, f"Patient.identifier[{index}].period.end")
    return out


@dataclass
class _Patient:
    item: Item
    given: patient_map.PatientInput
    territory: str
    identifiers: list[tuple[str, str]]
    periods: dict[tuple[str, str], dt.date]
    addresses: list[dict[str, Any]]
    contacts: list[tuple[str, str]]
    survivor: uuid.UUID | None


def _parse_patient(batch: Batch, item: Item, *, merged: bool) -> _Patient:
    given = patient_map.patient_from_fhir(item.data)
    territory = given.territory_path or batch.actor.scope_path or ""
    people._validate_person(  # the registration's own checks (names, sex, birth date)
        people.PersonInput(
            given_names=given.given_names,
            first_surname=given.first_surname,
            second_surname=given.second_surname,
            sex=given.sex,
            birth_date=given.birth_date,
            territory_path=territory,
        )
    )
    identifiers = [people.resolve_identifier(s, v, via="import") for s, v in given.identifiers]
    if len(set(identifiers)) != len(identifiers):
        raise Refused(_("Identificador repetido."), "Patient.identifier")
    if given.national_health_id and not national_id.is_valid(given.national_health_id):
        raise Refused(_("ID del Sistema Nacional de Salud inválido."), "Patient.identifier")
    survivor = None
    links = [link for link in item.data.get("link") or [] if link.get("type") == "replaced-by"]
    if merged:
        survivor = ref_uuid(batch, links[0].get("other"), "Patient", "Patient.link[0].other")
    elif given.active is False:
        raise Refused(_("Un paciente inactivo debe indicar quién lo reemplaza."), "Patient.active")
    return _Patient(
        item=item,
        given=given,
        territory=territory,
        identifiers=identifiers,
        periods=_identifier_periods(item.data),
        addresses=_addresses(item.data),
        contacts=_contacts(item.data),
        survivor=survivor,
    )


def load_patients(batch: Batch, items: list[Item], *, merged: bool = False) -> None:
    batch.paths = patient_map.FIELD_PATHS
    parsed = [p for _i, p in batch.each(items, partial(_parse_patient, batch, merged=merged))]
    paths = {p.territory for p in parsed} | {a["territory"] for p in parsed for a in p.addresses}
    territories = dict(Territory.objects.filter(path__in=paths).values_list("path", "pk"))
    survivors = persons(batch.actor, [p.survivor for p in parsed if p.survivor])
    nhids = {p.given.national_health_id for p in parsed if p.given.national_health_id}
    taken_nhids = set(
        Person.objects.filter(national_health_id__in=nhids).values_list(
            "national_health_id", flat=True
        )
    )
    values = {v for p in parsed for _s, v in p.identifiers}
    taken_ids = set(
        PersonIdentifier.objects.filter(value__in=values).values_list("system", "value")
    )
    seen_nhids: set[str] = set()
    seen_ids: set[tuple[str, str]] = set()
    ready: list[tuple[_Patient, dict[str, Any]]] = []
    for patient in parsed:

        def check(p: _Patient = patient) -> dict[str, Any]:
            for path in [p.territory, *(a["territory"] for a in p.addresses)]:
                if path not in territories:
                    raise Refused(
                        _("Territorio desconocido: %(t)s.") % {"t": path}, "Patient.address"
                    )
                if not in_scope(batch.actor, path):
                    raise Refused(_("Territorio fuera de su ámbito."), "Patient.address")
            nhid = p.given.national_health_id
            if nhid and (nhid in taken_nhids or nhid in seen_nhids):
                raise Refused(
                    _("Ya existe una persona con ese ID del Sistema Nacional de Salud."),
                    "Patient.identifier",
                )
            for ident in p.identifiers:
                if ident in taken_ids or ident in seen_ids:
                    raise Refused(
                        _("Ya existe una persona con ese identificador (%(s)s).") % {"s": ident[0]},
                        "Patient.identifier",
                    )
            merged_into = None
            if p.survivor is not None:
                merged_into = person_of(batch, survivors, p.survivor, "Patient.link[0].other").pk
            g = p.given
            return {
                "public_id": p.item.public_id,
                "national_health_id": nhid or "",
                "given_names": g.given_names.strip(),
                "first_surname": g.first_surname.strip(),
                "second_surname": g.second_surname.strip(),
                "sex": g.sex,
                "birth_date": g.birth_date,
                "territory_id": territories[p.territory],
                "status": PersonStatus.MERGED if merged_into else PersonStatus.ACTIVE,
                "merged_into_id": merged_into,
                "deceased_date": g.deceased_date,
                "version": version_of(p.item.data),
            }

        row = batch.attempt(patient.item, check)
        if row is None:
            continue
        if row["national_health_id"]:
            seen_nhids.add(row["national_health_id"])
        seen_ids.update(patient.identifiers)
        ready.append((patient, row))
    _write_patients(batch, ready, territories)


def _write_patients(
    batch: Batch, ready: list[tuple[_Patient, dict[str, Any]]], territories: dict[str, int]
) -> None:
    # Issued here, as registration does (one statement for the batch): foreign records carry none.
    missing = [row for _patient, row in ready if not row["national_health_id"]]
    for row, value in zip(missing, people.issue_national_health_ids(len(missing)), strict=True):
        row["national_health_id"] = value
    insert_ignore(
        IssuedHealthId,
        [{"value": row["national_health_id"]} for _p, row in ready],
        conflict="value",
        returning=None,
    )
    inserted = set(insert_ignore(Person, [row for _p, row in ready]))
    pks = dict(Person.objects.filter(public_id__in=inserted).values_list("public_id", "pk"))
    identifiers, addresses, contacts, changes = [], [], [], []
    for patient, row in ready:
        public_id = row["public_id"]
        if public_id not in inserted:
            continue
        pk = pks[public_id]
        for system, value in patient.identifiers:
            identifiers.append(
                {
                    "public_id": uuid.uuid5(public_id, f"identifier:{system}|{value}"),
                    "person_id": pk,
                    "system": system,
                    "value": value,
                    "source": ChangeSource.IMPORT.value,
                    "valid_until": patient.periods.get((system, value)),
                }
            )
        for index, address in enumerate(patient.addresses):
            addresses.append(
                {
                    "public_id": uuid.uuid5(public_id, f"address:{index}"),
                    "person_id": pk,
                    **{k: v for k, v in address.items() if k != "territory"},
                    "territory_id": territories[address["territory"]],
                }
            )
        for index, (system, value) in enumerate(patient.contacts):
            contacts.append(
                {
                    "public_id": uuid.uuid5(public_id, f"contact:{index}"),
                    "person_id": pk,
                    "system": system,
                    "value": value,
                }
            )
        changes.append(
            {
                "person_id": pk,
                "actor_id": batch.user.pk,
                "source": ChangeSource.IMPORT.value,
                "action": "create",
                "changes": {"import": batch.job_key[:16]},
            }
        )
        batch.written.append(("Person", pk))
    insert_ignore(PersonIdentifier, identifiers, returning=None)
    insert_ignore(PersonAddress, addresses, returning=None)
    insert_ignore(PersonContact, contacts, returning=None)
    insert_ignore(PersonChange, changes, conflict="id", returning=None)
    batch.count("Patient", len(inserted))
