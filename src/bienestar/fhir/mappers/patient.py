"""Patient ↔ people.Person.

Out: identifiers (National Health ID, CURP, NSS, Colombian documents…), the official name with both
surnames told apart (HL7 fathers-family / mothers-family), gender, birth date, deceased date,
addresses (each with the Bienestar territory it lies in), contacts, and `link` to the surviving
record when the person was merged.

In (create and update): name, gender, birthDate, deceasedDateTime, identifiers and the territory of
residence (the first address's territory extension). Other elements (telecom, address lines,
maritalStatus, communication…) are accepted and not stored: no Bienestar service writes them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from bienestar.fhir import systems
from bienestar.fhir.errors import MappingError
from bienestar.fhir.mappers.common import (
    date,
    human_name,
    meta,
    parse_date,
    parse_human_name,
    reference,
)
from bienestar.people import identifier_systems
from bienestar.people.models import (
    AffiliationScheme,
    Person,
    PersonAddress,
    PersonAffiliation,
    PersonContact,
    PersonIdentifier,
    PersonStatus,
    Sex,
)
from bienestar.territories.models import Territory

GENDER: dict[str, str] = {
    Sex.FEMALE: "female",
    Sex.MALE: "male",
    Sex.OTHER: "other",
    Sex.UNKNOWN: "unknown",
}
SEX = {v: k for k, v in GENDER.items()}
_TELECOM = {"phone": ("phone", "home"), "mobile": ("phone", "mobile"), "email": ("email", None)}

# Domain field → FHIR element, so that a service's refusal points at what to fix.
FIELD_PATHS = {
    "given_names": "Patient.name[0].given",
    "first_surname": "Patient.name[0].family",
    "second_surname": "Patient.name[0].family",
    "sex": "Patient.gender",
    "birth_date": "Patient.birthDate",
    "deceased_date": "Patient.deceasedDateTime",
    "identifiers": "Patient.identifier",
    "territory": "Patient.address[0].extension",
}


def ancestor_paths(path: str) -> list[str]:
    """ "MX.20.067.0001" → ["MX", "MX.20", "MX.20.067", "MX.20.067.0001"]."""
    parts = path.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def territory_address(path: str, territories: Mapping[str, Territory]) -> dict[str, Any]:
    """The parts of an address a territory path gives: state (2nd level), district (3rd:
    municipality or Bogotá's localidad), city (4th: locality), country, and the path itself."""
    levels = ancestor_paths(path)
    out: dict[str, Any] = {
        "extension": [{"url": systems.TERRITORY_EXTENSION, "valueCode": path}],
    }
    for index, key in ((3, "city"), (2, "district"), (1, "state")):
        if len(levels) > index and levels[index] in territories:
            out[key] = territories[levels[index]].name
    out["country"] = levels[0]
    return {k: out[k] for k in ("extension", "city", "district", "state", "country") if k in out}


def person_to_fhir(
    person: Person,
    *,
    identifiers: Sequence[PersonIdentifier],
    addresses: Sequence[PersonAddress],
    contacts: Sequence[PersonContact],
    territories: Mapping[str, Territory],
    survivor_id: Any = None,
    affiliations: Sequence[PersonAffiliation] = (),
) -> dict[str, Any]:
    """`territories` holds every territory on the paths of the person's and addresses' territories
    (by path); `survivor_id` is the public id of the person this one was merged into."""
    ids: list[dict[str, Any]] = [
        {
            "use": "official",
            "system": systems.NATIONAL_HEALTH_ID,
            "value": person.national_health_id,
        }
    ]
    for ident in identifiers:
        entry: dict[str, Any] = {
            "system": systems.identifier_system_uri(ident.system),
            "value": ident.value,
        }
        if ident.system == "curp":
            entry["use"] = "official"
        if ident.valid_until:
            entry["period"] = {"end": date(ident.valid_until)}
        ids.append(entry)
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(person.public_id),
        "meta": meta(str(person.version), person.updated_at),
    }
    if affiliations:
        resource["extension"] = [affiliation_extension(a) for a in affiliations]
    resource |= {
        "identifier": ids,
        "active": person.status == PersonStatus.ACTIVE,
        "name": [human_name(person.given_names, person.first_surname, person.second_surname)],
    }
    telecom = []
    for contact in contacts:
        system, use = _TELECOM.get(contact.system, ("other", None))
        item = {"system": system, "value": contact.value}
        if use:
            item["use"] = use
        telecom.append(item)
    if telecom:
        resource["telecom"] = telecom
    resource["gender"] = GENDER.get(person.sex, "unknown")
    resource["birthDate"] = date(person.birth_date)
    if person.deceased_date:
        resource["deceasedDateTime"] = date(person.deceased_date)
    if addresses:
        resource["address"] = [_address(a, territories) for a in addresses]
    else:
        residence = territory_address(person.territory.path, territories)
        resource["address"] = [{"use": "home", **residence}]
    if person.status == PersonStatus.MERGED and survivor_id is not None:
        resource["link"] = [{"other": reference("Patient", survivor_id), "type": "replaced-by"}]
    return resource


