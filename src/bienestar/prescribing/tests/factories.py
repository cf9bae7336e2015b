"""Helpers for the prescribing tests: prescribe through the service, snapshot what a refusal must
leave unchanged."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bienestar.access.models import AuditEvent
from bienestar.inventory.models import Lot, StockMovement
from bienestar.inventory.tests.factories import METFORMIN, Network
from bienestar.people.models import Person
from bienestar.prescribing.models import (
    Dispense,
    DispenseLine,
    Prescription,
    PrescriptionLine,
)
from bienestar.prescribing.services import DispenseLineInput, LineInput, prescription_create


def line(key: str = METFORMIN, quantity: int = 60, **overrides: Any) -> LineInput:
    data: dict[str, Any] = {
        "medicine_key": key,
        "quantity": quantity,
        "dose": "1 tableta",
        "frequency": "cada 12 horas",
        "duration_days": 30,
    }
    data.update(overrides)
    return LineInput(**data)


def prescribe(
    net: Network,
    person: Person,
    *lines: LineInput,
    who: str = "clinician",
    authored_at: dt.datetime | None = None,
    **kwargs: Any,
) -> Prescription:
    return prescription_create(
        net.actor(who),
        person=person,
        lines=list(lines) or [line()],
        authored_at=authored_at,
        **kwargs,
    )


def fill(
    prescription: Prescription, *quantities: int | tuple[int, str] | tuple[int, str, str]
) -> list[DispenseLineInput]:
    """Dispense inputs for the prescription's lines in order: `5` or `(5, "out_of_stock")` or
    `(0, "other", "nota")`."""
    lines = list(prescription.lines.order_by("position"))
    out = []
    for pl, q in zip(lines, quantities, strict=False):
        if isinstance(q, tuple):
            out.append(DispenseLineInput(pl, q[0], q[1], q[2] if len(q) > 2 else ""))
        else:
            out.append(DispenseLineInput(pl, q))
    return out


def state() -> dict[str, Any]:
    """Everything a refused prescribing or dispensing call must leave unchanged."""
    return {
        "prescriptions": sorted(Prescription.objects.values_list("id", "status")),
        "lines": sorted(PrescriptionLine.objects.values_list("id", "dispensed_quantity", "status")),
        "dispenses": Dispense.objects.count(),
        "dispense_lines": DispenseLine.objects.count(),
        "lots": sorted(Lot.objects.values_list("id", "quantity")),
        "movements": StockMovement.objects.count(),
        "audit": AuditEvent.objects.count(),
    }
