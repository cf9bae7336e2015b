"""Prescribing and dispensing against the real PostgreSQL: the happy paths, the voucher loop, and
every refusal leaving nothing written."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from bienestar.access.errors import Forbidden, NotAuthenticated, OutOfScope
from bienestar.access.models import AuditEvent
from bienestar.clinical.models import Encounter
from bienestar.core.errors import Conflict, ValidationFailed
from bienestar.inventory.errors import InsufficientStock
from bienestar.inventory.models import StockMovement
from bienestar.inventory.tests.factories import ENALAPRIL, METFORMIN, PARACETAMOL, receive
from bienestar.people.tests.factories import PersonFactory
from bienestar.prescribing import codes
from bienestar.prescribing.models import (
    DispenseLine,
    LineStatus,
    Prescription,
    PrescriptionStatus,
    stock_reference,
)
from bienestar.prescribing.services import (
    dispense_record,
    prescription_cancel,
    prescriptions_expire,
)
from bienestar.prescribing.tests.factories import fill, line, prescribe, state

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


# --- prescribing --------------------------------------------------------------------------------


def test_prescribe_writes_lines_code_validity_and_audit(net, jose):
    p = prescribe(net, jose, line(METFORMIN, 60), line(ENALAPRIL, 30, dose="1/2 tableta"))
    assert codes.is_valid(p.code) and len(p.code) == 9
    assert p.valid_until == TODAY + dt.timedelta(days=15)
    assert p.status == PrescriptionStatus.ACTIVE
    assert p.facility == net.centre  # the clinician's own facility
    assert p.prescribed_by == net.users["clinician"]
    lines = list(p.lines.order_by("position"))
    assert [(pl.position, pl.medicine_id, pl.quantity, pl.status) for pl in lines] == [
        (1, METFORMIN, 60, "pending"),
        (2, ENALAPRIL, 30, "pending"),
    ]
    assert all(pl.person_id == jose.id and pl.facility_id == net.centre.id for pl in lines)
    event = AuditEvent.objects.latest("id")
    assert (event.action, event.resource_type, event.resource_id, event.person_id) == (
        "create",
        "Prescription",
        str(p.public_id),
        jose.id,
    )


def _encounter_at(net, person, facility):  # type: ignore[no-untyped-def]
    return Encounter.objects.create(
        person=person,
        facility=facility,
        recorded_by=net.users["clinician"],
        encounter_class="ambulatory",
        start=timezone.now(),
    )


def test_prescribe_from_an_encounter_of_the_own_facility(net, jose):
    encounter = _encounter_at(net, jose, net.centre)
    p = prescribe(net, jose, encounter=encounter)
    assert (p.encounter, p.facility) == (encounter, net.centre)
    other = PersonFactory(territory=jose.territory)
    with pytest.raises(ValidationFailed, match="otra persona"):
        prescribe(net, other, encounter=encounter)


def test_prescribe_refuses_an_encounter_of_another_facility(net, jose):
    """The prescription would carry that unit's name and count in its fill rate."""
    encounter = _encounter_at(net, jose, net.pharmacy2)
    before = state()
    with pytest.raises(ValidationFailed, match="consulta de su establecimiento") as caught:
        prescribe(net, jose, encounter=encounter)
    assert caught.value.field == "encounter"
    with pytest.raises(ValidationFailed, match="su propio establecimiento"):
        prescribe(net, jose, facility=net.pharmacy2)
    assert state() == before


