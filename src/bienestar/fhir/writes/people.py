"""Patient through people.services (registration and the changes a person's record admits)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.fhir.errors import MappingError
from bienestar.fhir.mappers import patient as patient_map
from bienestar.fhir.writes.base import Writer, locked, unchangeable
from bienestar.people import services as people
from bienestar.people.models import ChangeSource, Person, PersonStatus
from bienestar.people.selectors import persons_visible_to

# --- Patient -----------------------------------------------------------------------------------------


def _patient_create(actor: Actor, data: dict[str, Any]) -> Person:
    given = patient_map.patient_from_fhir(data)
    if given.national_health_id:
        raise MappingError(
            _("El ID del Sistema Nacional de Salud lo emite Bienestar al registrar; omítalo."),
            "Patient.identifier",
        )
    if given.active is False:
        raise MappingError(_("Un registro nuevo no puede nacer inactivo."), "Patient.active")
    territory = given.territory_path or actor.scope_path
    if not territory:
        raise MappingError(
            _("Indique el territorio de residencia (extensión de territorio en address)."),
            "Patient.address",
        )
    person = people.person_register(
        actor,
        data=people.PersonInput(
            given_names=given.given_names,
            first_surname=given.first_surname,
            second_surname=given.second_surname,
            sex=given.sex,
            birth_date=given.birth_date,
            territory_path=territory,
            identifiers=[people.IdentifierInput(system=s, value=v) for s, v in given.identifiers],
        ),
        source=ChangeSource.FHIR,
    )
    if given.deceased_date:
        people.person_update(
            actor,
            person=person,
            changes={"deceased_date": given.deceased_date},
            source=ChangeSource.FHIR,
        )
    return person


def _patient_update(actor: Actor, person: Person, data: dict[str, Any]) -> bool:
    given = patient_map.patient_from_fhir(data)
    if given.national_health_id and given.national_health_id != person.national_health_id:
        raise unchangeable("Patient.identifier")
    current = {(i.system, i.value) for i in person.identifiers.all()}
    wanted = {people.resolve_identifier(s, v, via="fhir") for s, v in given.identifiers}
    if wanted != current:
        raise unchangeable("Patient.identifier")
    if given.territory_path and given.territory_path != person.territory.path:
        raise unchangeable("Patient.address")
    if given.active is not None and given.active != (person.status == PersonStatus.ACTIVE):
        raise unchangeable("Patient.active")
    fields = {
        "given_names": given.given_names,
        "first_surname": given.first_surname,
        "second_surname": given.second_surname,
        "sex": given.sex,
        "birth_date": given.birth_date,
        "deceased_date": given.deceased_date,
    }
    changes = {k: v for k, v in fields.items() if getattr(person, k) != v}
    if not changes:
        return False
    people.person_update(actor, person=person, changes=changes, source=ChangeSource.FHIR)
    return True


PATIENT = Writer(
    create=_patient_create,
    update=_patient_update,
    lock=lambda actor, rid: locked(persons_visible_to(actor), rid),
    paths=patient_map.FIELD_PATHS,
)
