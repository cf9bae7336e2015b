"""The supply network (which node supplies which) and lot statuses.

- `supply_node_set`: place a facility in the network. The national distribution centre has no
  supplier; every other node is supplied by a node of a higher level (national → state warehouse →
  hospital or unit pharmacy; a hospital pharmacy may supply the unit pharmacies of its network).
  Who may: an actor who keeps the stock of the supplier (its warehouse manager), or, for the
  national distribution centre, one who keeps the centre's own stock.
- `may_supply`: the one rule every requisition and shipment goes through.
- `lot_set_status`: quarantine, release after inspection, recall. A recalled lot stays recalled;
  `expired` is never set by hand (the expiry date implies it; the write-off takes the units out).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.core.errors import Conflict, ValidationFailed
from bienestar.facilities.models import Facility
from bienestar.inventory.models import Lot, LotStatus
from bienestar.inventory.permissions import require_stock_write
from bienestar.inventory.supply_models import NODE_RANK, LotStatusChange, NodeLevel, SupplyNode


def node_of(facility: Facility) -> SupplyNode | None:
    return SupplyNode.objects.filter(facility=facility).select_related("supplier").first()


def may_supply(supplier: Facility, client: Facility) -> bool:
    """Whether `supplier` is the node that supplies `client` in the network."""
    return SupplyNode.objects.filter(
        facility_id=client.id, supplier__facility_id=supplier.id
    ).exists()


def supplier_of(facility: Facility) -> Facility | None:
    node = SupplyNode.objects.filter(facility=facility).select_related("supplier__facility").first()
    if node is None or node.supplier is None:
        return None
    return node.supplier.facility


def supply_node_set(
    actor: Actor,
    *,
    facility: Facility,
    level: str,
    supplier: Facility | None,
    lead_time_days: int = 15,
    safety_days: int = 15,
    review_days: int = 30,
) -> SupplyNode:
    if level not in NodeLevel.values:
        raise ValidationFailed(_("Nivel de la red desconocido."), field="level")
    for name, value in (
        ("lead_time_days", lead_time_days),
        ("safety_days", safety_days),
        ("review_days", review_days),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 365:
            raise ValidationFailed(_("Indique un número de días entre 0 y 365."), field=name)
    if review_days == 0:
        raise ValidationFailed(
            _("El intervalo de revisión no puede ser cero."), field="review_days"
        )
    supplier_node = None
    if level == NodeLevel.NATIONAL_DC:
        if supplier is not None:
            raise ValidationFailed(
                _("El centro nacional de distribución no tiene proveedor en la red."),
                field="supplier",
            )
        require_stock_write(actor, facility)
    else:
        if supplier is None:
            raise ValidationFailed(_("Indique el nodo que abastece a este."), field="supplier")
        if supplier.id == facility.id:
            raise ValidationFailed(_("Un nodo no se abastece a sí mismo."), field="supplier")
        require_stock_write(actor, supplier)
        supplier_node = SupplyNode.objects.filter(facility=supplier).first()
        if supplier_node is None:
            raise ValidationFailed(
                _("El proveedor aún no forma parte de la red de abasto."), field="supplier"
            )
        if NODE_RANK[NodeLevel(supplier_node.level)] >= NODE_RANK[NodeLevel(level)]:
            raise ValidationFailed(
                _("Un %(client)s no puede abastecerse de un %(supplier)s.")
                % {
                    "client": NodeLevel(level).label,
                    "supplier": NodeLevel(supplier_node.level).label,
                },
                field="supplier",
            )
    with transaction.atomic():
        node, _created = SupplyNode.objects.update_or_create(
            facility=facility,
            defaults={
                "level": level,
                "supplier": supplier_node,
                "lead_time_days": lead_time_days,
                "safety_days": safety_days,
                "review_days": review_days,
            },
        )
        return node


# Allowed hand-made transitions: quarantine ↔ usable, anything but recalled → recalled.
_TRANSITIONS = {
    LotStatus.USABLE: {LotStatus.QUARANTINED, LotStatus.RECALLED},
    LotStatus.QUARANTINED: {LotStatus.USABLE, LotStatus.RECALLED},
    LotStatus.EXPIRED: {LotStatus.RECALLED},
    LotStatus.RECALLED: set(),
}


def lot_set_status(
    actor: Actor, *, lot: Lot, status: str, note: str = "", at: dt.datetime | None = None
) -> Lot:
    """Quarantine, release or recall a lot (with the lot row locked, as every stock write)."""
    require_stock_write(actor, lot.facility)
    if status not in LotStatus.values:
        raise ValidationFailed(_("Estado de lote desconocido."), field="status")
    note = note.strip()
    if status == LotStatus.RECALLED and not note:
        raise ValidationFailed(_("Indique el aviso de retiro sanitario."), field="note")
    at = at or timezone.now()
    with transaction.atomic():
        locked = Lot.objects.select_for_update().get(pk=lot.pk)
        current = LotStatus(locked.status)
        target = LotStatus(status)
        if target == current:
            return locked
        if target not in _TRANSITIONS[current]:
            raise Conflict(
                _("Un lote %(current)s no puede pasar a %(target)s.")
                % {"current": current.label.lower(), "target": target.label.lower()},
                field="status",
            )
        if target == LotStatus.USABLE and locked.expiry < timezone.localdate(at):
            raise Conflict(_("El lote está caducado: no puede liberarse."), field="status")
        Lot.objects.filter(pk=locked.pk).update(status=target, updated_at=timezone.now())
        LotStatusChange.objects.create(
            lot=locked,
            from_status=current,
            to_status=target,
            note=note,
            actor_username=actor.username,
            at=at,
        )
        locked.status = target
        return locked


_HOSPITALS = {"general_hospital", "specialty_hospital", "rural_hospital"}


def network_seed_state(*, warehouse: Facility, state_path: str) -> int:
    """Internal (set-up of a demo or a fresh installation, no actor): make `warehouse` the state
    warehouse supplying every facility of the state that holds stock and is not yet in the network.
    Idempotent; returns the number of nodes created."""
    from bienestar.inventory.models import Lot

    node, created = SupplyNode.objects.get_or_create(
        facility=warehouse, defaults={"level": NodeLevel.STATE_WAREHOUSE}
    )
    count = int(created)
    holders = (
        Facility.objects.filter(
            id__in=Lot.objects.values("facility_id"),
            territory__path__startswith=state_path + ".",
            supply_node__isnull=True,
        )
        .exclude(id=warehouse.id)
        .only("id", "facility_type")
    )
    fresh = [
        SupplyNode(
            facility=f,
            level=NodeLevel.HOSPITAL_PHARMACY
            if f.facility_type in _HOSPITALS
            else NodeLevel.UNIT_PHARMACY,
            supplier=node,
        )
        for f in holders
    ]
    SupplyNode.objects.bulk_create(fresh, ignore_conflicts=True)
    return count + len(fresh)
