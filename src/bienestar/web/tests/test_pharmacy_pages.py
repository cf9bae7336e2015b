"""The pharmacist's pages: queue, open by code, dispense (partial with a reason, refusals that write
nothing), receipt, stock, ledger, receiving, physical count, and the facility page's fill rate.

Authorization matrix on every page: anonymous → log-in, wrong role → 403, another facility → 403/404,
allowed → 200. Stock exists only through `stock_receive`, so every balance has its ledger.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bienestar.access.models import AuditAction, AuditEvent
from bienestar.inventory.models import MovementKind, StockMovement
from bienestar.inventory.tests.factories import (
    ENALAPRIL,
    METFORMIN,
    PARACETAMOL,
    build_network,
    receive,
)
from bienestar.prescribing import codes
from bienestar.prescribing.models import (
    Dispense,
    DispenseLine,
    LineStatus,
    Prescription,
    PrescriptionStatus,
    UnfilledReason,
)
from bienestar.prescribing.services import dispense_record, prescription_cancel
from bienestar.prescribing.tests.factories import fill, line, prescribe, state

pytestmark = pytest.mark.django_db


@pytest.fixture
def net(geo, users):  # type: ignore[no-untyped-def]
    return build_network(geo, users)


@pytest.fixture
def lot(net):  # type: ignore[no-untyped-def]
    """20 tablets of metformin at the centre: less than a 60-tablet prescription."""
    return receive(net.actor("pharmacist"), net.centre, METFORMIN, 20, lot_number="MET-1")


@pytest.fixture
def rx(net, jose, lot):  # type: ignore[no-untyped-def]
    return prescribe(net, jose, line(METFORMIN, 60))


def dispense_url(prescription):  # type: ignore[no-untyped-def]
    return reverse("dispense", args=[prescription.public_id])


def stock_url(facility, name="stock"):  # type: ignore[no-untyped-def]
    return reverse(name, args=[facility.public_id])


def post_lines(prescription, *values):  # type: ignore[no-untyped-def]
    """Form data for the dispense screen: one (quantity, reason, note) per line, in order, and the
    prescription's version as the page would have rendered it now."""
    current = Prescription.objects.get(pk=prescription.pk)
    data = {"version": current.updated_at.isoformat()}
    for pl, value in zip(prescription.lines.order_by("position"), values, strict=True):
        quantity, reason, note = [*value, "", ""][:3]
        data[f"cantidad-{pl.public_id}"] = str(quantity)
        data[f"motivo-{pl.public_id}"] = reason
        data[f"nota-{pl.public_id}"] = note
    return data


# --- Authorization matrix -------------------------------------------------------------------------


