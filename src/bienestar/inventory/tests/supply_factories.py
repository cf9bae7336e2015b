"""A supply network on top of `factories.Network`: a national distribution centre, a state
warehouse in Oaxaca supplying the Oaxaca health centre and pharmacy, a state warehouse in Hidalgo
supplying the Hidalgo centre, and a warehouse manager (`almacen`) at each warehouse."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bienestar.access.actor import Actor
from bienestar.access.roles import Role
from bienestar.access.tests.factories import UserFactory, actor_for
from bienestar.facilities.models import Facility, FacilityType
from bienestar.facilities.tests.factories import FacilityFactory
from bienestar.inventory.supply_models import NodeLevel, SupplyNode
from bienestar.inventory.tests.factories import Network


@dataclass
class Supply:
    net: Network
    national: Facility
    warehouse: Facility
    hidalgo_warehouse: Facility
    users: dict[str, Any]

    def actor(self, who: str | None) -> Actor:
        if who in self.users:
            return actor_for(self.users[who])
        return self.net.actor(who)


def _node(facility: Facility, level: str, supplier: SupplyNode | None) -> SupplyNode:
    return SupplyNode.objects.create(
        facility=facility,
        level=level,
        supplier=supplier,
        lead_time_days=10,
        safety_days=5,
        review_days=30,
    )


def build_supply(net: Network, geo: dict[str, Any]) -> Supply:
    from bienestar.territories.tests.factories import mexico

    national = FacilityFactory(
        territory=geo["oaxaca_centro"],
        name="Centro Nacional de Distribución",
        facility_type=FacilityType.WAREHOUSE,
    )
    warehouse = FacilityFactory(
        territory=geo["oaxaca_centro"],
        name="Almacén Estatal Oaxaca",
        facility_type=FacilityType.WAREHOUSE,
    )
    hidalgo_warehouse = FacilityFactory(
        territory=geo["pachuca"],
        name="Almacén Estatal Hidalgo",
        facility_type=FacilityType.WAREHOUSE,
    )
    dc = _node(national, NodeLevel.NATIONAL_DC, None)
    oax = _node(warehouse, NodeLevel.STATE_WAREHOUSE, dc)
    hgo = _node(hidalgo_warehouse, NodeLevel.STATE_WAREHOUSE, dc)
    _node(net.centre, NodeLevel.UNIT_PHARMACY, oax)
    _node(net.pharmacy2, NodeLevel.UNIT_PHARMACY, oax)
    _node(net.hidalgo_centre, NodeLevel.UNIT_PHARMACY, hgo)
    users = {
        "almacen": UserFactory(
            username="almacen_oax",
            role=Role.WAREHOUSE_MANAGER,
            territory=geo["oaxaca"],
            facility=warehouse,
        ),
        "almacen_hgo": UserFactory(
            username="almacen_hgo",
            role=Role.WAREHOUSE_MANAGER,
            territory=geo["hidalgo"],
            facility=hidalgo_warehouse,
        ),
        "almacen_nacional": UserFactory(
            username="almacen_nacional",
            role=Role.WAREHOUSE_MANAGER,
            territory=mexico(),
            facility=national,
        ),
    }
    return Supply(
        net=net,
        national=national,
        warehouse=warehouse,
        hidalgo_warehouse=hidalgo_warehouse,
        users=users,
    )
