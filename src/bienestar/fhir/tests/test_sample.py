"""More than a thousand resources over every type, each validated with the R4B models: a small
network recorded through the domain services, then paged through the FHIR API."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from bienestar.access.tests.factories import actor_for
from bienestar.clinical import services as clinical
from bienestar.clinical.tests.factories import schedule_entries
from bienestar.fhir import registry
from bienestar.fhir.tests.client import FhirClient
from bienestar.inventory.tests.factories import ENALAPRIL, METFORMIN, receive
from bienestar.people.models import Person
from bienestar.people.tests.factories import PersonFactory
from bienestar.prescribing.services import dispense_record
from bienestar.prescribing.tests.factories import fill, line, prescribe
from bienestar.scheduling.models import AvailabilityRule, Schedule, Service
from bienestar.scheduling.selectors import SlotSearch, slots_search
from bienestar.scheduling.services import appointment_book
from bienestar.workforce.tests.factories import PositionFactory

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

PATIENTS = 70


def test_a_thousand_resources_of_every_type_validate(users, geo, net, codes):
    clinician = actor_for(users["clinician"])
    pharmacist = actor_for(users["pharmacist"])
    schedule_entries()
    receive(actor_for(users["warehouse_manager"]), net.centre, METFORMIN, 10_000)
    PositionFactory(facility=net.centre, practitioner=users["clinician"].practitioner)
    PositionFactory(facility=net.centre)
    for n in range(PATIENTS):
        person = PersonFactory(
            territory=geo["oaxaca_centro"],
            given_names=f"Paciente {n}",
            birth_date=dt.date(1950 + n % 50, 1 + n % 12, 1 + n % 28),
            sex="F" if n % 2 else "M",
        )
        start = timezone.now() - dt.timedelta(days=n + 1)
        encounter = clinical.encounter_record(
            clinician,
            person=person,
            encounter_class="ambulatory",
            reason_text="Consulta",
            diagnoses=["E11", "I10"] if n % 3 else ["J00"],
            vitals={
                "systolic": 110 + n % 40,
                "diastolic": 70 + n % 15,
                "weight": 60 + n % 30,
                "height": 150 + n % 30,
                "heart_rate": 60 + n % 30,
                "temperature": "36.5",
                "glucose": 90 + n,
            },
            start=start,
            end=start + dt.timedelta(minutes=15),
        )
        clinical.allergy_add(clinician, person=person, category="food", substance=f"Alimento {n}")
        clinical.immunization_record(
            clinician,
            person=person,
            vaccine="Anti influenza estacional",
            dose="anual",
            occurrence_date=timezone.localdate() - dt.timedelta(days=n + 1),
        )
        prescription = prescribe(
            net, person, line(METFORMIN, 30), line(ENALAPRIL, 30), encounter=encounter
        )
        dispense_record(
            pharmacist,
            prescription=prescription,
            pharmacy=net.centre,
            lines=fill(prescription, 30, (0, "out_of_stock")),
        )

    # An agenda at the centre, with some of its slots booked (Schedule, Slot, Appointment).
    service = Service.objects.create(facility=net.centre, name="Consulta", slot_minutes=30)
    agenda = Schedule.objects.create(
        service=service, facility=net.centre, valid_from=dt.date(2020, 1, 1)
    )
    for weekday in range(7):
        AvailabilityRule.objects.create(
            schedule=agenda, weekday=weekday, start_time=dt.time(0), end_time=dt.time(23, 30)
        )
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    free = slots_search(
        clinician, SlotSearch(facility=net.centre, first_day=tomorrow, last_day=tomorrow)
    ).slots
    for person, slot in zip(Person.objects.all()[:10], free, strict=False):
        appointment_book(clinician, person=person.public_id, slot=slot.slot_id)

    client = FhirClient(users["integrator"])
    counts: dict[str, int] = {}
    for definition in registry.all_types():
        url = f"{definition.type}?_count=200"
        while url:
            bundle = client.get(url).json()  # the client validates the Bundle and every entry
            counts[definition.type] = counts.get(definition.type, 0) + len(bundle.get("entry", []))
            url = next(
                (
                    link["url"].split("/fhir/", 1)[1]
                    for link in bundle["link"]
                    if link["relation"] == "next"
                ),
                "",
            )
    print(f"validated {sum(counts.values())} resources: {counts}")
    assert all(counts[t.type] > 0 for t in registry.all_types()), counts
    assert sum(counts.values()) >= 1000, counts
