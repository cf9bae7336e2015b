"""The mappers against golden files: pure functions (no query), R4B-valid output, and the way back
(FHIR → domain input) for the writable types, with the path of each problem.

To regenerate the golden files after an intended change: BIENESTAR_UPDATE_GOLDEN=1 pytest <this>.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bienestar.clinical.models import (
    AllergyIntolerance,
    Condition,
    Encounter,
    Immunization,
    Observation,
)
from bienestar.facilities.models import Facility
from bienestar.fhir import systems
from bienestar.fhir.errors import MappingError
from bienestar.fhir.mappers.allergy import allergy_to_fhir
from bienestar.fhir.mappers.common import split_family
from bienestar.fhir.mappers.condition import condition_from_fhir, condition_to_fhir
from bienestar.fhir.mappers.encounter import encounter_from_fhir, encounter_to_fhir
from bienestar.fhir.mappers.immunization import immunization_to_fhir
from bienestar.fhir.mappers.medication import medication_to_fhir
from bienestar.fhir.mappers.medication_request import (
    medication_dispense_to_fhir,
    medication_request_to_fhir,
)
from bienestar.fhir.mappers.observation import observation_from_fhir, observation_to_fhir
from bienestar.fhir.mappers.organization import location_to_fhir, organization_to_fhir
from bienestar.fhir.mappers.patient import patient_from_fhir, person_to_fhir
from bienestar.fhir.mappers.practitioner import position_to_fhir, practitioner_to_fhir
from bienestar.fhir.tests.client import assert_valid
from bienestar.people.models import Person, PersonAddress, PersonContact, PersonIdentifier
from bienestar.prescribing.models import Dispense, DispenseLine, Prescription, PrescriptionLine
from bienestar.terminology.models import Icd10Code, Medicine
from bienestar.territories.models import Territory
from bienestar.workforce.models import Position, Practitioner, Specialty

pytestmark = pytest.mark.django_db

GOLDEN = Path(__file__).parent / "golden"
UTC = dt.UTC
AT = dt.datetime(2025, 3, 14, 16, 30, 5, 123456, tzinfo=UTC)
DAY = dt.date(2025, 3, 14)


def uid(n: int) -> uuid.UUID:
    return uuid.UUID(f"00000000-0000-4000-8000-{n:012d}")


def golden(name: str, resource: dict[str, Any]) -> None:
    """`resource` equals the golden file, and is valid R4."""
    assert_valid(resource)
    path = GOLDEN / f"{name}.json"
    text = json.dumps(resource, ensure_ascii=False, indent=2) + "\n"
    if os.environ.get("BIENESTAR_UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert path.exists(), f"missing golden file {path.name} (BIENESTAR_UPDATE_GOLDEN=1 writes it)"
    assert json.loads(text) == json.loads(path.read_text())


@pytest.fixture
def no_queries():  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as ctx:
        yield
    assert ctx.captured_queries == []


TERRITORIES = {
    "MX": Territory(path="MX", name="México"),
    "MX.20": Territory(path="MX.20", name="Oaxaca"),
    "MX.20.067": Territory(path="MX.20.067", name="Oaxaca de Juárez"),
    "MX.20.067.0001": Territory(path="MX.20.067.0001", name="Oaxaca de Juárez (localidad)"),
}


def person(**overrides: Any) -> Person:
    values: dict[str, Any] = {
        "public_id": uid(1),
        "national_health_id": "JFTBZDB7SQ4",
        "given_names": "José Luis",
        "first_surname": "de la Cruz",
        "second_surname": "Hernández",
        "sex": "M",
        "birth_date": dt.date(1980, 5, 17),
        "territory": TERRITORIES["MX.20.067"],
        "status": "active",
        "version": 3,
        "updated_at": AT,
    }
    values.update(overrides)
    return Person(**values)


def facility() -> Facility:
    return Facility(
        public_id=uid(20),
        clues="OCIMB000123",
        name="Centro de Salud Oaxaca",
        institution="IMSS_BIENESTAR",
        facility_type="health_centre",
        territory=TERRITORIES["MX.20.067"],
        latitude=Decimal("17.061234"),
        longitude=Decimal("-96.725678"),
        address="Calle Reforma 10",
        updated_at=AT,
    )


def doctor() -> Practitioner:
    return Practitioner(
        public_id=uid(30),
        given_names="Laura",
        first_surname="Méndez",
        second_surname="Ruiz",
        licence_number="12345678",
        updated_at=AT,
    )


def diabetes() -> Icd10Code:
    return Icd10Code(
        code="E11", code_nodot="E11", level=3, description_es="Diabetes mellitus tipo 2"
    )


def metformin() -> Medicine:
    return Medicine(
        key="010.000.5165.00", generic_name="Metformina", form="Tableta", strength="850 mg"
    )


def encounter() -> Encounter:
    return Encounter(
        public_id=uid(40),
        version=2,
        updated_at=AT,
        person=person(),
        facility=facility(),
        practitioner=doctor(),
        encounter_class="ambulatory",
        status="finished",
        reason_text="Control de diabetes",
        reason_code=diabetes(),
        start=AT - dt.timedelta(minutes=20),
        end=AT,
    )


# --- out ---------------------------------------------------------------------------------------------


def test_patient(no_queries):
    resource = person_to_fhir(
        person(deceased_date=dt.date(2025, 1, 2)),
        identifiers=[PersonIdentifier(system="curp", value="LOHJ800517HOCPRS08")],
        addresses=[
            PersonAddress(
                use="home",
                line="Av. Juárez 5",
                neighbourhood="Centro",
                postal_code="68000",
                territory=TERRITORIES["MX.20.067.0001"],
                start=dt.date(2020, 1, 1),
            )
        ],
        contacts=[PersonContact(system="mobile", value="9511234567")],
        territories=TERRITORIES,
    )
    golden("patient", resource)
    assert resource["identifier"][1]["system"] == systems.CURP


def test_merged_patient_points_at_the_survivor(no_queries):
    resource = person_to_fhir(
        person(status="merged"),
        identifiers=[],
        addresses=[],
        contacts=[],
        territories=TERRITORIES,
        survivor_id=uid(2),
    )
    golden("patient_merged", resource)
    assert resource["active"] is False
    assert resource["link"] == [
        {"other": {"reference": f"Patient/{uid(2)}"}, "type": "replaced-by"}
    ]


def test_encounter(no_queries):
    golden("encounter", encounter_to_fhir(encounter()))


def test_condition(no_queries):
    condition = Condition(
        public_id=uid(50),
        version=1,
        updated_at=AT,
        person=person(),
        encounter=encounter(),
        code=diabetes(),
        clinical_status="active",
        verification_status="confirmed",
        rank=1,
        onset_date=dt.date(2020, 6, 1),
        recorded_at=AT,
        note="Diagnóstico de 2020",
    )
    golden("condition", condition_to_fhir(condition))


def test_condition_entered_in_error_has_no_clinical_status(no_queries):
    condition = Condition(
        public_id=uid(51),
        version=2,
        updated_at=AT,
        person=person(),
        code=diabetes(),
        clinical_status="active",
        verification_status="entered-in-error",
        recorded_at=AT,
    )
    resource = condition_to_fhir(condition)
    assert_valid(resource)
    assert "clinicalStatus" not in resource
    assert resource["category"][0]["coding"][0]["code"] == "problem-list-item"


def _observation(code: str, value: str | None, unit: str, n: int) -> Observation:
    return Observation(
        public_id=uid(n),
        version=1,
        updated_at=AT,
        created_at=AT,
        person=person(),
        encounter=encounter(),
        code=code,
        value=Decimal(value) if value else None,
        unit=unit,
        status="final",
        effective_at=AT,
    )


def test_blood_pressure_is_one_observation_with_two_components(no_queries):
    panel = _observation("85354-9", None, "", 60)
    parts = [
        _observation("8462-4", "85", "mm[Hg]", 62),
        _observation("8480-6", "130", "mm[Hg]", 61),
    ]
    resource = observation_to_fhir(panel, components=parts)
    golden("observation_bp", resource)
    assert [c["code"]["coding"][0]["code"] for c in resource["component"]] == ["8480-6", "8462-4"]


def test_observations_of_value_and_laboratory(no_queries):
    golden("observation_weight", observation_to_fhir(_observation("29463-7", "80.25", "kg", 63)))
    glucose = observation_to_fhir(_observation("2339-0", "142", "mg/dL", 64))
    assert glucose["category"][0]["coding"][0]["code"] == "laboratory"
    assert glucose["valueQuantity"] == {
        "value": 142,
        "unit": "mg/dL",
        "system": systems.UCUM,
        "code": "mg/dL",
    }


def test_allergy_and_immunization(no_queries):
    allergy = AllergyIntolerance(
        public_id=uid(70),
        version=1,
        updated_at=AT,
        person=person(),
        medicine=metformin(),
        substance="Metformina",
        allergy_type="intolerance",
        category="medication",
        criticality="low",
        reaction="Diarrea",
        status="active",
        recorded_at=AT,
    )
    golden("allergy", allergy_to_fhir(allergy))
    dose = Immunization(
        public_id=uid(71),
        version=1,
        updated_at=AT,
        person=person(),
        facility=facility(),
        vaccine="Anti influenza estacional",
        dose="anual",
        lot="L123",
        occurrence_date=DAY,
        primary_source=True,
        schedule_fit="on_schedule",
        status="completed",
        recorded_at=AT,
    )
    golden("immunization", immunization_to_fhir(dose))


def test_registries(no_queries):
    specialty = Specialty(code="family_medicine", name="Medicina familiar")
    golden("practitioner", practitioner_to_fhir(doctor(), specialties=[specialty]))
    position = Position(
        public_id=uid(31),
        updated_at=AT,
        facility=facility(),
        specialty=specialty,
        practitioner=doctor(),
        since=dt.date(2024, 1, 1),
    )
    golden("practitioner_role", position_to_fhir(position))
    golden("organization", organization_to_fhir(facility(), territories=TERRITORIES))
    golden("location", location_to_fhir(facility(), territories=TERRITORIES))
    golden("medication", medication_to_fhir(metformin()))


def _line(status: str = "partially_dispensed") -> PrescriptionLine:
    prescription = Prescription(
        public_id=uid(80),
        updated_at=AT,
        person=person(),
        facility=facility(),
        encounter=encounter(),
        prescriber=doctor(),
        authored_at=AT,
        valid_until=DAY + dt.timedelta(days=15),
        status="partially_dispensed",
        note="Tomar con alimentos",
    )
    return PrescriptionLine(
        public_id=uid(81),
        updated_at=AT,
        prescription=prescription,
        person=person(),
        position=1,
        medicine=metformin(),
        dose="1 tableta",
        frequency="cada 12 horas",
        duration_days=30,
        quantity=60,
        dispensed_quantity=30,
        status=status,
    )


def test_medication_request_and_dispense(no_queries):
    golden("medication_request", medication_request_to_fhir(_line(), today=DAY))
    dispensed = DispenseLine(
        public_id=uid(90),
        updated_at=AT,
        dispense=Dispense(public_id=uid(91), at=AT, pharmacy=facility()),
        prescription_line=_line(),
        person=person(),
        quantity=30,
        unfilled_quantity=30,
        unfilled_reason="out_of_stock",
    )
    golden("medication_dispense", medication_dispense_to_fhir(dispensed))


@pytest.mark.parametrize(
    ("today", "line_status", "expected"),
    [
        (DAY, "partially_dispensed", "active"),
        (DAY + dt.timedelta(days=16), "partially_dispensed", "stopped"),
        (DAY + dt.timedelta(days=16), "completed", "completed"),
    ],
)
def test_medication_request_status_follows_the_line_and_the_validity(today, line_status, expected):
    assert medication_request_to_fhir(_line(line_status), today=today)["status"] == expected


# --- in ----------------------------------------------------------------------------------------------


def test_patient_round_trip(no_queries):
    resource = person_to_fhir(
        person(),
        identifiers=[PersonIdentifier(system="curp", value="LOHJ800517HOCPRS08")],
        addresses=[],
        contacts=[],
        territories=TERRITORIES,
    )
    given = patient_from_fhir(resource)
    assert (given.given_names, given.first_surname, given.second_surname) == (
        "José Luis",
        "de la Cruz",
        "Hernández",
    )
    assert (given.sex, given.birth_date, given.territory_path) == (
        "M",
        dt.date(1980, 5, 17),
        "MX.20.067",
    )
    assert given.identifiers == [("curp", "LOHJ800517HOCPRS08")]
    assert given.national_health_id == "JFTBZDB7SQ4"


@pytest.mark.parametrize(
    ("family", "expected"),
    [
        ("López Hernández", ("López", "Hernández")),
        ("de la Cruz Pérez", ("de la Cruz", "Pérez")),
        ("García", ("García", "")),
        ("Pérez del Valle", ("Pérez", "del Valle")),
    ],
)
def test_surnames_without_extensions_keep_their_particles(family, expected):
    assert split_family(family) == expected


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"gender": "robot"}, "Patient.gender"),
        ({"birthDate": "1980"}, "Patient.birthDate"),
        ({"name": []}, "Patient.name"),
        ({"name": [{"family": "López"}]}, "Patient.name[0].given"),
        (
            {"identifier": [{"value": "1"}]},
            "Patient.identifier[0].system",
        ),
        (
            {"identifier": [{"system": "urn:oid:2.16.840.1.113883.4.629", "value": "X"}]},
            "Patient.identifier[0].value",
        ),
        ({"deceasedBoolean": True}, "Patient.deceasedBoolean"),
    ],
)
def test_patient_that_cannot_be_a_person_names_the_element(change, path):
    data = {
        "resourceType": "Patient",
        "name": [{"family": "López", "given": ["José"]}],
        "gender": "male",
        "birthDate": "1980-05-17",
        **change,
    }
    with pytest.raises(MappingError) as caught:
        patient_from_fhir(data)
    assert caught.value.path == path


def test_encounter_condition_observation_round_trip(no_queries):
    given = encounter_from_fhir(encounter_to_fhir(encounter()))
    assert (given.person_id, given.encounter_class, given.status, given.reason_code) == (
        str(uid(1)),
        "ambulatory",
        "finished",
        "E11",
    )
    assert given.facility_id == str(uid(20)) and given.practitioner_id == str(uid(30))
    condition = condition_from_fhir(
        {
            "resourceType": "Condition",
            "code": {"coding": [{"system": systems.ICD10, "code": "I10"}]},
            "subject": {"reference": f"https://example.org/fhir/Patient/{uid(1)}"},
            "onsetDateTime": "2020-01-01",
        }
    )
    assert (condition.code, condition.person_id, condition.clinical_status) == (
        "I10",
        str(uid(1)),
        "active",
    )
    panel = observation_to_fhir(
        _observation("85354-9", None, "", 60),
        components=[
            _observation("8480-6", "130", "mm[Hg]", 61),
            _observation("8462-4", "85", "mm[Hg]", 62),
        ],
    )
    observed = observation_from_fhir(panel)
    assert observed.values == {"systolic": Decimal("130"), "diastolic": Decimal("85")}


@pytest.mark.parametrize(
    ("data", "path"),
    [
        (
            {
                "code": {"coding": [{"system": systems.LOINC, "code": "29463-7"}]},
                "valueQuantity": {"value": 80, "system": systems.UCUM, "code": "[lb_av]"},
            },
            "Observation.valueQuantity.code",
        ),
        (
            {"code": {"coding": [{"system": systems.LOINC, "code": "1234-5"}]}},
            "Observation.code",
        ),
        (
            {"code": {"coding": [{"system": "http://snomed.info/sct", "code": "27113001"}]}},
            "Observation.code",
        ),
    ],
)
def test_observation_refusals_name_the_element(data, path):
    with pytest.raises(MappingError) as caught:
        observation_from_fhir(
            {"resourceType": "Observation", "subject": {"reference": f"Patient/{uid(1)}"}, **data}
        )
    assert caught.value.path == path