def test_a_user_without_a_facility_prescribes_at_the_encounters(net, jose):
    """An institution's API client belongs to no unit: the encounter names it."""
    clinician = net.users["clinician"]
    clinician.facility = None
    clinician.save(update_fields=["facility"])
    encounter = _encounter_at(net, jose, net.pharmacy2)
    p = prescribe(net, jose, encounter=encounter)
    assert p.facility == net.pharmacy2
    with pytest.raises(ValidationFailed, match="no es el de la consulta"):
        prescribe(net, jose, encounter=encounter, facility=net.centre)


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([line("999.999.9999.99")], "Clave desconocida"),
        ([line(quantity=0)], "cero"),
        ([line(quantity=-10)], "negativa"),
        ([line(quantity=1.5)], "entero"),
        ([line(duration_days=0)], "duración"),
        ([line(dose=" ")], "obligatorio"),
        ([line(), line("999.999.9999.99")], "999.999.9999.99"),
    ],
)
def test_prescribe_refuses_bad_lines_and_writes_nothing(net, jose, lines, message):
    before = state()
    with pytest.raises(ValidationFailed, match=message):
        prescribe(net, jose, *lines)
    assert state() == before


@pytest.mark.parametrize(
    ("who", "error"),
    [
        (None, NotAuthenticated),
        ("pharmacist", Forbidden),  # may read and dispense, not prescribe
        ("warehouse_manager", Forbidden),
        ("other_state_clinician", OutOfScope),  # the patient lives in Oaxaca
    ],
)
def test_prescribe_authorization(net, jose, who, error):
    before = state()
    with pytest.raises(error):
        prescribe(net, jose, who=who)
    assert state() == before


# --- dispensing: the happy paths ----------------------------------------------------------------


def test_full_dispense_completes_and_moves_stock_first_expiring_first(net, jose):
    pharmacist = net.actor("pharmacist")
    late = receive(pharmacist, net.centre, METFORMIN, 100, lot_number="LATE")
    soon = receive(
        pharmacist,
        net.centre,
        METFORMIN,
        20,
        lot_number="SOON",
        expiry=TODAY + dt.timedelta(days=40),
    )
    p = prescribe(net, jose, line(METFORMIN, 60))
    dispense = dispense_record(pharmacist, prescription=p, pharmacy=net.centre, lines=fill(p, 60))
    p.refresh_from_db()
    [pl] = p.lines.all()
    assert p.status == PrescriptionStatus.COMPLETED
    assert (pl.dispensed_quantity, pl.status, pl.fully_dispensed_at) == (
        60,
        "completed",
        dispense.at,
    )
    [dl] = DispenseLine.objects.filter(dispense=dispense)
    moves = list(
        StockMovement.objects.filter(reference=stock_reference(dl.public_id)).order_by("id")
    )
    assert [(m.lot_id, m.quantity, m.person_id, m.kind) for m in moves] == [
        (soon.id, -20, jose.id, "dispense"),
        (late.id, -40, jose.id, "dispense"),
    ]
    event = AuditEvent.objects.latest("id")
    assert (event.action, event.resource_type, event.person_id) == ("create", "Dispense", jose.id)


def test_one_line_dispense_takes_the_first_expiring_lot_even_with_a_higher_id(
    net, jose, django_assert_num_queries
):
    pharmacist = net.actor("pharmacist")
    late = receive(pharmacist, net.centre, METFORMIN, 100, lot_number="LATE")
    soon = receive(
        pharmacist, net.centre, METFORMIN, 20, lot_number="SOON", expiry=TODAY + dt.timedelta(40)
    )
    assert late.id < soon.id
    p = prescribe(net, jose, line(METFORMIN, 15))
    lines = fill(p, 15)
    # A savepoint (the test's transaction is open), the prescription and its lines locked, the
    # dispensing rows and the audit row, the stock (locked, taken and logged), the release.
    with django_assert_num_queries(5):
        dispense = dispense_record(pharmacist, prescription=p, pharmacy=net.centre, lines=lines)
    [dl] = DispenseLine.objects.filter(dispense=dispense)
    [move] = StockMovement.objects.filter(reference=stock_reference(dl.public_id))
    assert (move.lot_id, move.quantity, move.balance_after, move.person_id) == (
        soon.id,
        -15,
        5,
        jose.id,
    )
    late.refresh_from_db()
    soon.refresh_from_db()
    assert (late.quantity, soon.quantity) == (100, 5)
    # The caller's prescription is what the database now holds, without reading it again.
    fresh = Prescription.objects.get(pk=p.pk)
    assert (p.status, p.updated_at) == (PrescriptionStatus.COMPLETED, fresh.updated_at)
    assert fresh.status == PrescriptionStatus.COMPLETED
    [pl] = p.lines.all()
    assert (pl.dispensed_quantity, pl.status, pl.fully_dispensed_at) == (
        15,
        "completed",
        dispense.at,
    )
    assert dl.dispense_id == dispense.pk and dispense.pk is not None