def affiliation_extension(fact: PersonAffiliation) -> dict[str, Any]:
    """One affiliation fact (people/affiliations.py) as Bienestar's Patient extension: the lighter
    faithful option next to a Coverage resource (read-only here; written through the JSON API and
    the page, which share the domain service)."""
    parts: list[dict[str, Any]] = [
        {
            "url": "scheme",
            "valueCoding": {
                "system": systems.AFFILIATION_SCHEME,
                "code": fact.scheme,
                "display": str(AffiliationScheme(fact.scheme).label)
                if fact.scheme in AffiliationScheme.values
                else fact.scheme,
            },
        }
    ]
    if fact.insurer:
        parts.append({"url": "insurer", "valueString": fact.insurer})
    if fact.start or fact.end:
        period = {k: date(v) for k, v in (("start", fact.start), ("end", fact.end)) if v}
        parts.append({"url": "period", "valuePeriod": period})
    if fact.source:
        parts.append({"url": "source", "valueCode": fact.source})
    return {"url": systems.AFFILIATION_EXTENSION, "extension": parts}


def _address(address: PersonAddress, territories: Mapping[str, Territory]) -> dict[str, Any]:
    out: dict[str, Any] = {"use": address.use}
    lines = [p for p in (address.line, address.neighbourhood) if p]
    if lines:
        out["line"] = lines
    out.update(territory_address(address.territory.path, territories))
    if address.postal_code:
        out["postalCode"] = address.postal_code
    if address.start or address.end:
        out["period"] = {
            k: date(v) for k, v in (("start", address.start), ("end", address.end)) if v
        }
    return out


# --- in ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PatientInput:
    given_names: str
    first_surname: str
    second_surname: str
    sex: str
    birth_date: dt.date
    deceased_date: dt.date | None = None
    territory_path: str | None = None
    # (domain identifier system, value), National Health ID excluded (it is issued, never given).
    identifiers: list[tuple[str, str]] = field(default_factory=list)
    national_health_id: str | None = None
    active: bool | None = None


def patient_from_fhir(data: Mapping[str, Any]) -> PatientInput:
    given, first, second = parse_human_name(data.get("name"), "Patient.name")
    gender = data.get("gender")
    if gender not in SEX:
        # A code outside the required binding is not valid FHIR: 400, like a structural error.
        raise MappingError(
            _("Indique el sexo (female, male, other o unknown)."), "Patient.gender", status=400
        )
    birth = data.get("birthDate")
    if not isinstance(birth, str) or len(birth) != 10:
        raise MappingError(
            _("Indique la fecha de nacimiento completa (AAAA-MM-DD)."), "Patient.birthDate"
        )
    deceased = None
    if data.get("deceasedBoolean") is True:
        raise MappingError(
            _("Indique la fecha de defunción (deceasedDateTime)."), "Patient.deceasedBoolean"
        )
    if data.get("deceasedDateTime"):
        deceased = parse_date(data["deceasedDateTime"], "Patient.deceasedDateTime")
    identifiers: list[tuple[str, str]] = []
    national = None
    for index, ident in enumerate(data.get("identifier") or []):
        path = f"Patient.identifier[{index}]"
        system, value = ident.get("system"), (ident.get("value") or "").strip()
        if not value:
            raise MappingError(_("El identificador está vacío."), f"{path}.value")
        if system == systems.NATIONAL_HEALTH_ID:
            national = value.replace("-", "").replace(" ", "").upper()
            continue
        if not isinstance(system, str) or not system.strip():
            raise MappingError(_("Indique el sistema del identificador."), f"{path}.system")
        # Any system is accepted (an unknown one is stored as given and added to the registry as
        # unverified); a known system's value is checked here so the error names the element.
        domain = identifier_systems.code_for_uri(system.strip())
        problem = identifier_systems.static_problem(domain, value)
        if problem:
            raise MappingError(problem, f"{path}.value")
        identifiers.append((domain, value))
    territory = None
    for index, address in enumerate(data.get("address") or []):
        for ext in address.get("extension") or []:
            if ext.get("url") == systems.TERRITORY_EXTENSION:
                territory = ext.get("valueCode") or ext.get("valueString")
                if not territory:
                    raise MappingError(
                        _("Territorio vacío."), f"Patient.address[{index}].extension"
                    )
                break
        if territory:
            break
    active = data.get("active")
    return PatientInput(
        given_names=given,
        first_surname=first,
        second_surname=second,
        sex=SEX[gender],
        birth_date=parse_date(birth, "Patient.birthDate"),
        deceased_date=deceased,
        territory_path=territory,
        identifiers=identifiers,
        national_health_id=national,
        active=active if isinstance(active, bool) else None,
    )