def test_anonymous_is_sent_to_log_in_from_every_pharmacy_page(client, net, rx):
    urls = [
        reverse("pharmacy_home"),
        reverse("prescription_open") + "?codigo=" + rx.code,
        dispense_url(rx),
        reverse("dispense_receipt", args=[uuid.uuid4()]),
        reverse("stock_own"),
        stock_url(net.centre),
        stock_url(net.centre, "stock_ledger"),
        stock_url(net.centre, "stock_receive"),
        stock_url(net.centre, "stock_count"),
        reverse("facility_detail", args=[net.centre.clues]),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login") + "?next="), url
    assert not AuditEvent.objects.filter(action=AuditAction.READ).exists()


@pytest.mark.parametrize("role", ["clinician", "warehouse_manager", "auditor", "state_coordinator"])
def test_roles_that_do_not_dispense_get_403_on_the_queue_and_dispense_screen(
    client_for, net, rx, role
):
    before = state()
    client = client_for(net.users[role])

    assert client.get(reverse("pharmacy_home")).status_code == 403
    assert client.get(dispense_url(rx)).status_code == 403
    response = client.post(dispense_url(rx), post_lines(rx, (20, "out_of_stock")))

    assert response.status_code == 403
    assert "Metformina" not in response.content.decode()
    assert state() == before


@pytest.mark.parametrize("role", ["clinician", "auditor", "facility_director", "state_coordinator"])
def test_roles_that_do_not_keep_stock_get_403_on_stock_pages(client_for, net, lot, role):
    client = client_for(net.users[role])
    for name in ("stock", "stock_ledger", "stock_receive", "stock_count"):
        assert client.get(stock_url(net.centre, name)).status_code == 403, name
    assert client.get(reverse("stock_own")).status_code == 403


def test_warehouse_manager_gets_the_stock_pages_of_its_facility(client_for, net, lot):
    client = client_for(net.users["warehouse_manager"])

    assert client.get(reverse("stock_own")).url == stock_url(net.centre)
    for name in ("stock", "stock_ledger", "stock_receive", "stock_count"):
        assert client.get(stock_url(net.centre, name)).status_code == 200, name


def test_pharmacist_of_another_facility_gets_403_on_stock_pages(client_for, net, lot):
    for who in ("pharmacist2", "hidalgo_pharmacist"):
        client = client_for(net.users[who])
        for name in ("stock", "stock_ledger", "stock_receive", "stock_count"):
            assert client.get(stock_url(net.centre, name)).status_code == 403, (who, name)
        response = client.post(
            stock_url(net.centre, "stock_count"), {f"contado-{lot.public_id}": "0"}
        )
        assert response.status_code == 403
    lot.refresh_from_db()
    assert lot.quantity == 20


def test_receipt_of_a_dispense_is_not_shown_outside_its_pharmacy_and_territory(client_for, net, rx):
    done = dispense_record(
        net.actor("pharmacist"),
        prescription=rx,
        pharmacy=net.centre,
        lines=fill(rx, (20, "out_of_stock")),
    )
    url = reverse("dispense_receipt", args=[done.public_id])

    assert client_for(net.users["hidalgo_pharmacist"]).get(url).status_code == 404
    assert client_for(net.users["warehouse_manager"]).get(url).status_code == 403
    assert client_for(net.users["pharmacist"]).get(url).status_code == 200


# --- Queue and opening by code --------------------------------------------------------------------


def test_queue_lists_waiting_prescriptions_newest_first_and_audits_them(client_for, net, jose, lot):
    older = prescribe(
        net, jose, line(METFORMIN, 10), authored_at=timezone.now() - dt.timedelta(days=2)
    )
    newer = prescribe(net, jose, line(METFORMIN, 30))
    done = prescribe(net, jose, line(METFORMIN, 5))
    dispense_record(
        net.actor("pharmacist"), prescription=done, pharmacy=net.centre, lines=fill(done, 5)
    )

    response = client_for(net.users["pharmacist"]).get(reverse("pharmacy_home"))

    assert response.status_code == 200
    assert response.context["prescriptions"] == [newer, older]
    body = response.content.decode()
    assert codes.display(newer.code) in body
    assert codes.display(done.code) not in body
    assert "José López Hernández" in body
    event = AuditEvent.objects.filter(action=AuditAction.SEARCH).latest("id")
    assert event.resource_type == "Prescription"
    assert event.result_ids == [str(newer.public_id), str(older.public_id)]


def test_queue_queries_do_not_grow_with_the_number_of_prescriptions(client_for, net, jose, lot):
    client = client_for(net.users["pharmacist"])
    prescribe(net, jose, line(METFORMIN, 10))
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("pharmacy_home"))
    for _ in range(4):
        prescribe(net, jose, line(METFORMIN, 10), line(ENALAPRIL, 5))
    with CaptureQueriesContext(connection) as five:
        response = client.get(reverse("pharmacy_home"))

    assert len(response.context["prescriptions"]) == 5
    assert len(five) == len(one)


