"""Catalogue keys, a small pharmacy network and helpers shared by the inventory and prescribing tests.

Stock is only ever created through `stock_receive`, so every balance in a test has its ledger.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from bienestar.access.actor import Actor
from bienestar.access.models import AuditEvent, User
from bienestar.access.roles import Role
from bienestar.access.tests.factories import UserFactory, actor_for
from bienestar.facilities.models import Facility, FacilityType
from bienestar.facilities.tests.factories import FacilityFactory
from bienestar.inventory.models import Lot, StockMovement
from bienestar.inventory.services import ReceiptLine, stock_receive
from bienestar.terminology.models import Medicine

METFORMIN = "010.000.5165.00"
ENALAPRIL = "010.000.2501.00"
PARACETAMOL = "010.000.0104.00"


def medicine(key: str, name: str, form: str = "Tableta", strength: str = "") -> Medicine:
    row, _ = Medicine.objects.get_or_create(
        key=key,
        defaults={"generic_name": name, "form": form, "strength": strength, "source": "test"},
    )
    return row


def catalogue() -> dict[str, Medicine]:
    return {
        METFORMIN: medicine(METFORMIN, "Metformina", strength="850 mg"),
        ENALAPRIL: medicine(ENALAPRIL, "Enalapril", strength="10 mg"),
        PARACETAMOL: medicine(PARACETAMOL, "Paracetamol", strength="500 mg"),
    }


@dataclass
class Network:
    """Two pharmacies in Oaxaca (a health centre and a stand-alone pharmacy) and one in Hidalgo, with
    the `users` fixture's staff attached to the Oaxaca health centre."""

    centre: Facility
    pharmacy2: Facility
    hidalgo_centre: Facility
    users: dict[str, Any]

    def actor(self, who: str | None, channel: str = "web") -> Actor:
        return actor_for(self.users[who] if who else None, channel=channel)


def build_network(geo: dict[str, Any], users: dict[str, Any]) -> Network:
    catalogue()
    centre = FacilityFactory(territory=geo["oaxaca_centro"], name="Centro de Salud Oaxaca")
    pharmacy2 = FacilityFactory(
        territory=geo["oaxaca_centro"],
        name="Farmacia del Bienestar Oaxaca",
        facility_type=FacilityType.PHARMACY,
    )
    hidalgo_centre = FacilityFactory(territory=geo["pachuca"], name="Centro de Salud Pachuca")
    for role in ("pharmacist", "clinician", "warehouse_manager", "facility_director"):
        user: User = users[role]
        user.facility = centre
        user.save(update_fields=["facility"])
    users["pharmacist2"] = UserFactory(
        username="farmacia2", role=Role.PHARMACIST, territory=geo["oaxaca"], facility=pharmacy2
    )
    users["hidalgo_pharmacist"] = UserFactory(
        username="hgo_farmacia",
        role=Role.PHARMACIST,
        territory=geo["hidalgo"],
        facility=hidalgo_centre,
    )
    users["other_state_clinician"].facility = hidalgo_centre
    users["other_state_clinician"].save(update_fields=["facility"])
    return Network(centre=centre, pharmacy2=pharmacy2, hidalgo_centre=hidalgo_centre, users=users)


def receive(
    actor: Actor,
    facility: Facility,
    key: str,
    quantity: int,
    *,
    lot_number: str = "L1",
    expiry: dt.date | None = None,
    at: dt.datetime | None = None,
) -> Lot:
    expiry = expiry or timezone.localdate() + dt.timedelta(days=365)
    movement = stock_receive(
        actor,
        facility=facility,
        lines=[ReceiptLine(key, lot_number, expiry, quantity)],
        at=at,
    )[0]
    return Lot.objects.get(pk=movement.lot_id)


def stock_state() -> dict[str, Any]:
    """Everything a refused stock write must leave unchanged."""
    return {
        "lots": sorted(Lot.objects.values_list("id", "quantity")),
        "movements": StockMovement.objects.count(),
        "audit": AuditEvent.objects.count(),
    }
