"""A small network for the FHIR tests: the `geo` and `users` fixtures of the repository root, the
pharmacy network of the inventory tests, CIE-10 codes, and a patient with a whole record."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from django.utils import timezone

from bienestar.access.tests.factories import actor_for
from bienestar.clinical import services as clinical
from bienestar.clinical.models import Encounter
from bienestar.clinical.tests.factories import icd10_codes, schedule_entries
from bienestar.inventory.tests.factories import METFORMIN, Network, build_network, receive
from bienestar.people.models import Person, PersonIdentifier
from bienestar.people.tests.factories import PersonFactory
from bienestar.prescribing.models import Dispense, Prescription
from bienestar.prescribing.services import dispense_record
from bienestar.prescribing.tests.factories import fill, line, prescribe
from bienestar.workforce.tests.factories import PractitionerFactory

CURP = "LOHJ800517HOCPRS08"


@pytest.fixture
def net(geo, users) -> Network:  # type: ignore[no-untyped-def]
    network = build_network(geo, users)
    doctor = PractitionerFactory(given_names="Laura", first_surname="Méndez")
    users["clinician"].practitioner = doctor
    users["clinician"].save(update_fields=["practitioner"])
    # The integrator (an API client of another institution) records at the Oaxaca centre.
    return network


@pytest.fixture
def codes(db):  # type: ignore[no-untyped-def]
    return icd10_codes()


@pytest.fixture
def jose(geo) -> Person:  # type: ignore[no-untyped-def]
    person = PersonFactory(territory=geo["oaxaca_centro"], birth_date=dt.date(1980, 5, 17))
    PersonIdentifier.objects.create(person=person, system="curp", value=CURP, source="test")
    return person


@pytest.fixture
def maria(geo) -> Person:  # type: ignore[no-untyped-def]
    """A patient of Hidalgo: outside the Oaxaca users' territory."""
    return PersonFactory(
        territory=geo["pachuca"],
        given_names="María",
        first_surname="Pérez",
        second_surname="Soto",
        sex="F",
        birth_date=dt.date(1990, 2, 3),
    )


@dataclass
class Record:
    encounter: Encounter
    prescription: Prescription
    dispense: Dispense
    allergy: Any
    immunization: Any


@pytest.fixture
def record(net, codes, jose, users) -> Record:  # type: ignore[no-untyped-def]
    """José's record: a finished consultation with two diagnoses and vitals, an allergy, a vaccine
    dose, a prescription of metformin half dispensed."""
    clinician = actor_for(users["clinician"])
    start = timezone.now() - dt.timedelta(days=2)
    encounter = clinical.encounter_record(
        clinician,
        person=jose,
        encounter_class="ambulatory",
        reason_text="Control de diabetes",
        diagnoses=["E11", "I10"],
        vitals={
            "systolic": 130,
            "diastolic": 85,
            "weight": "80.0",
            "height": "170",
            "glucose": 142,
        },
        start=start,
        end=start + dt.timedelta(minutes=20),
    )
    allergy = clinical.allergy_add(
        clinician, person=jose, category="medication", substance="Penicilina", reaction="Urticaria"
    )
    schedule_entries()
    immunization = clinical.immunization_record(
        clinician,
        person=jose,
        vaccine="Anti influenza estacional",
        dose="anual",
        occurrence_date=timezone.localdate() - dt.timedelta(days=30),
        lot="L123",
    )
    prescription = prescribe(net, jose, line(METFORMIN, 60), encounter=encounter)
    # 30 on the shelf: the other 30 are honestly out of stock.
    receive(actor_for(users["warehouse_manager"]), net.centre, METFORMIN, 30)
    dispense = dispense_record(
        actor_for(users["pharmacist"]),
        prescription=prescription,
        pharmacy=net.centre,
        lines=fill(prescription, (30, "out_of_stock")),
    )
    return Record(encounter, prescription, dispense, allergy, immunization)
