"""Prescription reads: scope, the verification-code rule across states, the queue, audit rows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from bienestar.access.errors import Forbidden, NotAuthenticated, OutOfScope
from bienestar.access.models import AuditEvent
from bienestar.core.errors import ValidationFailed
from bienestar.inventory.tests.factories import ENALAPRIL, METFORMIN, receive
from bienestar.prescribing import codes, selectors
from bienestar.prescribing.services import dispense_record
from bienestar.prescribing.tests.factories import fill, line, prescribe

pytestmark = pytest.mark.django_db


def last_audit() -> AuditEvent:
    return AuditEvent.objects.latest("id")


@pytest.mark.parametrize(
    ("who", "error"),
    [
        (None, NotAuthenticated),
        ("warehouse_manager", Forbidden),
        ("outreach_manager", Forbidden),
        ("other_state_clinician", OutOfScope),
        ("hidalgo_pharmacist", OutOfScope),  # by id: only the code opens across states
    ],
)
def test_get_refusals_write_no_audit(net, jose, who, error):
    p = prescribe(net, jose)
    before = AuditEvent.objects.count()
    with pytest.raises(error):
        selectors.prescription_get(net.actor(who), public_id=p.public_id)
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize("who", ["clinician", "pharmacist", "facility_director", "integrator"])
def test_get_allowed_is_audited(net, jose, who, django_assert_num_queries):
    p = prescribe(net, jose, line(METFORMIN), line(ENALAPRIL))
    with django_assert_num_queries(3):  # the prescription with relations, its lines, the audit row
        got = selectors.prescription_get(net.actor(who), public_id=p.public_id)
        assert [pl.medicine.generic_name for pl in got.lines.all()] == ["Metformina", "Enalapril"]
    event = last_audit()
    assert (event.action, event.resource_type, event.resource_id, event.person_id) == (
        "read",
        "Prescription",
        str(p.public_id),
        jose.id,
    )


def test_by_code_accepts_display_format_and_refuses_typos(net, jose):
    p = prescribe(net, jose)
    got = selectors.prescription_by_code(
        net.actor("pharmacist"), code=codes.display(p.code).lower()
    )
    assert got == p
    assert last_audit().query == {"by": "code"}
    typo = p.code[:3] + p.code[4] + p.code[3] + p.code[5:] if p.code[3] != p.code[4] else None
    if typo:
        with pytest.raises(ValidationFailed, match="revise"):
            selectors.prescription_by_code(net.actor("pharmacist"), code=typo)
    with pytest.raises(ValidationFailed):
        selectors.prescription_by_code(net.actor("pharmacist"), code="ABC")
    unknown = codes.generate()
    with pytest.raises(OutOfScope):
        selectors.prescription_by_code(net.actor("pharmacist"), code=unknown)


def test_code_opens_a_voucher_in_any_state_for_a_pharmacist_only(net, jose):
    receive(net.actor("pharmacist"), net.centre, METFORMIN, 100)
    p = prescribe(net, jose, line(METFORMIN, 60))
    # A pharmacist of Hidalgo, where the patient does not live: allowed while dispensable, audited.
    got = selectors.prescription_by_code(net.actor("hidalgo_pharmacist"), code=p.code)
    assert got == p
    event = last_audit()
    assert (event.actor_username, event.person_id, event.query) == (
        "hgo_farmacia",
        jose.id,
        {"by": "code", "outside_territory": True},
    )
    # A clinician of Hidalgo holding the code: no (only pharmacies redeem vouchers).
    with pytest.raises(OutOfScope):
        selectors.prescription_by_code(net.actor("other_state_clinician"), code=p.code)
    # Once completed, the code no longer opens it outside the territory; inside, it still does.
    dispense_record(net.actor("pharmacist"), prescription=p, pharmacy=net.centre, lines=fill(p, 60))
    before = AuditEvent.objects.count()
    with pytest.raises(OutOfScope):
        selectors.prescription_by_code(net.actor("hidalgo_pharmacist"), code=p.code)
    assert AuditEvent.objects.count() == before
    assert selectors.prescription_by_code(net.actor("pharmacist"), code=p.code) == p


def test_expired_prescription_is_not_opened_across_states(net, jose):
    p = prescribe(net, jose, authored_at=timezone.now() - dt.timedelta(days=20))
    with pytest.raises(OutOfScope):
        selectors.prescription_by_code(net.actor("hidalgo_pharmacist"), code=p.code)


def test_queue_of_the_facility_and_of_the_territory(net, jose, maria):
    receive(net.actor("pharmacist"), net.centre, METFORMIN, 100)
    waiting = prescribe(net, jose)
    partly = prescribe(net, jose, line(METFORMIN, 60))
    dispense_record(
        net.actor("pharmacist"),
        prescription=partly,
        pharmacy=net.centre,
        lines=fill(partly, (10, "patient_declined")),
    )
    done = prescribe(net, jose, line(METFORMIN, 5))
    dispense_record(
        net.actor("pharmacist"), prescription=done, pharmacy=net.centre, lines=fill(done, 5)
    )
    prescribe(net, jose, authored_at=timezone.now() - dt.timedelta(days=20))  # expired
    # An institution's API client (no unit of its own) writes one at the other pharmacy.
    elsewhere = prescribe(net, jose, who="integrator", facility=net.pharmacy2)
    prescribe(net, maria, who="other_state_clinician")  # Hidalgo: never in an Oaxaca queue

    queue = selectors.prescription_queue(net.actor("pharmacist"))
    assert queue == [partly, waiting]
    event = last_audit()
    assert event.action == "search"
    assert event.result_ids == [str(partly.public_id), str(waiting.public_id)]
    territory = selectors.prescription_queue(net.actor("pharmacist"), whole_territory=True)
    assert territory == [elsewhere, partly, waiting]
    with pytest.raises(Forbidden):
        selectors.prescription_queue(net.actor("pharmacist"), facility=net.hidalgo_centre)
    # An integrator may read prescriptions but has no facility: it must name one.
    with pytest.raises(ValidationFailed, match="establecimiento"):
        selectors.prescription_queue(net.actor("integrator"))


@pytest.mark.parametrize("who", ["warehouse_manager", "state_coordinator"])
def test_queue_requires_prescription_read(net, who):
    with pytest.raises(Forbidden):
        selectors.prescription_queue(net.actor(who))


def test_prescriptions_for_person_and_dispense_history(net, jose):
    receive(net.actor("pharmacist"), net.centre, METFORMIN, 10, lot_number="A")
    receive(
        net.actor("pharmacist"),
        net.centre,
        METFORMIN,
        100,
        lot_number="B",
        expiry=timezone.localdate() + dt.timedelta(days=500),
    )
    p = prescribe(net, jose, line(METFORMIN, 30))
    dispense_record(net.actor("pharmacist"), prescription=p, pharmacy=net.centre, lines=fill(p, 30))
    rows = selectors.prescriptions_for_person(net.actor("clinician"), person=jose)
    assert rows == [p]
    event = last_audit()
    assert (event.action, event.person_id, event.result_ids) == (
        "search",
        jose.id,
        [str(p.public_id)],
    )
    [view] = selectors.prescription_dispenses(net.actor("clinician"), prescription=p)
    [line_view] = view.lines
    assert [(u.lot_number, u.quantity) for u in line_view.lots] == [("A", 10), ("B", 20)]
    with pytest.raises(OutOfScope):
        selectors.prescriptions_for_person(net.actor("other_state_clinician"), person=jose)