def test_one_line_dispense_beyond_the_first_lot_spreads_first_expiring_first(net, jose):
    pharmacist = net.actor("pharmacist")
    late = receive(pharmacist, net.centre, METFORMIN, 100, lot_number="LATE")
    soon = receive(
        pharmacist, net.centre, METFORMIN, 20, lot_number="SOON", expiry=TODAY + dt.timedelta(40)
    )
    p = prescribe(net, jose, line(METFORMIN, 30))
    dispense_record(pharmacist, prescription=p, pharmacy=net.centre, lines=fill(p, 30))
    moves = StockMovement.objects.filter(kind="dispense").order_by("id")
    assert [(m.lot_id, m.quantity, m.balance_after) for m in moves] == [
        (soon.id, -20, 0),
        (late.id, -10, 90),
    ]


@pytest.mark.parametrize(
    ("shelf", "asked", "available"),
    [
        ((30,), 40, 30),  # one lot, short
        ((20, 15), 40, 35),  # the first lot short, and the two together too
        ((), 10, 0),  # nothing on the shelf
    ],
)
def test_one_line_dispense_beyond_the_shelf_is_refused_whole(net, jose, shelf, asked, available):
    pharmacist = net.actor("pharmacist")
    for i, units in enumerate(shelf):
        receive(pharmacist, net.centre, METFORMIN, units, lot_number=f"L{i}")
    p = prescribe(net, jose, line(METFORMIN, 60))
    before = state()
    with pytest.raises(InsufficientStock) as refused:
        dispense_record(
            pharmacist,
            prescription=p,
            pharmacy=net.centre,
            lines=fill(p, (asked, "out_of_stock")),
        )
    assert (refused.value.requested, refused.value.available) == (asked, available)
    assert state() == before
    p.refresh_from_db()
    assert p.status == PrescriptionStatus.ACTIVE


def test_partial_dispense_leaves_a_voucher_another_pharmacy_fills(net, jose):
    receive(net.actor("pharmacist"), net.centre, METFORMIN, 25)
    receive(net.actor("pharmacist"), net.centre, ENALAPRIL, 30, lot_number="E")
    receive(net.actor("pharmacist2"), net.pharmacy2, METFORMIN, 500, lot_number="P2")
    p = prescribe(net, jose, line(METFORMIN, 60), line(ENALAPRIL, 30))

    # First visit: all the enalapril, the 25 metformin tablets on the shelf.
    dispense_record(
        net.actor("pharmacist"),
        prescription=p,
        pharmacy=net.centre,
        lines=fill(p, (25, "out_of_stock"), 30),
    )
    p.refresh_from_db()
    metformin, enalapril = p.lines.order_by("position")
    assert p.status == PrescriptionStatus.PARTIALLY_DISPENSED
    assert (metformin.status, metformin.remaining) == (LineStatus.PARTIALLY_DISPENSED, 35)
    assert enalapril.status == LineStatus.COMPLETED
    first = DispenseLine.objects.get(prescription_line=metformin)
    assert (first.quantity, first.unfilled_quantity, first.unfilled_reason) == (
        25,
        35,
        "out_of_stock",
    )

    # Dispensing the completed line again is refused by name; nothing is written.
    before = state()
    with pytest.raises(Conflict, match="ya fue surtido por completo"):
        dispense_record(
            net.actor("pharmacist2"),
            prescription=p,
            pharmacy=net.pharmacy2,
            lines=[fill(p, 0, 1)[1]],
        )
    assert state() == before

    # Second visit, another pharmacy of the network: the voucher's 35 tablets.
    dispense_record(
        net.actor("pharmacist2"),
        prescription=p,
        pharmacy=net.pharmacy2,
        lines=[fill(p, 35)[0]],
    )
    p.refresh_from_db()
    metformin.refresh_from_db()
    assert p.status == PrescriptionStatus.COMPLETED
    assert (metformin.dispensed_quantity, metformin.status) == (60, LineStatus.COMPLETED)
    with pytest.raises(Conflict, match="surtida por completo"):
        dispense_record(
            net.actor("pharmacist"), prescription=p, pharmacy=net.centre, lines=fill(p, 1)
        )


