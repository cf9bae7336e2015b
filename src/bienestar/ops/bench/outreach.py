"""`worklist_p95_ms` and `visit_submit_per_s` (issue 12): one gestor whose team holds 20 Bogotá
sectors with 2,000 households.

Set-up (removed afterwards): Bogotá's synthetic sectors (generated once if absent), a team and a
gestor, 2,000 households with one member each, consent given, and three ready tasks per household
(written directly with their deterministic ids: mixed flags, a third overdue).

- `worklist_p95_ms`: `outreach.field_selectors.worklist` for that gestor (scope subqueries, the
  ordering urgent / overdue / priority, grouping, the audit row). Baseline: the same ordered
  SELECT of the ready tasks of those sectors' households in raw psycopg.
- `visit_submit_per_s`: `outreach.field.visit_record` in a loop for `seconds` (row lock, scope,
  insert, audit, rule recomputation for the household). Baseline: the same INSERTs into
  outreach_visit in raw psycopg, one per transaction.
"""

from __future__ import annotations

import datetime as dt
import random
import time
import uuid
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from bienestar.ops.bench.common import Metric, metric, percentile, raw_connection, timed_ms

HOUSEHOLDS = 2_000
SECTORS = 20
MARK = "bench-outreach"


def _setup() -> dict[str, Any]:
    from bienestar.access.models import User
    from bienestar.access.roles import Role
    from bienestar.config.home import reference_dir
    from bienestar.households.models import Household, HouseholdMember
    from bienestar.outreach.models import (
        HouseholdProfile,
        Sector,
        Task,
        Team,
        TeamMember,
        TeamSector,
    )
    from bienestar.outreach.rules import task_id
    from bienestar.people import national_id
    from bienestar.people.models import IssuedHealthId, Person
    from bienestar.synth.outreach_sectors import generate_sectors
    from bienestar.territories.models import Territory

    if not Sector.objects.exists():
        directory = reference_dir()
        if directory is None:
            raise RuntimeError("no reference directory: Bogotá's sectors cannot be generated")
        generate_sectors(directory, seed=1)
    rng = random.Random(12)
    bogota = Territory.objects.get(path="CO.11001")
    sectors = list(
        Sector.objects.filter(area="urban").select_related("territory").order_by("code")[:SECTORS]
    )
    today = timezone.localdate()
    with transaction.atomic():
        user, _ = User.objects.update_or_create(
            username=MARK,
            defaults={"role": Role.OUTREACH_MANAGER, "territory": bogota, "is_active": True},
        )
        team = Team.objects.create(code=MARK, name="Equipo de prueba", territory=bogota)
        TeamMember.objects.create(team=team, user=user, role="wellbeing_manager", since=today)
        TeamSector.objects.bulk_create(
            [TeamSector(team=team, sector=s, since=today) for s in sectors]
        )
        ids: set[str] = set()
        while len(ids) < HOUSEHOLDS:
            ids.add(national_id.generate(rng))
        IssuedHealthId.objects.bulk_create(
            [IssuedHealthId(value=v) for v in ids], ignore_conflicts=True
        )
        homes = []
        persons = []
        for i, value in enumerate(sorted(ids)):
            sector = sectors[i % SECTORS]
            homes.append(
                Household(
                    territory=sector.territory,
                    address_line=f"{MARK} {i}",
                    latitude=sector.latitude + Decimal(rng.randint(-200, 200)) / 100_000,
                    longitude=sector.longitude + Decimal(rng.randint(-200, 200)) / 100_000,
                )
            )
            persons.append(
                Person(
                    national_health_id=value,
                    given_names="Prueba",
                    first_surname=MARK,
                    sex="F" if i % 2 else "M",
                    birth_date=dt.date(1960 + i % 40, 1 + i % 12, 1 + i % 28),
                    territory=sector.territory,
                )
            )
        Household.objects.bulk_create(homes, batch_size=1000)
        Person.objects.bulk_create(persons, batch_size=1000)
        HouseholdMember.objects.bulk_create(
            [
                HouseholdMember(household=h, person=p, relationship="head")
                for h, p in zip(homes, persons, strict=True)
            ],
            batch_size=1000,
        )
        HouseholdProfile.objects.bulk_create(
            [HouseholdProfile(household=h, consent="given") for h in homes], batch_size=1000
        )
        by_territory = {s.territory_id: s for s in sectors}
        tasks = []
        kinds = [
            ("urgent_referral", "urgent", 100),
            ("bp_confirm", "priority", 65),
            ("revisit", "routine", 30),
        ]
        for i, (h, p) in enumerate(zip(homes, persons, strict=True)):
            for k, (kind, flag, score) in enumerate(kinds):
                if kind == "urgent_referral" and i % 10:
                    kind, flag, score = "diabetes_referral", "priority", 60
                due = today + dt.timedelta(days=(-3 if (i + k) % 3 == 0 else 5))
                tasks.append(
                    Task(
                        public_id=task_id(str(p.public_id), f"BENCH-{k}", f"bench:{i}"),
                        rule_code=f"BENCH-{k}",
                        rule_version=1,
                        kind=kind,
                        trigger=f"bench:{i}",
                        household=h,
                        person=p,
                        sector=by_territory[h.territory_id],
                        flag=flag,
                        priority_score=score,
                        due_date=due,
                        window_end=due + dt.timedelta(days=14),
                    )
                )
        Task.objects.bulk_create(tasks, batch_size=2000)
    with connection.cursor() as cursor:
        cursor.execute(
            "ANALYZE outreach_task; ANALYZE households_household; ANALYZE outreach_teamsector"
        )
    return {"user": user, "team": team, "homes": homes, "persons": persons, "sectors": sectors}


