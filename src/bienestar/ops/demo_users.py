"""The demo log-ins of CONTRACTS.md: one user per role, placed in a real corner of the network."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass

from django.db import transaction

from bienestar.access.models import User
from bienestar.access.roles import Role
from bienestar.config.home import bienestar_home
from bienestar.facilities.models import Facility, FacilityType, Institution
from bienestar.territories.models import Territory, TerritoryKind
from bienestar.workforce.models import Practitioner, Specialty


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    description: str
    territory: str


def demo_password() -> str:
    """BIENESTAR_DEMO_PASSWORD, else a random one kept in $BIENESTAR_HOME so re-runs print the same."""
    configured = os.environ.get("BIENESTAR_DEMO_PASSWORD")
    if configured:
        return configured
    path = bienestar_home() / "demo_password"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(12))
        path.chmod(0o600)
    return path.read_text().strip()


def _pick_health_centre() -> Facility | None:
    """The Hidalgo health centre with the most prescriptions waiting today; else the one serving the
    most synthetic patients, preferring a real IMSS-Bienestar centre of Hidalgo (the state whose
    full CLUES catalogue is loaded)."""
    from django.db.models import Count
    from django.utils import timezone

    from bienestar.prescribing.models import DISPENSABLE, Prescription
    from bienestar.synth.models import SynthProfile

    # First the Hidalgo centre with the most prescriptions waiting today, so that the pharmacist's
    # queue is not empty when the demo opens.
    waiting = (
        Prescription.objects.filter(
            status__in=DISPENSABLE,
            valid_until__gte=timezone.localdate(),
            facility__facility_type=FacilityType.HEALTH_CENTRE,
            facility__territory__path__startswith="MX.13.",
        )
        .values("facility")
        .annotate(n=Count("id"))
        .order_by("-n", "facility")
        .first()
    )
    if waiting is not None:
        return Facility.objects.select_related("territory").get(pk=waiting["facility"])
    served = (
        SynthProfile.objects.filter(facility__facility_type=FacilityType.HEALTH_CENTRE)
        .values("facility")
        .annotate(patients=Count("person"))
        .order_by("-patients", "facility")
    )
    for candidates in (served.filter(facility__territory__path__startswith="MX.13."), served):
        best = candidates.first()
        if best is not None:
            return Facility.objects.select_related("territory").get(pk=best["facility"])
    return (
        Facility.objects.filter(facility_type=FacilityType.HEALTH_CENTRE, in_operation=True)
        .select_related("territory")
        .order_by("clues", "id")
        .first()
    )


def _state_of(territory: Territory) -> Territory:
    node = territory
    while (
        node.kind not in (TerritoryKind.STATE, TerritoryKind.COUNTRY, TerritoryKind.DISTRICT)
        and node.parent_id
    ):
        node = node.parent  # type: ignore[assignment]
    return node


@transaction.atomic
def ensure_demo_users() -> tuple[list[DemoLogin], str]:
    password = demo_password()
    country = Territory.objects.filter(path="MX").first()
    if country is None:
        raise RuntimeError("no territories loaded: run `bienestar load-reference` first")
    centre = _pick_health_centre()
    state = (
        _state_of(centre.territory)
        if centre
        else Territory.objects.filter(kind=TerritoryKind.STATE).order_by("path").first()
    )
    assert state is not None
    local = centre.territory if centre else state
    if local.kind == TerritoryKind.LOCALITY and local.parent_id:
        local = local.parent  # type: ignore[assignment]
    warehouse = Facility.objects.filter(
        facility_type=FacilityType.WAREHOUSE, territory__path__startswith=state.path + "."
    ).first()
    if warehouse is None:
        # The loaded catalogue has no warehouse in this state: the demo gets a clearly synthetic one.
        warehouse, _ = Facility.objects.get_or_create(
            other_code=f"DEMO-ALM-{state.code}",
            defaults={
                "name": f"Almacén estatal de {state.name} (demostración)",
                "institution": Institution.IMSS_BIENESTAR,
                "facility_type": FacilityType.WAREHOUSE,
                "level_of_care": 1,
                "territory": local,
                "source": "demo",
            },
        )
    from bienestar.inventory.network import network_seed_state

    network_seed_state(warehouse=warehouse, state_path=state.path)  # issue 16: who supplies whom

    plan = [
        ("central", Role.NATIONAL_COORDINATOR, "coordinación nacional", country, None),
        ("estatal", Role.STATE_COORDINATOR, f"coordinación estatal de {state.name}", state, None),
        (
            "medico",
            Role.CLINICIAN,
            f"médica familiar en {centre.name if centre else state.name}",
            state,
            centre,
        ),
        (
            "farmacia",
            Role.PHARMACIST,
            f"farmacia de {centre.name if centre else state.name}",
            state,
            centre,
        ),
        ("almacen", Role.WAREHOUSE_MANAGER, f"almacén de {state.name}", state, warehouse),
        ("gestor", Role.OUTREACH_MANAGER, f"gestor del bienestar en {local.name}", local, None),
        ("auditor", Role.AUDITOR, "auditoría (bitácora de accesos)", country, None),
        (
            "integrador",
            Role.INTEGRATOR,
            "cliente de API de otra institución, alcance nacional",
            country,
            None,
        ),
    ]
    names = {
        "central": ("Claudia", "Ramírez Ortega"),
        "estatal": ("Jorge", "Mendoza Castillo"),
        "medico": ("Ana María", "Ruiz Santiago"),
        "farmacia": ("Luis", "Hernández Cruz"),
        "almacen": ("Patricia", "Flores Reyes"),
        "gestor": ("Miguel", "Sánchez Morales"),
        "auditor": ("Verónica", "Torres Jiménez"),
        "integrador": ("Sistema", "ISSSTE (integración)"),
    }
    logins = []
    for username, role, description, territory, facility in plan:
        user, _created = User.objects.get_or_create(username=username)
        user.role = role
        user.territory = territory
        user.facility = facility
        user.first_name, user.last_name = names[username]
        user.is_staff = username == "central"
        user.is_superuser = False
        user.set_password(password)
        user.save()
        logins.append(DemoLogin(username, str(role.label), description, territory.name))

    medico = User.objects.get(username="medico")
    if medico.practitioner_id is None:
        practitioner, _ = Practitioner.objects.get_or_create(
            licence_number="99000001",
            defaults={
                "given_names": "Ana María",
                "first_surname": "Ruiz",
                "second_surname": "Santiago",
            },
        )
        family = Specialty.objects.filter(code="family_medicine").first()
        if family is not None:
            practitioner.specialties.add(family)
        medico.practitioner = practitioner
        medico.save(update_fields=["practitioner"])
    return logins, password