def test_queue_is_paginated(client_for, net, jose, lot, monkeypatch):
    monkeypatch.setattr("bienestar.web.pharmacy_views.QUEUE_PAGE_SIZE", 2)
    made = [
        prescribe(
            net, jose, line(METFORMIN, 10), authored_at=timezone.now() - dt.timedelta(hours=i)
        )
        for i in range(3)
    ]
    client = client_for(net.users["pharmacist"])

    first = client.get(reverse("pharmacy_home"))
    second = client.get(reverse("pharmacy_home"), {"page": 2})

    assert first.context["prescriptions"] == made[:2]
    assert first.context["has_next"]
    assert second.context["prescriptions"] == made[2:]
    assert 'rel="prev"' in second.content.decode()


def test_whole_territory_queue_includes_other_facilities(client_for, net, jose, lot):
    elsewhere = prescribe(net, jose, line(METFORMIN, 10), who="integrator", facility=net.pharmacy2)
    client = client_for(net.users["pharmacist"])

    own = client.get(reverse("pharmacy_home"))
    territory = client.get(reverse("pharmacy_home"), {"alcance": "estado"})

    assert elsewhere not in own.context["prescriptions"]
    assert elsewhere in territory.context["prescriptions"]


@pytest.mark.parametrize("typed", ["{display}", "{lower}", "{plain}", "  {lower_display}  "])
def test_open_by_code_accepts_dashes_and_lower_case(client_for, net, rx, typed):
    display = codes.display(rx.code)
    text = typed.format(
        display=display, lower=rx.code.lower(), plain=rx.code, lower_display=display.lower()
    )

    response = client_for(net.users["pharmacist"]).get(
        reverse("prescription_open"), {"codigo": text}
    )

    assert response.status_code == 302
    assert response.url == dispense_url(rx)


def test_open_by_mistyped_code_explains_and_unknown_code_is_404(client_for, net, rx):
    client = client_for(net.users["pharmacist"])
    swapped = rx.code[1] + rx.code[0] + rx.code[2:]
    if swapped == rx.code:  # pragma: no cover - two equal leading symbols
        swapped = rx.code[:-1] + ("A" if rx.code[-1] != "A" else "B")

    bad = client.get(reverse("prescription_open"), {"codigo": swapped})
    body = bad.content.decode()
    assert bad.status_code == 422
    assert "Código de verificación inválido" in body
    assert 'data-testid="code-error"' in body

    unknown = codes.generate()
    while unknown == rx.code:  # pragma: no cover
        unknown = codes.generate()
    missing = client.get(reverse("prescription_open"), {"codigo": unknown})
    assert missing.status_code == 404
    assert "No hay ninguna receta" in missing.content.decode()


def test_pharmacist_of_another_state_opens_a_valid_voucher_by_code(client_for, net, rx):
    client = client_for(net.users["hidalgo_pharmacist"])

    response = client.get(reverse("prescription_open"), {"codigo": rx.code}, follow=True)

    assert response.status_code == 200
    assert response.context["prescription"] == rx
    event = AuditEvent.objects.filter(resource_type="Prescription", action=AuditAction.READ).latest(
        "id"
    )
    assert event.actor_username == "hgo_farmacia"
    assert event.query["outside_territory"] is True


# --- Dispense screen ------------------------------------------------------------------------------


def test_dispense_screen_shows_prescribed_dispensed_pending_and_stock(client_for, net, rx):
    response = client_for(net.users["pharmacist"]).get(dispense_url(rx))

    assert response.status_code == 200
    (row,) = response.context["rows"]
    assert (row.line.quantity, row.line.dispensed_quantity, row.pending, row.available) == (
        60,
        0,
        60,
        20,
    )
    assert row.quantity == "20"  # the suggestion: what is on the shelf
    body = response.content.decode()
    assert codes.display(rx.code) in body
    assert 'data-testid="available-1">20<' in body
    assert "Sin existencia" in body
    event = AuditEvent.objects.filter(resource_type="Prescription", action=AuditAction.READ).latest(
        "id"
    )
    assert event.resource_id == str(rx.public_id)
    assert event.person_id == rx.person_id