def _teardown(ctx: dict[str, Any]) -> None:
    from bienestar.households.models import Household, HouseholdMember
    from bienestar.outreach.models import (
        HouseholdProfile,
        Task,
        TaskEvent,
        Team,
        TeamMember,
        TeamSector,
    )
    from bienestar.people.models import IssuedHealthId, Person

    home_ids = [h.id for h in ctx["homes"]]
    with transaction.atomic(), connection.cursor() as cursor:
        # Visits are append-only for everyone; the bench removes its own rows with the table
        # owner's right to switch the trigger off inside this one transaction.
        cursor.execute("ALTER TABLE outreach_visit DISABLE TRIGGER outreach_visit_append_only")
        cursor.execute("DELETE FROM outreach_visit WHERE household_id = ANY(%s)", [home_ids])
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending events: ALTER refuses them
        cursor.execute("ALTER TABLE outreach_visit ENABLE TRIGGER outreach_visit_append_only")
        TaskEvent.objects.filter(task__household_id__in=home_ids).delete()
        Task.objects.filter(household_id__in=home_ids).delete()
        HouseholdProfile.objects.filter(household_id__in=home_ids).delete()
        HouseholdMember.objects.filter(household_id__in=home_ids).delete()
        Household.objects.filter(id__in=home_ids).delete()
        values = [p.national_health_id for p in ctx["persons"]]
        Person.objects.filter(id__in=[p.id for p in ctx["persons"]]).delete()
        IssuedHealthId.objects.filter(value__in=values).delete()
        TeamSector.objects.filter(team=ctx["team"]).delete()
        TeamMember.objects.filter(team=ctx["team"]).delete()
        Team.objects.filter(pk=ctx["team"].pk).delete()


BASELINE_SQL = (
    "SELECT t.id, t.public_id, t.kind, t.flag, t.due_date, t.household_id, t.person_id "
    "FROM outreach_task t JOIN households_household h ON h.id = t.household_id "
    "JOIN outreach_sector s ON s.territory_id = h.territory_id "
    "WHERE t.status = 'ready' AND s.id IN (SELECT sector_id FROM outreach_teamsector "
    "WHERE team_id = %s AND until IS NULL) "
    "ORDER BY CASE t.flag WHEN 'urgent' THEN 0 WHEN 'priority' THEN 1 ELSE 2 END, "
    "CASE WHEN t.due_date < current_date THEN 0 ELSE 1 END, t.priority_score DESC, t.due_date, t.id"
)


def outreach_metrics(samples: int, seconds: float) -> dict[str, Metric]:
    from bienestar.access.actor import Actor
    from bienestar.outreach import field, field_selectors

    ctx = _setup()
    try:
        actor = Actor(user=ctx["user"], channel="web")
        samples = max(5, min(samples, 100))
        shown = field_selectors.worklist(actor)
        times = timed_ms(lambda: field_selectors.worklist(actor), samples)
        with raw_connection() as conn:
            raw = timed_ms(lambda: conn.execute(BASELINE_SQL, [ctx["team"].id]).fetchall(), samples)
        out: dict[str, Metric] = {
            "worklist_p95_ms": metric(
                percentile(times, 95),
                "ms",
                percentile(raw, 95),
                f"field_selectors.worklist for a gestor whose team holds {SECTORS} sectors with "
                f"{len(shown.items)} households and {shown.total_tasks} ready tasks (scope, ordering, "
                f"grouping, audit row), {samples} samples; baseline: the ordered SELECT of those "
                "tasks in raw psycopg",
            )
        }
        rng = random.Random(5)
        homes = ctx["homes"]
        done = 0
        end = time.perf_counter() + seconds
        start = time.perf_counter()
        while time.perf_counter() < end:
            field.visit_record(
                actor,
                household=homes[rng.randrange(len(homes))],
                setting="home",
                outcome="contacted",
                device_time=timezone.now(),
                public_id=uuid.uuid4(),
            )
            done += 1
        service_rate = done / (time.perf_counter() - start)
        sector_of = {s.territory_id: s.id for s in ctx["sectors"]}
        raw_done = 0
        with raw_connection() as conn:
            end = time.perf_counter() + seconds
            start = time.perf_counter()
            while time.perf_counter() < end:
                h = homes[rng.randrange(len(homes))]
                now = timezone.now()
                conn.execute(
                    "INSERT INTO outreach_visit (public_id, created_at, updated_at, household_id, "
                    "sector_id, team_id, worker_id, setting, outcome, device_time, server_time) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, 'home', 'contacted', %s, %s)",
                    [
                        uuid.uuid4(),
                        now,
                        now,
                        h.id,
                        sector_of[h.territory_id],
                        ctx["team"].id,
                        ctx["user"].id,
                        now,
                        now,
                    ],
                )
                raw_done += 1
            raw_rate = raw_done / (time.perf_counter() - start)
        out["visit_submit_per_s"] = metric(
            service_rate,
            "req/s",
            raw_rate,
            f"field.visit_record for {seconds:g} s, one thread ({done} visits: household lock, "
            "scope, insert, audit, rules recomputed for the household); baseline: the same "
            "INSERT into outreach_visit in raw psycopg, autocommit, one thread",
        )
        return out
    finally:
        _teardown(ctx)