def test_not_dispensing_a_line_at_all_needs_a_reason(net, jose):
    receive(net.actor("pharmacist"), net.centre, METFORMIN, 100)
    p = prescribe(net, jose, line(METFORMIN, 60), line(PARACETAMOL, 20))
    before = state()
    with pytest.raises(ValidationFailed, match="indique por qué no se surten 20"):
        dispense_record(
            net.actor("pharmacist"), prescription=p, pharmacy=net.centre, lines=fill(p, 60, 0)
        )
    with pytest.raises(ValidationFailed, match="describa el motivo"):
        dispense_record(
            net.actor("pharmacist"),
            prescription=p,
            pharmacy=net.centre,
            lines=fill(p, 60, (0, "other")),
        )
    assert state() == before
    dispense_record(
        net.actor("pharmacist"),
        prescription=p,
        pharmacy=net.centre,
        lines=fill(p, 60, (0, "not_in_catalogue")),
    )
    p.refresh_from_db()
    assert p.status == PrescriptionStatus.PARTIALLY_DISPENSED
    paracetamol = p.lines.get(position=2)
    assert (paracetamol.status, paracetamol.remaining) == (LineStatus.PENDING, 20)


# --- dispensing: refusals, nothing written ------------------------------------------------------


@pytest.fixture
def rx(net, jose):
    receive(net.actor("pharmacist"), net.centre, METFORMIN, 30)
    receive(net.actor("pharmacist"), net.centre, ENALAPRIL, 100, lot_number="E")
    return prescribe(net, jose, line(METFORMIN, 60), line(ENALAPRIL, 30))


@pytest.mark.parametrize(
    ("quantities", "error", "message"),
    [
        ((-1, 30), ValidationFailed, "negativa"),
        ((2.5, 30), ValidationFailed, "entero"),
        ((61, 30), ValidationFailed, "solo quedan 60"),
        ((10, 30), ValidationFailed, "indique por qué"),
        (((10, "no-such-reason"), 30), ValidationFailed, "Motivo"),
        # More than the shelf holds: refused whole, never a silent partial fill.
        (
            ((40, "out_of_stock"), 30),
            InsufficientStock,
            "Existencia insuficiente de 010.000.5165.00: se solicitaron 40",
        ),
    ],
)
def test_dispense_refusals_write_nothing(net, rx, quantities, error, message):
    before = state()
    with pytest.raises(error, match=message):
        dispense_record(
            net.actor("pharmacist"),
            prescription=rx,
            pharmacy=net.centre,
            lines=fill(rx, *quantities),
        )
    assert state() == before


def test_dispense_refuses_duplicates_foreign_lines_and_empty_requests(net, rx, jose):
    other = prescribe(net, jose)
    pharmacist = net.actor("pharmacist")
    before = state()
    [first, _second] = fill(rx, (30, "out_of_stock"), 30)
    with pytest.raises(ValidationFailed, match="dos veces"):
        dispense_record(pharmacist, prescription=rx, pharmacy=net.centre, lines=[first, first])
    with pytest.raises(ValidationFailed, match="no pertenece"):
        dispense_record(pharmacist, prescription=rx, pharmacy=net.centre, lines=fill(other, 1))
    with pytest.raises(ValidationFailed, match="al menos un renglón"):
        dispense_record(pharmacist, prescription=rx, pharmacy=net.centre, lines=[])
    assert state() == before