def test_partial_dispense_with_a_reason_writes_everything_and_shows_the_voucher(
    client_for, net, rx, lot
):
    client = client_for(net.users["pharmacist"])

    response = client.post(dispense_url(rx), post_lines(rx, (20, "out_of_stock")))

    dispense = Dispense.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("dispense_receipt", args=[dispense.public_id])
    (dl,) = DispenseLine.objects.all()
    assert (dl.quantity, dl.unfilled_quantity, dl.unfilled_reason) == (
        20,
        40,
        UnfilledReason.OUT_OF_STOCK,
    )
    rx.refresh_from_db()
    assert rx.status == PrescriptionStatus.PARTIALLY_DISPENSED
    assert rx.lines.get().status == LineStatus.PARTIALLY_DISPENSED
    lot.refresh_from_db()
    assert lot.quantity == 0
    movement = StockMovement.objects.get(kind=MovementKind.DISPENSE)
    assert (movement.quantity, movement.balance_after) == (-20, 0)

    receipt = client.get(response.url)
    body = receipt.content.decode()
    assert receipt.status_code == 200
    assert 'data-testid="dispensed-1">20<' in body
    assert 'data-testid="unfilled-1">40<' in body
    assert "MET-1" in body
    assert 'data-testid="voucher"' in body
    assert "Quedan 40 unidades por surtir" in body
    assert rx.valid_until.strftime("%d/%m/%Y") in body
    assert AuditEvent.objects.filter(resource_type="Dispense", action=AuditAction.READ).exists()


def test_a_full_dispense_has_no_voucher(client_for, net, jose, lot):
    prescription = prescribe(net, jose, line(METFORMIN, 15))
    client = client_for(net.users["pharmacist"])

    response = client.post(dispense_url(prescription), post_lines(prescription, (15,)), follow=True)

    body = response.content.decode()
    assert 'data-testid="complete"' in body
    assert 'data-testid="voucher"' not in body
    prescription.refresh_from_db()
    assert prescription.status == PrescriptionStatus.COMPLETED


def test_the_voucher_is_filled_later_at_the_same_pharmacy(client_for, net, rx):
    client = client_for(net.users["pharmacist"])
    client.post(dispense_url(rx), post_lines(rx, (20, "out_of_stock")))
    receive(net.actor("pharmacist"), net.centre, METFORMIN, 100, lot_number="MET-2")

    page = client.get(dispense_url(rx))
    assert page.context["rows"][0].pending == 40
    assert 'data-testid="dispense-history"' in page.content.decode()
    client.post(dispense_url(rx), post_lines(rx, (40,)))

    rx.refresh_from_db()
    assert rx.status == PrescriptionStatus.COMPLETED
    assert client.get(dispense_url(rx)).context["dispensable"] is False


@pytest.mark.parametrize(
    ("values", "status", "message"),
    [
        ((20, ""), 422, "indique por qué no se surten 40 unidades"),
        ((20, "other"), 422, "describa el motivo"),
        ((61, ""), 422, "solo quedan 60"),
        (("veinte", "out_of_stock"), 422, "número entero"),
        (("-3", "out_of_stock"), 422, "número entero"),
        (("2.5", "out_of_stock"), 422, "número entero"),
        ((30, "out_of_stock"), 409, "Existencia insuficiente"),
        ((60, ""), 409, "Existencia insuficiente"),
    ],
)
def test_refused_dispense_shows_why_and_writes_nothing(
    client_for, net, rx, values, status, message
):
    client = client_for(net.users["pharmacist"])
    client.get(dispense_url(rx))
    before = state()

    response = client.post(dispense_url(rx), post_lines(rx, values))

    assert response.status_code == status
    body = response.content.decode()
    assert message in body
    assert "No se registró nada" in body
    after = state()
    # Reading the page again is audited (one row); nothing else changed.
    assert after.pop("audit") == before.pop("audit") + 1
    assert after == before
    # What was typed stays in the form.
    assert f'value="{values[0]}"' in body


