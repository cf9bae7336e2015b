"""Writes to households. Each service owns one transaction and records an audit row with it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bienestar.access.actor import Actor
from bienestar.access.audit import audit_record
from bienestar.access.errors import OutOfScope
from bienestar.access.models import AuditAction
from bienestar.access.permissions import require
from bienestar.access.roles import Permission
from bienestar.core.errors import Conflict, ValidationFailed
from bienestar.households.models import Household, HouseholdMember, Relationship
from bienestar.people.models import Person, PersonStatus
from bienestar.territories.models import Territory


@dataclass
class HouseholdInput:
    territory_path: str
    address_line: str = ""
    neighbourhood: str = ""
    postal_code: str = ""
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    rooms: int | None = None
    dirt_floor: bool | None = None
    piped_water: bool | None = None
    drainage: bool | None = None
    electricity: bool | None = None
    monthly_income_band: str = ""
    socioeconomic_stratum: int | None = None


def _in_scope(actor: Actor, territory: Territory) -> bool:
    scope = actor.scope_path
    return scope is not None and (territory.path == scope or territory.path.startswith(scope + "."))


@transaction.atomic
def household_register(actor: Actor, *, data: HouseholdInput) -> Household:
    """Create a household inside the actor's territory. Atomic with its audit row."""
    require(actor, Permission.HOUSEHOLD_WRITE)
    territory = Territory.objects.filter(path=data.territory_path).first()
    if territory is None:
        raise ValidationFailed(_("Territorio desconocido."), field="territory")
    if not _in_scope(actor, territory):
        raise OutOfScope()
    if data.socioeconomic_stratum is not None and not 1 <= data.socioeconomic_stratum <= 6:
        raise ValidationFailed(_("El estrato va de 1 a 6."), field="socioeconomic_stratum")
    household = Household.objects.create(
        territory=territory,
        address_line=data.address_line.strip(),
        neighbourhood=data.neighbourhood.strip(),
        postal_code=data.postal_code.strip(),
        latitude=data.latitude,
        longitude=data.longitude,
        rooms=data.rooms,
        dirt_floor=data.dirt_floor,
        piped_water=data.piped_water,
        drainage=data.drainage,
        electricity=data.electricity,
        monthly_income_band=data.monthly_income_band.strip(),
        socioeconomic_stratum=data.socioeconomic_stratum,
    )
    audit_record(
        actor,
        action=AuditAction.CREATE,
        resource_type="Household",
        resource_id=str(household.public_id),
    )
    return household


@transaction.atomic
def household_member_add(
    actor: Actor,
    *,
    household: Household,
    person: Person,
    relationship: str,
    since: dt.date | None = None,
) -> HouseholdMember:
    """Add a person to a household. Locks the household row, so two concurrent additions of a head
    cannot both pass the check. A person belongs to one current household and a household has one
    current head: either conflict raises Conflict and writes nothing."""
    require(actor, Permission.HOUSEHOLD_WRITE)
    if relationship not in Relationship.values:
        raise ValidationFailed(_("Parentesco inválido."), field="relationship")
    locked = Household.objects.select_for_update().select_related("territory").get(pk=household.pk)
    person = Person.objects.select_related("territory").get(pk=person.pk)
    if not (_in_scope(actor, locked.territory) and _in_scope(actor, person.territory)):
        raise OutOfScope()
    if person.status != PersonStatus.ACTIVE:
        raise Conflict(
            _("La persona fue fusionada con otra; use el registro que sobrevive."), field="person"
        )
    if since is not None and since > timezone.localdate():
        raise ValidationFailed(_("La fecha no puede ser futura."), field="since")
    if HouseholdMember.objects.filter(person=person, until__isnull=True).exists():
        raise Conflict(
            _("La persona ya pertenece a un hogar; termine esa pertenencia primero."),
            field="person",
        )
    if (
        relationship == Relationship.HEAD
        and locked.members.filter(relationship=Relationship.HEAD, until__isnull=True).exists()
    ):
        raise Conflict(_("El hogar ya tiene jefa o jefe."), field="relationship")
    try:
        # Savepoint: a concurrent insert that wins the unique index surfaces as Conflict, not 500.
        with transaction.atomic():
            member = HouseholdMember.objects.create(
                household=locked, person=person, relationship=relationship, since=since
            )
    except IntegrityError:
        raise Conflict(_("La persona ya pertenece a un hogar."), field="person") from None
    audit_record(
        actor,
        action=AuditAction.UPDATE,
        resource_type="Household",
        resource_id=str(locked.public_id),
        person_id=person.id,
        query={"member_added": str(member.public_id), "relationship": relationship},
    )
    return member


@transaction.atomic
def household_member_end(
    actor: Actor, *, member: HouseholdMember, until: dt.date | None = None
) -> HouseholdMember:
    """End a membership (the person moved out or died). Ending it twice raises Conflict rather than
    silently keeping the first date."""
    require(actor, Permission.HOUSEHOLD_WRITE)
    locked = (
        HouseholdMember.objects.select_for_update(of=("self",))
        .select_related("household__territory", "person")
        .get(pk=member.pk)
    )
    if not _in_scope(actor, locked.household.territory):
        raise OutOfScope()
    if locked.until is not None:
        raise Conflict(_("Esta pertenencia ya terminó."))
    until = until or timezone.localdate()
    if until > timezone.localdate():
        raise ValidationFailed(_("La fecha no puede ser futura."), field="until")
    if locked.since is not None and until < locked.since:
        raise ValidationFailed(_("La fecha de término es anterior a la de inicio."), field="until")
    locked.until = until
    locked.save(update_fields=["until", "updated_at"])
    audit_record(
        actor,
        action=AuditAction.UPDATE,
        resource_type="Household",
        resource_id=str(locked.household.public_id),
        person_id=locked.person_id,
        query={"member_ended": str(locked.public_id)},
    )
    return locked
