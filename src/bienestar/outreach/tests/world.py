"""The outreach test world, shared by the app's tests and the browser journey."""

from __future__ import annotations

from typing import Any


def build_field() -> dict[str, Any]:
    """A team holding two sectors with a gestor; two households in them (and one in a third,
    unassigned sector); a coordinator; a gestor of another team; a clinician (wrong role)."""
    import datetime as dt
    from decimal import Decimal

    from bienestar.access.roles import Role
    from bienestar.access.tests.factories import UserFactory, actor_for
    from bienestar.households.tests.factories import HouseholdFactory, HouseholdMemberFactory
    from bienestar.outreach import teams
    from bienestar.outreach.models import Sector
    from bienestar.people.models import Sex
    from bienestar.people.tests.factories import PersonFactory
    from bienestar.territories.models import Territory

    bogota = Territory.objects.get(path="CO.11001")
    coordinator = UserFactory(username="coord_f", role=Role.STATE_COORDINATOR, territory=bogota)
    gestor = UserFactory(username="gestor_f", role=Role.OUTREACH_MANAGER, territory=bogota)
    other_gestor = UserFactory(username="gestor_o", role=Role.OUTREACH_MANAGER, territory=bogota)
    clinician = UserFactory(username="clin_f", role=Role.CLINICIAN, territory=bogota)
    coord = actor_for(coordinator)
    sectors = list(
        Sector.objects.filter(area="urban").select_related("territory").order_by("code")[:3]
    )
    team = teams.team_create(coord, code="SUR-01", name="Equipo Sur 1", territory_path="CO.11001")
    other_team = teams.team_create(
        coord, code="SUR-02", name="Equipo Sur 2", territory_path="CO.11001"
    )
    teams.team_member_add(coord, team=team, user=gestor, role="wellbeing_manager")
    teams.team_member_add(coord, team=other_team, user=other_gestor, role="wellbeing_manager")
    teams.team_sector_assign(coord, team=team, sector=sectors[0])
    teams.team_sector_assign(coord, team=team, sector=sectors[1])
    teams.team_sector_assign(coord, team=other_team, sector=sectors[2])
    households = []
    for i, sector in enumerate(sectors):
        h = HouseholdFactory(
            territory=sector.territory,
            latitude=sector.latitude + Decimal("0.001") * i,
            longitude=sector.longitude,
        )
        head = PersonFactory(
            territory=sector.territory, sex=Sex.MALE, birth_date=dt.date(1968, 3, 1)
        )
        partner = PersonFactory(
            territory=sector.territory,
            sex=Sex.FEMALE,
            birth_date=dt.date(1995, 7, 9),
            given_names="Ana",
        )
        HouseholdMemberFactory(household=h, person=head, relationship="head")
        HouseholdMemberFactory(household=h, person=partner, relationship="spouse")
        households.append((h, head, partner))
    return {
        "coordinator": coordinator,
        "gestor": gestor,
        "other_gestor": other_gestor,
        "clinician": clinician,
        "team": team,
        "sectors": sectors,
        "households": households,
    }