def test_a_form_sent_twice_is_not_recorded_twice(client_for, net, rx):
    receive(net.actor("pharmacist"), net.centre, METFORMIN, 100, lot_number="MET-2")
    client = client_for(net.users["pharmacist"])
    form = post_lines(rx, (20, "patient_declined"))

    first = client.post(dispense_url(rx), form)
    before = state()
    again = client.post(dispense_url(rx), form)  # the back button, or a second tap

    assert first.status_code == 302
    assert again.status_code == 409
    assert "La receta cambió desde que abrió esta página" in again.content.decode()
    after = state()
    assert after.pop("audit") == before.pop("audit") + 1  # the page read, nothing else
    assert after == before
    assert Dispense.objects.count() == 1
    assert again.context["rows"][0].quantity == "40"  # the fresh suggestion


def test_insufficient_stock_message_names_what_is_available(client_for, net, rx):
    response = client_for(net.users["pharmacist"]).post(
        dispense_url(rx), post_lines(rx, (25, "out_of_stock"))
    )

    error = response.context["error"]
    assert "se solicitaron 25 unidades y hay 20 disponibles" in error
    assert response.context["rows"][0].available == 20


def test_cancelled_prescription_shows_no_form_and_refuses_a_post(client_for, net, rx):
    prescription_cancel(net.actor("clinician"), prescription=rx, reason="Cambio de tratamiento")
    client = client_for(net.users["pharmacist"])
    before = state()

    page = client.get(dispense_url(rx))
    assert page.status_code == 200
    assert 'data-testid="not-dispensable"' in page.content.decode()
    assert 'name="cantidad-' not in page.content.decode()

    response = client.post(dispense_url(rx), post_lines(rx, (20, "out_of_stock")))
    assert response.status_code == 409
    assert "cancelada" in response.content.decode()
    after = state()
    assert after.pop("audit") == before.pop("audit") + 2
    assert after == before


def test_a_line_not_in_the_pharmacy_catalogue_can_be_left_unfilled(client_for, net, jose, lot):
    prescription = prescribe(net, jose, line(METFORMIN, 10), line(PARACETAMOL, 20))
    client = client_for(net.users["pharmacist"])

    response = client.post(
        dispense_url(prescription),
        post_lines(prescription, (10,), (0, "not_in_catalogue")),
        follow=True,
    )

    assert response.status_code == 200
    lines = {dl.prescription_line.medicine_id: dl for dl in DispenseLine.objects.all()}
    assert lines[METFORMIN].quantity == 10
    assert (lines[PARACETAMOL].quantity, lines[PARACETAMOL].unfilled_reason) == (
        0,
        "not_in_catalogue",
    )
    assert "No incluido en el catálogo de la farmacia" in response.content.decode()


# --- Stock, ledger, receiving, counting ------------------------------------------------------------


def test_stock_page_totals_and_highlights_low_and_expiring(client_for, net, lot):
    soon = timezone.localdate() + dt.timedelta(days=20)
    receive(net.actor("pharmacist"), net.centre, ENALAPRIL, 200, lot_number="ENA-9", expiry=soon)

    response = client_for(net.users["pharmacist"]).get(stock_url(net.centre))

    assert response.status_code == 200
    totals = response.context["totals"]
    assert totals == {"keys": 2, "usable": 220, "expired": 0, "low": 1, "expiring_lots": 1}
    body = response.content.decode()
    assert 'class="is-low" data-testid="stock-010.000.5165.00"' in body
    assert "Existencia baja" in body
    assert "ENA-9" in body
    assert f"{reverse('stock_ledger', args=[net.centre.public_id])}?clave={METFORMIN}" in body

    only_low = client_for(net.users["pharmacist"]).get(stock_url(net.centre), {"bajo": "1"})
    assert [s.medicine.key for s in only_low.context["items"]] == [METFORMIN]


