"""Outreach: sectors with their planning fields, priority schemes, rollout plans, teams, and the
field records (characterisation, visits, screenings, tasks).

Every record made in the field carries a `public_id` the device may generate (UUID, unique), so an
offline client (issue 13) can create it once and retry safely. Visits and screenings are
append-only: the database refuses UPDATE and DELETE on them (migration 0002); a correction is a
new record.
"""

from bienestar.outreach.models.field import (
    ConsentStatus,
    HouseholdProfile,
    MemberProfile,
    Screening,
    ScreeningKind,
    Visit,
    VisitOutcome,
    VisitSetting,
)
from bienestar.outreach.models.planning import (
    CoverageStatus,
    PlanSector,
    PriorityScheme,
    RolloutPlan,
    Sector,
    Tier,
)
from bienestar.outreach.models.tasks import Flag, Task, TaskEvent, TaskStatus
from bienestar.outreach.models.teams import MemberRole, Team, TeamMember, TeamSector

__all__ = [
    "ConsentStatus",
    "CoverageStatus",
    "Flag",
    "HouseholdProfile",
    "MemberProfile",
    "MemberRole",
    "PlanSector",
    "PriorityScheme",
    "RolloutPlan",
    "Screening",
    "ScreeningKind",
    "Sector",
    "Task",
    "TaskEvent",
    "TaskStatus",
    "Team",
    "TeamMember",
    "TeamSector",
    "Tier",
    "Visit",
    "VisitOutcome",
    "VisitSetting",
]
