"""Who may read and write the stock of which facility.

- Read (STOCK_READ): any facility inside the actor's territory, and the actor's own facility.
- Write (STOCK_WRITE): the actor's own facility (`user.facility`); an actor attached to no facility
  (a state warehouse manager, an integrating system) writes at any facility inside its territory.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.access.errors import Forbidden
from bienestar.access.permissions import require
from bienestar.access.roles import Permission
from bienestar.facilities.models import Facility


def in_territory(actor: Actor, facility: Facility) -> bool:
    scope = actor.scope_path
    if scope is None:
        return False
    path = facility.territory.path
    return path == scope or path.startswith(scope + ".")


def own_facility_id(actor: Actor) -> int | None:
    return actor.user.facility_id if actor.user is not None else None


def may_read_stock(actor: Actor, facility: Facility) -> bool:
    return own_facility_id(actor) == facility.id or in_territory(actor, facility)


def require_stock_read(actor: Actor, facility: Facility) -> None:
    require(actor, Permission.STOCK_READ)
    if may_read_stock(actor, facility):
        return
    raise Forbidden(_("Este establecimiento está fuera de su ámbito."))


def may_write_stock(actor: Actor, facility: Facility) -> bool:
    if not actor.can(Permission.STOCK_WRITE):
        return False
    own = own_facility_id(actor)
    if own is not None:
        return own == facility.id
    return in_territory(actor, facility)


def require_stock_write(actor: Actor, facility: Facility) -> None:
    require(actor, Permission.STOCK_WRITE)
    if not may_write_stock(actor, facility):
        raise Forbidden(_("Solo puede registrar movimientos de inventario de su establecimiento."))