def test_stock_page_by_clues_and_unknown_facility(client_for, net, lot):
    client = client_for(net.users["pharmacist"])

    assert client.get(reverse("stock", args=[net.centre.clues.lower()])).status_code == 200
    assert client.get(reverse("stock", args=["HGIMB999999"])).status_code == 404
    assert client.get(reverse("stock", args=["no-es-clave"])).status_code == 422


def test_ledger_shows_movements_with_kind_balance_and_who_and_paginates(
    client_for, net, rx, lot, monkeypatch
):
    dispense_record(
        net.actor("pharmacist"),
        prescription=rx,
        pharmacy=net.centre,
        lines=fill(rx, (5, "patient_declined")),
    )
    client = client_for(net.users["pharmacist"])

    response = client.get(stock_url(net.centre, "stock_ledger"), {"clave": METFORMIN})

    assert response.status_code == 200
    rows = list(response.context["movements"])
    assert [(m.kind, m.quantity, m.balance_after) for m in rows] == [
        ("dispense", -5, 15),
        ("receipt", 20, 20),
    ]
    body = response.content.decode()
    assert "Salida por surtimiento" in body
    assert "\N{MINUS SIGN}5" in body
    assert "pharmacist" in body
    assert str(rx.person_id) not in body.split('data-testid="ledger"')[1].split("</table>")[0]

    monkeypatch.setattr("bienestar.web.stock_views.LEDGER_PAGE_SIZE", 1)
    first = client.get(stock_url(net.centre, "stock_ledger"))
    second = client.get(stock_url(net.centre, "stock_ledger"), {"page": 2})
    assert [m.kind for m in first.context["movements"]] == ["dispense"]
    assert [m.kind for m in second.context["movements"]] == ["receipt"]
    only_receipts = client.get(stock_url(net.centre, "stock_ledger"), {"tipo": "receipt"})
    assert [m.kind for m in only_receipts.context["movements"]] == ["receipt"]
    assert client.get(stock_url(net.centre, "stock_ledger"), {"clave": "999"}).status_code == 404


def receipt_form(rows, reference=""):  # type: ignore[no-untyped-def]
    data = {
        "reference": reference,
        "renglon-TOTAL_FORMS": str(len(rows)),
        "renglon-INITIAL_FORMS": str(len(rows)),
        "renglon-MIN_NUM_FORMS": "0",
        "renglon-MAX_NUM_FORMS": "50",
    }
    for i, (key, lot_number, expiry, quantity) in enumerate(rows):
        data.update(
            {
                f"renglon-{i}-medicine_key": key,
                f"renglon-{i}-lot_number": lot_number,
                f"renglon-{i}-expiry": expiry,
                f"renglon-{i}-quantity": quantity,
            }
        )
    return data


