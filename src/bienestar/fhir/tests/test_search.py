"""Search: the parameters of each type, modifiers, prefixes, chains, paging, sorting, includes."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlparse

import pytest
from django.utils import timezone

from bienestar.access.models import AuditAction, AuditEvent
from bienestar.fhir import systems
from bienestar.fhir.tests.client import FhirClient
from bienestar.fhir.tests.conftest import CURP
from bienestar.people.tests.factories import PersonFactory

pytestmark = pytest.mark.django_db


def ids(response) -> list[str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.json()
    return [
        e["resource"]["id"]
        for e in response.json().get("entry", [])
        if e["search"]["mode"] == "match"
    ]


@pytest.fixture
def people(geo, jose):  # type: ignore[no-untyped-def]
    """José (1980-05-17, Oaxaca de Juárez) plus three more persons of Oaxaca."""
    return {
        "jose": jose,
        "ana": PersonFactory(
            territory=geo["oaxaca_centro"],
            given_names="Ana Sofía",
            first_surname="Martínez",
            second_surname="López",
            sex="F",
            birth_date=dt.date(1995, 11, 30),
        ),
        "luis": PersonFactory(
            territory=geo["oaxaca"],
            given_names="Luis",
            first_surname="de la Cruz",
            second_surname="",
            sex="M",
            birth_date=dt.date(1980, 1, 2),
        ),
        "sofia": PersonFactory(
            territory=geo["oaxaca_centro"],
            given_names="Sofía",
            first_surname="Lopez",
            second_surname="Ruiz",
            sex="F",
            birth_date=dt.date(2010, 5, 17),
        ),
    }


def pid(person) -> str:  # type: ignore[no-untyped-def]
    return str(person.public_id)


# --- Patient -----------------------------------------------------------------------------------------


def test_patient_by_identifier_with_and_without_system(users, people):
    client = FhirClient(users["clinician"])
    jose = people["jose"]

    assert ids(client.get("Patient", {"identifier": f"{systems.CURP}|{CURP}"})) == [pid(jose)]
    assert ids(client.get("Patient", {"identifier": CURP.lower()})) == [pid(jose)]
    national = f"{systems.NATIONAL_HEALTH_ID}|{jose.national_health_id}"
    assert ids(client.get("Patient", {"identifier": national})) == [pid(jose)]
    assert ids(client.get("Patient", {"identifier": f"{systems.IMSS_NSS}|{CURP}"})) == []
    assert ids(client.get("Patient", {"identifier": f"urn:unknown|{CURP}"})) == []


def test_patient_by_id(users, people):
    client = FhirClient(users["clinician"])
    both = f"{pid(people['ana'])},{pid(people['luis'])}"

    assert sorted(ids(client.get("Patient", {"_id": both}))) == sorted(
        [pid(people["ana"]), pid(people["luis"])]
    )


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"name": "lopez"}, {"jose", "ana", "sofia"}),  # any word, accents ignored
        ({"name": "SOF"}, {"ana", "sofia"}),
        ({"name:exact": "Sofía"}, {"ana", "sofia"}),
        ({"name:exact": "sofía"}, set()),
        ({"name:contains": "ope"}, {"jose", "ana", "sofia"}),
        ({"family": "cruz"}, {"luis"}),
        ({"family:exact": "López Hernández"}, {"jose"}),
        ({"family:exact": "López"}, {"jose"}),
        ({"family:exact": "Lopez"}, {"sofia"}),
        ({"given": "jos"}, {"jose"}),
        ({"given:exact": "Ana"}, {"ana"}),
        ({"given:contains": "fi"}, {"ana", "sofia"}),
        ({"gender": "female"}, {"ana", "sofia"}),
        ({"gender": "http://hl7.org/fhir/administrative-gender|male"}, {"jose", "luis"}),
        ({"name": "lopez", "gender": "female"}, {"ana", "sofia"}),  # AND
        ({"given": "luis,ana"}, {"luis", "ana"}),  # OR
    ],
)
def test_patient_names_and_gender(users, people, params, expected):
    found = set(ids(FhirClient(users["clinician"]).get("Patient", params)))

    assert found == {pid(people[k]) for k in expected}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1980-05-17", {"jose"}),
        ("eq1980-05-17", {"jose"}),
        ("1980", {"jose", "luis"}),
        ("1980-01", {"luis"}),
        ("ne1980-05-17", {"ana", "luis", "sofia"}),
        ("lt1980-05-17", {"luis"}),
        ("le1980-05-17", {"jose", "luis"}),
        ("gt1995-11-30", {"sofia"}),
        ("ge1995-11-30", {"ana", "sofia"}),
        ("sa1980", {"ana", "sofia"}),
        ("eb1995", {"jose", "luis"}),
    ],
)
def test_patient_birthdate_prefixes(users, people, value, expected):
    found = set(ids(FhirClient(users["clinician"]).get("Patient", {"birthdate": value})))

    assert found == {pid(people[k]) for k in expected}


def test_birthdate_range_with_two_prefixes(users, people):
    params = [("birthdate", "ge1980-01-01"), ("birthdate", "lt1981-01-01")]
    found = set(
        ids(
            FhirClient(users["clinician"]).get("Patient?" + "&".join(f"{k}={v}" for k, v in params))
        )
    )

    assert found == {pid(people["jose"]), pid(people["luis"])}


def test_patient_by_address_state(users, people, maria):
    client = FhirClient(users["national_coordinator"])

    oaxaca = set(ids(client.get("Patient", {"address-state": "oaxaca", "_count": "50"})))
    hidalgo = set(ids(client.get("Patient", {"address-state:exact": "Hidalgo"})))

    assert oaxaca == {pid(p) for p in people.values()}
    assert hidalgo == {pid(maria)}


def test_bad_values_are_operation_outcomes(users, people):
    client = FhirClient(users["clinician"])

    for params in (
        {"birthdate": "yesterday"},
        {"birthdate": "ap1980"},
        {"_count": "many"},
        {"given:sounds-like": "jose"},
        {"_total": "maybe"},
    ):
        response = client.get("Patient", params)
        assert response.status_code == 400, params
        assert response.json()["issue"][0]["severity"] == "error"


def test_unknown_parameters_are_ignored_and_left_out_of_the_self_link(users, people):
    client = FhirClient(users["clinician"])

    response = client.get("Patient", {"family": "cruz", "shoe-size": "42"})

    assert ids(response) == [pid(people["luis"])]
    self_link = response.json()["link"][0]["url"]
    assert "family=cruz" in self_link and "shoe-size" not in self_link


def test_strict_handling_refuses_unknown_parameters(users, people):
    response = FhirClient(users["clinician"]).get(
        "Patient", {"shoe-size": "42"}, Prefer="handling=strict"
    )

    assert response.status_code == 400
    assert "shoe-size" in response.json()["issue"][0]["diagnostics"]


def test_paging_with_count_and_links(users, people):
    client = FhirClient(users["clinician"])
    seen: list[str] = []
    url = "Patient?_count=3&_sort=birthdate"
    pages = 0
    while url:
        response = client.get(url)
        bundle = response.json()
        seen += ids(response)
        links = {link["relation"]: link["url"] for link in bundle["link"]}
        assert ("previous" in links) == (pages > 0)
        url = links.get("next", "").split("/fhir/", 1)[-1] if "next" in links else ""
        pages += 1
    assert pages == 2
    assert seen == [pid(people[k]) for k in ("luis", "jose", "ana", "sofia")]
    # The last page knows the total without counting.
    assert bundle["total"] == 4


def test_sort_descending_and_total(users, people):
    client = FhirClient(users["clinician"])

    response = client.get("Patient", {"_sort": "-birthdate", "_count": "2", "_total": "accurate"})

    assert ids(response) == [pid(people["sofia"]), pid(people["ana"])]
    assert response.json()["total"] == 4
    estimate = client.get("Patient", {"_count": "1", "_total": "estimate"}).json()
    assert isinstance(estimate["total"], int)


def test_summary_count_and_elements(users, people):
    client = FhirClient(users["clinician"])

    counted = client.get("Patient", {"name": "lopez", "_summary": "count"}).json()
    assert counted["total"] == 3 and "entry" not in counted

    subset = client.get("Patient", {"_id": pid(people["ana"]), "_elements": "birthDate"}).json()
    resource = subset["entry"][0]["resource"]
    assert set(resource) == {"resourceType", "id", "meta", "birthDate"}
    assert resource["meta"]["tag"][0]["code"] == "SUBSETTED"


def test_post_search_takes_form_parameters(users, people):
    response = FhirClient(users["clinician"]).post_form("Patient/_search", {"family": "cruz"})

    assert ids(response) == [pid(people["luis"])]


def test_search_audits_each_resource_returned(users, people):
    FhirClient(users["clinician"]).get("Patient", {"name": "lopez"})

    rows = AuditEvent.objects.filter(action=AuditAction.SEARCH, resource_type="Person")
    assert sorted(rows.values_list("resource_id", flat=True)) == sorted(
        pid(people[k]) for k in ("jose", "ana", "sofia")
    )
    assert all(r.query["params"] == [["name", "lopez"]] for r in rows)


def test_identifier_values_are_not_written_to_the_audit_query(users, people):
    FhirClient(users["clinician"]).get("Patient", {"identifier": CURP})

    event = AuditEvent.objects.get(action=AuditAction.SEARCH)
    assert CURP not in str(event.query)


def test_patient_search_runs_a_fixed_number_of_queries(
    users, people, geo, django_assert_max_num_queries
):
    client = FhirClient(users["clinician"])
    client.get("Patient")  # warm-up: caches of the first request
    with django_assert_max_num_queries(12) as few:
        client.get("Patient", {"_count": "2"})
    for n in range(10):
        PersonFactory(territory=geo["oaxaca_centro"], given_names=f"Extra {n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("Patient", {"_count": "14"})


# --- clinical ----------------------------------------------------------------------------------------


def test_encounter_parameters(users, record, jose, net):
    client = FhirClient(users["clinician"])
    enc = str(record.encounter.public_id)
    day = timezone.localdate(record.encounter.start).isoformat()

    assert ids(client.get("Encounter", {"patient": pid(jose)})) == [enc]
    assert ids(client.get("Encounter", {"subject": f"Patient/{pid(jose)}"})) == [enc]
    assert ids(client.get("Encounter", {"date": day})) == [enc]
    assert ids(client.get("Encounter", {"date": f"gt{day}"})) == []
    assert ids(client.get("Encounter", {"date": f"ge{day}"})) == [enc]
    assert ids(client.get("Encounter", {"class": "AMB"})) == [enc]
    assert ids(client.get("Encounter", {"class": f"{systems.ACT_CODE}|EMER"})) == []
    assert ids(
        client.get("Encounter", {"service-provider": f"Organization/{net.centre.public_id}"})
    ) == [enc]
    assert ids(client.get("Encounter", {"status": "finished"})) == [enc]
    assert ids(client.get("Encounter", {"status:not": "finished"})) == []
    assert ids(client.get("Encounter", {"patient.identifier": f"{systems.CURP}|{CURP}"})) == [enc]
    assert ids(client.get("Encounter", {"patient:Patient.family": "lópez"})) == [enc]
    assert ids(client.get("Encounter", {"patient": "00000000-0000-4000-8000-000000000000"})) == []


def test_an_open_encounter_matches_every_later_date(users, net, codes, jose):
    from bienestar.access.tests.factories import actor_for
    from bienestar.clinical import services

    start = timezone.now() - dt.timedelta(days=10)
    open_one = services.encounter_open(
        actor_for(users["clinician"]),
        person=jose,
        encounter_class="ambulatory",
        reason_text="Seguimiento",
        start=start,
    )
    client = FhirClient(users["clinician"])
    later = (timezone.localdate() - dt.timedelta(days=1)).isoformat()

    assert ids(client.get("Encounter", {"date": f"ge{later}"})) == [str(open_one.public_id)]
    assert ids(client.get("Encounter", {"date": f"eb{later}"})) == []


def test_observation_parameters(users, record, jose):
    client = FhirClient(users["clinician"])
    loinc = systems.LOINC

    panel = ids(client.get("Observation", {"code": f"{loinc}|85354-9"}))
    assert len(panel) == 1
    assert len(ids(client.get("Observation", {"patient": pid(jose)}))) == 5
    assert len(ids(client.get("Observation", {"category": "vital-signs"}))) == 4
    assert len(ids(client.get("Observation", {"category": "laboratory"}))) == 1
    assert len(ids(client.get("Observation", {"code": "29463-7", "value-quantity": "80"}))) == 1
    assert len(ids(client.get("Observation", {"value-quantity": "gt100"}))) == 2  # 142, 170
    assert len(ids(client.get("Observation", {"value-quantity": f"170|{systems.UCUM}|cm"}))) == 1
    assert len(ids(client.get("Observation", {"value-quantity": "170||kg"}))) == 0
    assert len(ids(client.get("Observation", {"value-quantity": "ap75"}))) == 1  # 80 kg
    day = timezone.localdate(record.encounter.start).isoformat()
    assert len(ids(client.get("Observation", {"date": day}))) == 5
    assert ids(client.get("Observation", {"code": "8480-6"})) == []  # only inside its panel


def test_condition_parameters(users, record, jose):
    client = FhirClient(users["clinician"])

    assert len(ids(client.get("Condition", {"patient": pid(jose)}))) == 2
    assert len(ids(client.get("Condition", {"code": f"{systems.ICD10}|E11"}))) == 1
    assert len(ids(client.get("Condition", {"code": "I10"}))) == 1
    assert len(ids(client.get("Condition", {"clinical-status": "active"}))) == 2
    assert len(ids(client.get("Condition", {"clinical-status": "resolved"}))) == 0
    assert len(ids(client.get("Condition", {"encounter": str(record.encounter.public_id)}))) == 2


def test_medication_request_and_dispense_parameters(users, record, jose):
    client = FhirClient(users["pharmacist"])
    line = record.prescription.lines.get()
    day = timezone.localdate(record.prescription.authored_at).isoformat()

    assert ids(client.get("MedicationRequest", {"patient": pid(jose)})) == [str(line.public_id)]
    assert ids(client.get("MedicationRequest", {"status": "active"})) == [str(line.public_id)]
    assert ids(client.get("MedicationRequest", {"status": "completed"})) == []
    assert ids(client.get("MedicationRequest", {"authoredon": day})) == [str(line.public_id)]
    assert ids(client.get("MedicationRequest", {"medication": "Medication/010.000.5165.00"})) == [
        str(line.public_id)
    ]
    dispensed = record.dispense.lines.get()
    assert ids(client.get("MedicationDispense", {"patient": pid(jose)})) == [
        str(dispensed.public_id)
    ]
    assert ids(client.get("MedicationDispense", {"prescription": str(line.public_id)})) == [
        str(dispensed.public_id)
    ]
    assert ids(client.get("MedicationDispense", {"status": "completed"})) == [
        str(dispensed.public_id)
    ]
    assert ids(client.get("MedicationDispense", {"whenhandedover": f"ge{day}"})) == [
        str(dispensed.public_id)
    ]


# --- includes ----------------------------------------------------------------------------------------


def test_include_and_revinclude(users, record, jose):
    client = FhirClient(users["clinician"])

    included = client.get("Encounter", {"_include": "Encounter:patient"}).json()
    modes = [(e["resource"]["resourceType"], e["search"]["mode"]) for e in included["entry"]]
    assert modes == [("Encounter", "match"), ("Patient", "include")]

    rev = client.get(
        "Patient",
        [
            ("_id", pid(jose)),
            ("_revinclude", "Encounter:patient"),
            ("_revinclude", "Observation:patient"),
        ],
    ).json()
    kinds = [e["resource"]["resourceType"] for e in rev["entry"]]
    assert kinds.count("Patient") == 1 and kinds.count("Encounter") == 1
    assert kinds.count("Observation") == 5
    included_rows = AuditEvent.objects.filter(query__fhir="include")
    assert included_rows.count() == 1 + 1 + 5


def test_include_of_a_type_the_role_may_not_read_is_a_warning(users, record, jose):
    """The pharmacist may read prescriptions but not encounters."""
    bundle = (
        FhirClient(users["pharmacist"])
        .get("Patient", [("_id", pid(jose)), ("_revinclude", "Encounter:patient")])
        .json()
    )

    outcome = [e for e in bundle["entry"] if e["search"]["mode"] == "outcome"]
    assert outcome and outcome[0]["resource"]["issue"][0]["severity"] == "warning"
    assert not [e for e in bundle["entry"] if e["resource"]["resourceType"] == "Encounter"]


def test_medication_request_includes_its_medication(users, record):
    bundle = (
        FhirClient(users["pharmacist"])
        .get("MedicationRequest", {"_include": "MedicationRequest:medication"})
        .json()
    )

    assert [e["resource"]["resourceType"] for e in bundle["entry"]] == [
        "MedicationRequest",
        "Medication",
    ]


def test_next_link_parses_back_to_the_same_query(users, people):
    bundle = (
        FhirClient(users["clinician"]).get("Patient", {"gender": "female", "_count": "1"}).json()
    )

    next_url = next(link["url"] for link in bundle["link"] if link["relation"] == "next")
    query = parse_qs(urlparse(next_url).query)
    assert query == {"gender": ["female"], "_count": ["1"], "_offset": ["1"]}
