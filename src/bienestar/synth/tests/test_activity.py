"""Synthetic activity (`bienestar synth` with months of activity) on the real PostgreSQL.

A tiny reference world (reference.py) plus the terminology the generator needs: the shipped core
catalogue of medicines and the CIE-10 codes it uses, except A09.9, whose category A09 stands in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.db.models import F

from bienestar.access.actor import Actor
from bienestar.access.models import AuditEvent, User
from bienestar.access.roles import Role
from bienestar.clinical.models import Condition, Encounter, Observation
from bienestar.clinical.vitals import BP_PANEL, BY_CODE
from bienestar.core.errors import Conflict
from bienestar.inventory.models import Lot, StockMovement
from bienestar.ops.checks import CHECKS
from bienestar.people.models import Person
from bienestar.prescribing.fill_rate import fill_rate_by_facility
from bienestar.prescribing.models import DispenseLine, Prescription, PrescriptionLine
from bienestar.reference.codes import load_medicines_package
from bienestar.reference.core import FileResult
from bienestar.synth import regimens as rx
from bienestar.synth.activity import CodeBook, PlannedLine, PlannedPrescription
from bienestar.synth.activity_writer import SYSTEM_USERNAME
from bienestar.synth.generate import build_network
from bienestar.synth.models import SynthProfile, SynthRun
from bienestar.synth.pharmacy import Pharmacy, Stock
from bienestar.synth.tests.reference import make_world
from bienestar.terminology.models import Icd10Code
from bienestar.territories.models import Territory
from bienestar.workforce.models import Position

N = 1500
MONTHS = 3
SEED = 3
AS_OF = dt.date(2026, 1, 1)
MISSING = "A09.9"  # left out of the loaded codes: the generator must fall back to A09


class _Rollback(Exception):
    pass


def activity_world() -> None:
    make_world()
    load_medicines_package(FileResult(label="medicines_core.csv"))
    codes = (set(rx.CODES_USED) - {MISSING}) | {"A09", "E11"}
    for code in sorted(codes):
        Icd10Code.objects.create(
            code=code,
            code_nodot=code.replace(".", ""),
            level=3 if len(code) == 3 else 4,
            description_es=f"Diagnóstico {code}",
            source="test",
        )


def _uninsured() -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT person_id FROM people_personaffiliation GROUP BY person_id "
            "HAVING bool_and(scheme = 'none')"
        )
        return {row[0] for row in cursor.fetchall()}


@pytest.fixture
def network(db):  # type: ignore[no-untyped-def]
    activity_world()
    return build_network(people=N, seed=SEED, months=MONTHS, as_of=AS_OF)


@pytest.mark.django_db
def test_generated_activity_satisfies_every_verify_invariant(network):
    counts = network.counts
    for key in ("encounters", "conditions", "observations", "prescriptions", "dispenses", "lots"):
        assert counts[key] > 0, key
    assert counts["stock_movements"] == StockMovement.objects.count()
    for name, check in CHECKS:
        assert check() == [], name
    # Stock-outs: some lines were handed over in part, some not at all, and some pending balances
    # were filled at a later visit, within the prescription's validity.
    short = DispenseLine.objects.filter(unfilled_quantity__gt=0, unfilled_reason="out_of_stock")
    assert short.filter(quantity__gt=0).exists()
    assert short.filter(quantity=0).exists()
    later = PrescriptionLine.objects.filter(
        status="completed", dispense_lines__unfilled_quantity__gt=0
    )
    assert later.exists()
    for line in later.select_related("prescription")[:50]:
        assert line.fully_dispensed_at.date() <= line.prescription.valid_until
    # No lot is dispensed after it expired; expired units are written off.
    assert not StockMovement.objects.filter(kind="dispense", at__date__gt=F("lot__expiry")).exists()


@pytest.mark.django_db
def test_diagnoses_match_each_persons_ground_truth(network):
    profiles = {p.person_id: p for p in SynthProfile.objects.all()}
    uninsured = _uninsured()
    by_person: dict[int, set[str]] = defaultdict(set)
    onsets: dict[tuple[int, str], set[dt.date | None]] = defaultdict(set)
    for person_id, code, onset in Condition.objects.values_list(
        "person_id", "code_id", "onset_date"
    ):
        by_person[person_id].add(code)
        onsets[person_id, code[:3]].add(onset)
    seen = set(Encounter.objects.values_list("person_id", flat=True))

    diabetics = [p for p in profiles.values() if p.diabetes_diagnosed]
    hypertensives = [p for p in profiles.values() if p.hypertension_diagnosed]
    assert len(diabetics) >= 20 and len(hypertensives) >= 30
    for p in diabetics:
        has = any(c.startswith("E11") for c in by_person[p.person_id])
        # Every diagnosed diabetic the network serves has E11 (insured ones may not come at all).
        assert has or (p.person_id not in uninsured and p.person_id not in seen)
        if has:
            assert onsets[p.person_id, "E11"] == {p.diabetes_since}
    for p in hypertensives:
        assert "I10" in by_person[p.person_id] or (
            p.person_id not in uninsured and p.person_id not in seen
        )
    for person_id, codes in by_person.items():
        truth = profiles[person_id]
        if any(c.startswith("E11") for c in codes) or "O24.1" in codes:
            assert truth.diabetes and truth.diabetes_diagnosed
        if "I10" in codes or "O10.0" in codes:
            assert truth.hypertension and truth.hypertension_diagnosed
        if codes & {"Z34.9", "Z35.9", "Z35.6", "O24.1", "O10.0", "O23.4"}:
            assert truth.pregnant
    # A missing 4-character code is replaced by its category.
    assert Condition.objects.filter(code_id="A09").exists()
    assert not Icd10Code.objects.filter(code=MISSING).exists()
    # The principal diagnosis is the encounter's reason.
    principal = dict(Condition.objects.filter(rank=1).values_list("encounter_id", "code_id"))
    for encounter_id, reason in Encounter.objects.values_list("id", "reason_code_id"):
        assert principal.get(encounter_id) == reason


@pytest.mark.django_db
def test_vitals_are_within_the_clinical_ranges_and_near_the_truth(network):
    rows = Observation.objects.exclude(code=BP_PANEL).values_list(
        "person_id", "code", "value", "unit"
    )
    assert rows.count() > 1000
    for _person, code, value, unit in rows:
        spec = BY_CODE[code]
        assert unit == spec.unit
        assert spec.minimum <= value <= spec.maximum, (code, value)
        assert value == value.quantize(spec.quantum)
    assert not Observation.objects.filter(code=BP_PANEL, value__isnull=False).exists()
    # Blood pressure follows each person's true values, with visit-to-visit noise.
    profiles = dict(SynthProfile.objects.values_list("person_id", "systolic_bp"))
    systolic = Observation.objects.filter(code="8480-6").values_list("person_id", "value")
    gaps = [abs(float(v) - profiles[p]) for p, v in systolic]
    assert sum(gaps) / len(gaps) < 10
    # Diabetics' glucose is high, and everyone's weight is near the profile's (adults).
    glucose = Observation.objects.filter(code="2339-0")
    diabetics = set(SynthProfile.objects.filter(diabetes=True).values_list("person_id", flat=True))
    values = [v for p, v in glucose.values_list("person_id", "value") if p in diabetics]
    assert values and sum(values) / len(values) > Decimal(126)


@pytest.mark.django_db
def test_encounters_are_at_the_usual_centre_with_one_of_its_doctors(network):
    usual = dict(SynthProfile.objects.values_list("person_id", "facility_id"))
    staffed = set(
        Position.objects.filter(practitioner__isnull=False, specialty__is_medical=True).values_list(
            "facility_id", "practitioner_id"
        )
    )
    encounters = Encounter.objects.values_list(
        "person_id", "facility_id", "practitioner_id", "start"
    )
    births = dict(Person.objects.values_list("id", "birth_date"))
    start = dt.date(2025, 10, 1)
    for person_id, facility_id, practitioner_id, at in encounters:
        assert facility_id == usual[person_id]
        assert practitioner_id is None or (facility_id, practitioner_id) in staffed
        assert start <= at.date() <= AS_OF and at.date() >= births[person_id]
    assert Encounter.objects.exclude(practitioner=None).count() > 0.9 * len(encounters)
    assert set(Encounter.objects.values_list("recorded_by__username", flat=True)) == {
        SYSTEM_USERNAME
    }
    # One audit row for the whole network (the run's), not one per synthetic record.
    assert AuditEvent.objects.count() == 1
    run = SynthRun.objects.get()
    assert "bitácora" in run.summary["activity"]["provenance"]
    assert run.summary["activity"]["from"] == "2025-10-01"


@pytest.mark.django_db
def test_fill_rates_differ_between_facilities(network):
    user = User.objects.create(
        username="central",
        role=Role.NATIONAL_COORDINATOR,
        territory=Territory.objects.get(path="MX"),
    )
    rates = fill_rate_by_facility(
        Actor(user=user, channel="test"),
        date_from=dt.date(2025, 10, 1),
        date_to=AS_OF,
        territory_path="MX",
        today=AS_OF,
    )
    sizable = [r.line_rate for r in rates if r.lines_prescribed >= 30 and r.line_rate is not None]
    assert len(sizable) >= 3
    assert min(sizable) < Decimal("0.8")
    assert max(sizable) > Decimal("0.9")
    summary = SynthRun.objects.get().summary["activity"]["fill_rate"]
    assert summary["min"] == pytest.approx(float(min(sizable)), abs=1e-4)


def digest() -> str:
    """The activity that must be identical between two runs with the same seed (ids aside)."""
    queries = [
        "SELECT e.public_id, p.national_health_id, f.clues, x.licence_number, e.encounter_class,"
        " e.reason_text, e.reason_code_id, e.start, e.end FROM clinical_encounter e"
        " JOIN people_person p ON p.id = e.person_id JOIN facilities_facility f ON f.id = e.facility_id"
        " LEFT JOIN workforce_practitioner x ON x.id = e.practitioner_id ORDER BY e.public_id",
        "SELECT c.public_id, e.public_id, c.code_id, c.rank, c.clinical_status, c.onset_date,"
        " c.abatement_date FROM clinical_condition c JOIN clinical_encounter e ON e.id = c.encounter_id"
        " ORDER BY c.public_id",
        "SELECT o.public_id, e.public_id, o.code, o.value, o.unit, pn.public_id, o.effective_at"
        " FROM clinical_observation o JOIN clinical_encounter e ON e.id = o.encounter_id"
        " LEFT JOIN clinical_observation pn ON pn.id = o.panel_id ORDER BY o.public_id",
        "SELECT r.code, r.public_id, r.authored_at, r.valid_until, r.status, l.position, l.medicine_id,"
        " l.quantity, l.dispensed_quantity, l.status, l.fully_dispensed_at"
        " FROM prescribing_prescription r JOIN prescribing_prescriptionline l ON l.prescription_id = r.id"
        " ORDER BY r.code, l.position",
        "SELECT d.public_id, d.at, dl.public_id, dl.quantity, dl.unfilled_quantity, dl.unfilled_reason"
        " FROM prescribing_dispense d JOIN prescribing_dispenseline dl ON dl.dispense_id = d.id"
        " ORDER BY dl.public_id",
        "SELECT l.public_id, f.clues, l.medicine_id, l.lot_number, l.expiry, m.kind, m.quantity,"
        " m.balance_after, m.reference, m.at, m.public_id FROM inventory_stockmovement m"
        " JOIN inventory_lot l ON l.id = m.lot_id JOIN facilities_facility f ON f.id = l.facility_id"
        " ORDER BY f.clues, m.at, m.public_id",
    ]
    h = hashlib.sha256()
    with connection.cursor() as cursor:
        for sql in queries:
            cursor.execute(sql)
            rows = cursor.fetchall()
            assert rows, sql
            for row in rows:
                h.update(repr(row).encode())
    return h.hexdigest()


def digest_of_fresh_run(seed: int) -> str:
    try:
        with transaction.atomic():
            activity_world()
            build_network(people=400, seed=seed, months=2, as_of=AS_OF)
            value = digest()
            raise _Rollback
    except _Rollback:
        pass
    assert not Encounter.objects.exists() and not StockMovement.objects.exists()
    return value


@pytest.mark.django_db
def test_same_seed_gives_the_same_activity_and_another_seed_does_not():
    first, second = digest_of_fresh_run(11), digest_of_fresh_run(11)
    assert first == second
    assert digest_of_fresh_run(12) != first


@pytest.mark.django_db
def test_rerun_skips_and_activity_is_part_of_the_network(network):
    before = (Encounter.objects.count(), StockMovement.objects.count(), Lot.objects.count())
    again = build_network(people=N, seed=SEED, months=MONTHS, as_of=AS_OF)
    assert again.skipped and again.counts == network.counts
    assert (Encounter.objects.count(), StockMovement.objects.count(), Lot.objects.count()) == before


@pytest.mark.django_db
def test_an_unfinished_run_with_ledger_rows_is_refused_not_half_deleted(network):
    SynthRun.objects.update(finished_at=None)
    prescriptions = Prescription.objects.count()
    with pytest.raises(Conflict, match="kárdex"):
        build_network(people=N, seed=SEED + 1, months=MONTHS, as_of=AS_OF)
    assert Prescription.objects.count() == prescriptions


@pytest.mark.django_db
def test_no_activity_without_months_or_without_terminology():
    make_world()
    summary = build_network(people=300, seed=1, months=3)
    assert "encounters" not in summary.counts and not Encounter.objects.exists()
    assert "load-reference" in SynthRun.objects.get().summary["activity"]["skipped"]
    load_medicines_package(FileResult(label="medicines_core.csv"))
    for code in ("E11.9", "I10"):
        Icd10Code.objects.create(
            code=code,
            code_nodot=code.replace(".", ""),
            level=len(code.replace(".", "")),
            description_es=code,
            source="test",
        )
    summary = build_network(people=300, seed=2, months=0, add=True)
    assert "encounters" not in summary.counts and not Encounter.objects.exists()


def _prescription(authored: dt.datetime, quantity: int) -> PlannedPrescription:
    line = PlannedLine(
        index=0,
        public_id="00000000-0000-4000-8000-000000000001",
        position=1,
        medicine=rx.METFORMIN.key,
        dose=rx.METFORMIN.dose,
        frequency=rx.METFORMIN.frequency,
        duration_days=30,
        quantity=quantity,
    )
    return PlannedPrescription(
        index=0,
        public_id="00000000-0000-4000-8000-000000000002",
        code="ABCDEFGH2",
        person_id=7,
        facility_id=1,
        encounter=0,
        prescriber_id=None,
        authored_at=authored,
        valid_until=authored.date() + dt.timedelta(days=15),
        lines=[line],
    )


def test_pharmacy_hands_over_first_expiring_lots_and_skips_expired_ones():
    tz = ZoneInfo("America/Mexico_City")
    at = dt.datetime(2025, 11, 10, 10, 0, tzinfo=tz)
    stock = Stock()
    pharmacy = Pharmacy(
        facility_id=1,
        label="test",
        prescriptions=[_prescription(at, 60)],
        start=dt.date(2025, 10, 1),
        as_of=AS_OF,
        seed=1,
        tz=tz,
        stock=stock,
        taken_lots=set(),
    )
    receipt = dt.datetime(2025, 10, 1, 7, 0, tzinfo=tz)
    late = pharmacy._new_lot(rx.METFORMIN.key, receipt, dt.date(2026, 12, 31))
    expired = pharmacy._new_lot(rx.METFORMIN.key, receipt, dt.date(2025, 11, 1))
    soon = pharmacy._new_lot(rx.METFORMIN.key, receipt, dt.date(2026, 2, 28))
    for lot in (late, expired, soon):
        pharmacy._move(lot, "receipt", 40, at=receipt, operation="op")
    given = pharmacy._take(rx.METFORMIN.key, 60, at, "dispense-line:x", 7, "op2")
    assert given == 60
    assert (soon.quantity, late.quantity, expired.quantity) == (0, 20, 40)
    taken = [(m[0], m[4], m[5]) for m in stock.movements if m[3] == "dispense"]
    assert taken == [(soon.index, -40, 0), (late.index, -20, 20)]
    # Asked for more than the usable stock, it hands over what there is, never the expired lot.
    assert pharmacy._take(rx.METFORMIN.key, 50, at, "dispense-line:y", 7, "op3") == 20
    assert expired.quantity == 40 and late.quantity == 0


def test_missing_codes_fall_back_to_their_category_or_are_left_out():
    book = CodeBook(["E11", "I10", "Z34.9"])
    assert book.get("E11.9") == "E11"
    assert book.get("I10") == "I10"
    assert book.get("Z34.9") == "Z34.9"
    assert book.get("A09.9") is None