def test_receiving_a_delivery_of_several_lines(client_for, net, lot):
    expiry = (timezone.localdate() + dt.timedelta(days=400)).isoformat()
    client = client_for(net.users["pharmacist"])
    assert client.get(stock_url(net.centre, "stock_receive")).status_code == 200

    response = client.post(
        stock_url(net.centre, "stock_receive"),
        receipt_form(
            [
                (METFORMIN, "met-2", expiry, "100"),
                (ENALAPRIL, "ENA-1", expiry, "50"),
                ("", "", "", ""),
            ],
            reference="REM-778",
        ),
        follow=True,
    )

    assert response.status_code == 200
    assert "Entrada registrada: 2 renglones, 150 unidades." in response.content.decode()
    receipts = StockMovement.objects.filter(kind=MovementKind.RECEIPT, reference="REM-778")
    assert sorted((m.medicine_id, m.lot.lot_number, m.quantity) for m in receipts) == [
        (ENALAPRIL, "ENA-1", 50),
        (METFORMIN, "MET-2", 100),
    ]
    assert len({m.operation for m in receipts}) == 1


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (("999.999.9999.99", "X1", "+400", "10"), "Clave desconocida"),
        ((METFORMIN, "X1", "-3", "10"), "ya está caducado"),
        ((METFORMIN, "X1", "+3700", "10"), "no es verosímil"),
        ((METFORMIN, "X1", "9999-12-31", "10"), "no es verosímil"),
        ((METFORMIN, "X1", "+400", "0"), "mayor o igual a 1"),
        ((METFORMIN, "", "+400", "10"), "Complete este dato"),
        ((METFORMIN, "X1", "+400", "diez"), "número entero"),
    ],
)
def test_refused_delivery_writes_nothing(client_for, net, lot, row, message):
    key, lot_number, days, quantity = row
    expiry = (
        days
        if "-" in days[1:]
        else (timezone.localdate() + dt.timedelta(days=int(days))).isoformat()
    )
    good = (ENALAPRIL, "ENA-1", (timezone.localdate() + dt.timedelta(days=300)).isoformat(), "5")
    before = state()

    response = client_for(net.users["pharmacist"]).post(
        stock_url(net.centre, "stock_receive"),
        receipt_form([good, (key, lot_number, expiry, quantity)]),
    )

    assert response.status_code == 422
    body = response.content.decode()
    assert message in body
    assert "No se registró nada" in body
    assert state() == before