def test_cancelled_prescription_cannot_be_dispensed(net, rx):
    prescription_cancel(net.actor("clinician"), prescription=rx, reason="cambio de tratamiento")
    rx.refresh_from_db()
    assert rx.status == PrescriptionStatus.CANCELLED
    before = state()
    with pytest.raises(Conflict, match="cancelada"):
        dispense_record(
            net.actor("pharmacist"), prescription=rx, pharmacy=net.centre, lines=fill(rx, 30)
        )
    with pytest.raises(Conflict, match="no se puede cancelar"):
        prescription_cancel(net.actor("clinician"), prescription=rx, reason="otra vez")
    assert state() == before


def test_expired_prescription_cannot_be_dispensed(net, jose):
    receive(net.actor("pharmacist"), net.centre, METFORMIN, 100)
    authored = timezone.now() - dt.timedelta(days=16)
    p = prescribe(net, jose, line(METFORMIN, 10), authored_at=authored)
    assert p.valid_until == TODAY - dt.timedelta(days=1)
    assert p.status_on(TODAY) == PrescriptionStatus.EXPIRED
    before = state()
    with pytest.raises(Conflict, match="venció el"):
        dispense_record(
            net.actor("pharmacist"), prescription=p, pharmacy=net.centre, lines=fill(p, 10)
        )
    assert state() == before
    # The nightly job writes the status; a second run changes nothing.
    assert prescriptions_expire(net.actor("pharmacist")) == 1
    assert prescriptions_expire(net.actor("pharmacist")) == 0
    p.refresh_from_db()
    assert p.status == PrescriptionStatus.EXPIRED


def test_last_day_of_validity_still_dispenses(net, jose):
    receive(net.actor("pharmacist"), net.centre, METFORMIN, 100)
    p = prescribe(
        net, jose, line(METFORMIN, 10), authored_at=timezone.now() - dt.timedelta(days=15)
    )
    assert p.valid_until == TODAY
    dispense_record(net.actor("pharmacist"), prescription=p, pharmacy=net.centre, lines=fill(p, 10))


@pytest.mark.parametrize(
    ("who", "pharmacy", "error"),
    [
        (None, "centre", NotAuthenticated),
        ("warehouse_manager", "centre", Forbidden),  # same facility, no DISPENSE
        ("clinician", "centre", Forbidden),
        ("pharmacist2", "centre", Forbidden),  # not their pharmacy
        ("pharmacist", "pharmacy2", Forbidden),
        ("integrator", "centre", Forbidden),  # DISPENSE, but attached to no pharmacy
    ],
)
def test_dispense_authorization(net, rx, who, pharmacy, error):
    before = state()
    with pytest.raises(error):
        dispense_record(
            net.actor(who),
            prescription=rx,
            pharmacy=getattr(net, pharmacy),
            lines=fill(rx, (30, "out_of_stock"), 30),
        )
    assert state() == before


def test_a_pharmacist_of_another_state_may_fill_the_voucher(net, rx):
    """The voucher is redeemable anywhere in the network (the pharmacist opened it by its code)."""
    receive(net.actor("hidalgo_pharmacist"), net.hidalgo_centre, METFORMIN, 100, lot_number="H")
    dispense_record(
        net.actor("hidalgo_pharmacist"),
        prescription=rx,
        pharmacy=net.hidalgo_centre,
        lines=fill(rx, 60),
    )
    rx.refresh_from_db()
    assert rx.status == PrescriptionStatus.PARTIALLY_DISPENSED


def test_cancel_authorization(net, rx):
    before = state()
    for who, error in [
        (None, NotAuthenticated),
        ("pharmacist", Forbidden),
        ("other_state_clinician", OutOfScope),
    ]:
        with pytest.raises(error):
            prescription_cancel(net.actor(who), prescription=rx, reason="x")
    with pytest.raises(ValidationFailed):
        prescription_cancel(net.actor("clinician"), prescription=rx, reason="  ")
    assert state() == before