def test_physical_count_reconciles_and_leaves_blank_lots_alone(client_for, net, lot):
    other = receive(net.actor("pharmacist"), net.centre, ENALAPRIL, 30, lot_number="ENA-1")
    client = client_for(net.users["pharmacist"])
    page = client.get(stock_url(net.centre, "stock_count"))
    assert page.status_code == 200
    assert f'name="contado-{lot.public_id}"' in page.content.decode()

    response = client.post(
        stock_url(net.centre, "stock_count"),
        {f"contado-{lot.public_id}": "17", f"contado-{other.public_id}": "", "nota": "Mensual"},
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="difference-MET-1">\N{MINUS SIGN}3<' in body
    assert "1 con diferencia" in body
    lot.refresh_from_db()
    other.refresh_from_db()
    assert (lot.quantity, other.quantity) == (17, 30)
    movement = StockMovement.objects.get(kind=MovementKind.COUNT)
    assert (movement.quantity, movement.balance_after, movement.note) == (-3, 17, "Mensual")


def test_count_includes_a_lot_emptied_while_the_form_was_open(client_for, net, rx, lot):
    client = client_for(net.users["pharmacist"])
    assert (
        f'name="contado-{lot.public_id}"'
        in client.get(stock_url(net.centre, "stock_count")).content.decode()
    )
    dispense_record(
        net.actor("pharmacist"),
        prescription=rx,
        pharmacy=net.centre,
        lines=fill(rx, (20, "out_of_stock")),
    )

    response = client.post(stock_url(net.centre, "stock_count"), {f"contado-{lot.public_id}": "2"})

    assert response.status_code == 200
    lot.refresh_from_db()
    assert lot.quantity == 2
    movement = StockMovement.objects.get(kind=MovementKind.COUNT)
    assert (movement.quantity, movement.balance_after) == (2, 2)


def test_count_refuses_a_lot_of_another_facility(client_for, net, lot):
    elsewhere = receive(net.actor("pharmacist2"), net.pharmacy2, METFORMIN, 9, lot_number="X")
    before = state()

    response = client_for(net.users["pharmacist"]).post(
        stock_url(net.centre, "stock_count"),
        {f"contado-{lot.public_id}": "20", f"contado-{elsewhere.public_id}": "0"},
    )

    assert response.status_code == 422
    elsewhere.refresh_from_db()
    assert elsewhere.quantity == 9
    assert state() == before


def test_count_equal_to_the_books_writes_no_movement(client_for, net, lot):
    response = client_for(net.users["pharmacist"]).post(
        stock_url(net.centre, "stock_count"), {f"contado-{lot.public_id}": "20"}
    )

    assert response.status_code == 200
    assert "0 con diferencia" in response.content.decode()
    assert not StockMovement.objects.filter(kind=MovementKind.COUNT).exists()


@pytest.mark.parametrize("typed", ["-1", "tres", "1.5"])
def test_refused_count_writes_nothing(client_for, net, lot, typed):
    before = state()

    response = client_for(net.users["pharmacist"]).post(
        stock_url(net.centre, "stock_count"), {f"contado-{lot.public_id}": typed}
    )

    assert response.status_code == 422
    assert "No se registró nada" in response.content.decode()
    assert state() == before


def test_empty_count_is_refused(client_for, net, lot):
    response = client_for(net.users["pharmacist"]).post(stock_url(net.centre, "stock_count"), {})

    assert response.status_code == 422
    assert "al menos un lote" in response.content.decode()


# --- Fill rate on the pharmacy page and the facility page -----------------------------------------


def test_fill_rate_on_pharmacy_and_facility_pages_follows_the_dispense(client_for, net, rx):
    client = client_for(net.users["pharmacist"])
    before = client.get(reverse("facility_detail", args=[net.centre.clues]))
    assert before.context["current"].rate.units_dispensed == 0
    assert 'data-testid="fill-rate-units">0/60<' in before.content.decode()

    client.post(dispense_url(rx), post_lines(rx, (20, "out_of_stock")))

    facility_page = client.get(reverse("facility_detail", args=[net.centre.public_id]))
    body = facility_page.content.decode()
    assert facility_page.status_code == 200
    assert 'data-testid="fill-rate-lines">0/1<' in body
    assert 'data-testid="fill-rate-units">20/60<' in body
    assert "33,3 %" in body  # Spanish decimal comma
    assert len(facility_page.context["fill_rates"]) == 6
    pharmacy_page = client.get(reverse("pharmacy_home")).content.decode()
    assert 'data-testid="fill-rate-units">20/60<' in pharmacy_page


def test_facility_page_shows_data_capacity_and_hours(client_for, net):
    from bienestar.facilities.models import OpeningHours

    net.centre.consulting_rooms = 4
    net.centre.beds = 2
    net.centre.save()
    OpeningHours.objects.create(facility=net.centre, weekday=0, opens="08:00", closes="20:00")

    response = client_for(net.users["clinician"]).get(
        reverse("facility_detail", args=[net.centre.clues])
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert net.centre.name in body
    assert "Consultorios" in body
    assert "Lunes" in body and "08:00\N{EN DASH}20:00" in body
    # A clinician may not read indicators: the page shows no fill rate.
    assert response.context["fill_rates"] is None
    assert 'data-testid="fill-rate"' not in body


def test_facility_page_of_another_state_shows_no_fill_rate(client_for, net):
    response = client_for(net.users["pharmacist"]).get(
        reverse("facility_detail", args=[net.hidalgo_centre.clues])
    )

    assert response.status_code == 200
    assert response.context["fill_rates"] is None
    assert response.context["keeps_stock"] is False


def test_pharmacist_navigation_and_english(client_for, net, rx, settings):
    client = client_for(net.users["pharmacist"])
    home = client.get(reverse("home"), follow=True).content.decode()  # lands on the queue
    assert reverse("pharmacy_home") in home
    assert reverse("stock_own") in home

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    body = client.get(dispense_url(rx)).content.decode()
    assert "Units to hand over" in body
    assert "Out of stock" in body
    stock_page = client.get(stock_url(net.centre)).content.decode()
    assert "Stock" in stock_page
    assert "Receive a delivery" in stock_page
