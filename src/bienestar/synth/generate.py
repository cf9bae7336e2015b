"""`build_network`: a reproducible synthetic network on top of the loaded reference data.

Guarantees:
- Same seed, same size, same reference data and same `as_of` give the same rows (every random draw
  comes from `random.Random` generators seeded from the seed; no clock, `uuid4` or `secrets`).
- All or nothing: the whole network is written in one transaction, and its `SynthRun` is marked
  finished in that same transaction, so an interrupted run leaves nothing behind. A run found
  unfinished (which only a crash of a future resumable version could leave) is removed first.
- Idempotent: if a finished network with the same seed, size and `as_of` exists, nothing is written
  and the summary says so (activity included: `months` is not part of a network's identity).
- Top-up: asked again with the same seed and size and a later `as_of` (the demo re-run on a later
  day), the existing network gets the activity of the missing days, from the day after its last
  activity to `as_of`, from streams of its own (activity_writer.write_activity), and the run's
  summary lists each top-up; an earlier `as_of` is refused like a different network. A
  different seed or size is refused unless `add=True`, because the demo, indicators and benchmarks
  assume one network per database; with `add=True` a further network is generated beside the
  existing ones (its identifiers stay unique; already staffed facilities are reused as they are).
- Concurrent runs are serialised with a transaction-level advisory lock.
- Activity: `months` (default 6) of encounters, diagnoses, vital signs, prescriptions, pharmacy
  deliveries and dispensing before `as_of` are generated in the same transaction (activity.py,
  pharmacy.py, activity_writer.py); `months=0` writes the network alone.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from dataclasses import dataclass, field

from django.apps import apps
from django.db import connection, transaction
from django.db.models.functions import Left
from django.utils import timezone
from django.utils.translation import gettext as _
from tqdm import tqdm

from bienestar.access.actor import Actor
from bienestar.access.audit import audit_record
from bienestar.access.models import AuditAction
from bienestar.core.errors import Conflict, ValidationFailed
from bienestar.facilities.models import Facility, FacilityType, Institution
from bienestar.people.models import IdentifierSystem, IssuedHealthId, PersonIdentifier
from bienestar.synth import cleanup
from bienestar.synth.activity_writer import DEFAULT_MONTHS, MAX_MONTHS, write_activity
from bienestar.synth.demography import NamePicker
from bienestar.synth.models import SynthFacility, SynthRun
from bienestar.synth.network import (
    CatalogueFacility,
    PlannedFacility,
    Staff,
    municipality_of,
    new_uuid,
    plan_state,
    resolve_specialties,
    staff_facility,
)
from bienestar.synth.population import Home, Municipality, StateInput, Taken, generate_state
from bienestar.synth.tables import (
    FALLBACK_MUNICIPALITIES,
    NATIONAL_UNINSURED_SHARE,
    NON_ADHERENT_STATES,
    STATES,
)
from bienestar.synth.writer import write_population, write_staff
from bienestar.territories.models import PopulationDenominator, Territory, TerritoryKind
from bienestar.workforce.models import Practitioner, StaffingGoal

GENERATOR_VERSION = "2"  # 2: months of clinical and pharmacy activity
DEFAULT_AS_OF = dt.date(2026, 1, 1)
MAX_PEOPLE = 5_000_000
ADVISORY_LOCK = 0x5EED_B1E5  # any constant shared by every synth run


@dataclass
class NetworkSummary:
    seed: int
    people: int
    as_of: dt.date
    run_id: int | None = None
    skipped: bool = False
    discarded_unfinished: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    topped_up_from: dt.date | None = None

    @property
    def message(self) -> str:
        if self.topped_up_from is not None:
            parts = ", ".join(f"{k}={v}" for k, v in self.counts.items())
            return _(
                "Actividad sintética completada del %(start)s al %(end)s en %(s).1f s: %(parts)s"
            ) % {
                "start": self.topped_up_from.isoformat(),
                "end": self.as_of.isoformat(),
                "s": self.seconds,
                "parts": parts,
            }
        if self.skipped:
            return _(
                "Ya existe una red sintética con semilla %(seed)s y %(people)s personas; no se generó nada."
            ) % {"seed": self.seed, "people": self.people}
        parts = ", ".join(f"{k}={v}" for k, v in self.counts.items())
        return _("Red sintética generada en %(s).1f s: %(parts)s") % {
            "s": self.seconds,
            "parts": parts,
        }


def build_network(
    *,
    people: int,
    seed: int = 1,
    progress: bool = False,
    as_of: dt.date = DEFAULT_AS_OF,
    add: bool = False,
    months: int = DEFAULT_MONTHS,
) -> NetworkSummary:
    """Generate a network of `people` synthetic residents of Mexico, with `months` of activity
    (see the module docstring)."""
    if not 1 <= people <= MAX_PEOPLE:
        raise ValidationFailed(
            _("El número de personas debe estar entre 1 y %(max)s.") % {"max": MAX_PEOPLE},
            field="people",
        )
    if not 0 <= months <= MAX_MONTHS:
        raise ValidationFailed(
            _("Los meses de actividad deben estar entre 0 y %(max)s.") % {"max": MAX_MONTHS},
            field="months",
        )
    started = time.perf_counter()
    summary = NetworkSummary(seed=seed, people=people, as_of=as_of)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK])
        summary.discarded_unfinished = cleanup.discard_unfinished()
        finished = list(SynthRun.objects.filter(finished_at__isnull=False).order_by("id"))
        same = next(
            (
                r
                for r in finished
                if (r.seed, r.people) == (seed, people)
                and r.as_of <= as_of
                and (r.as_of == as_of or activity_until(r) is not None)
            ),
            None,
        )
        if same is not None:
            summary.run_id = same.id
            until = activity_until(same)
            if until is None or until >= as_of:
                summary.skipped = True
                summary.counts = dict(same.summary.get("counts", {}))
                return summary
            _top_up(
                same, summary, since=until + dt.timedelta(days=1), months=months, progress=progress
            )
            summary.seconds = round(time.perf_counter() - started, 1)
            return summary
        if finished and not add:
            other = finished[-1]
            raise Conflict(
                _(
                    "Ya existe una red sintética (semilla %(seed)s, %(people)s personas). No se agrega otra: "
                    "use una base de datos nueva, o --add para generar una red adicional."
                )
                % {"seed": other.seed, "people": other.people}
            )
        now = timezone.now()
        run = SynthRun.objects.create(
            seed=seed,
            people=people,
            as_of=as_of,
            generator_version=GENERATOR_VERSION,
            started_at=now,
        )
        summary.run_id = run.id
        summary.counts = _generate(run, progress=progress, now=now)
        activity_counts, activity = write_activity(run=run, months=months, progress=progress)
        summary.counts.update(activity_counts)
        with connection.cursor() as cursor:
            # Check the deferred foreign keys now rather than at commit, so that the time reported
            # is the whole cost, and a broken reference fails here; then restore the default.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        summary.seconds = round(time.perf_counter() - started, 1)
        run.summary = {
            "counts": summary.counts,
            "seconds": summary.seconds,
            "activity": activity,
        }
        run.finished_at = timezone.now()
        run.save(update_fields=["summary", "finished_at"])
        audit_record(
            Actor.system("cli"),
            action=AuditAction.CREATE,
            resource_type="SynthRun",
            resource_id=str(run.id),
            query={
                "seed": seed,
                "people": people,
                "as_of": as_of.isoformat(),
                "counts": summary.counts,
            },
        )
    return summary


def activity_until(run: SynthRun) -> dt.date | None:
    """The last day of the run's synthetic activity (its first window or its latest top-up)."""
    windows = [run.summary.get("activity", {}), *run.summary.get("top_ups", [])]
    ends = [dt.date.fromisoformat(w["to"]) for w in windows if w.get("to")]
    return max(ends) if ends else None


def _top_up(
    run: SynthRun, summary: NetworkSummary, *, since: dt.date, months: int, progress: bool
) -> None:
    """Write the activity of the days [since, summary.as_of] for an existing network (a later run of
    the demo), inside the caller's transaction, and note it in the run's summary."""
    counts, note = write_activity(
        run=run, months=max(months, 1), progress=progress, start=since, as_of=summary.as_of
    )
    note["counts"] = counts
    run.summary = {**run.summary, "top_ups": [*run.summary.get("top_ups", []), note]}
    run.save(update_fields=["summary"])
    summary.counts, summary.topped_up_from = counts, since
    audit_record(
        Actor.system("cli"),
        action=AuditAction.UPDATE,
        resource_type="SynthRun",
        resource_id=str(run.id),
        query={"top_up": [since.isoformat(), summary.as_of.isoformat()], "counts": counts},
    )


def _generate(run: SynthRun, *, progress: bool, now: dt.datetime) -> dict[str, int]:
    seed, as_of = run.seed, run.as_of
    context_rng = random.Random(f"bienestar.synth/{seed}/context")
    states = load_states(context_rng)
    taken = load_taken()
    sizes = apportion(run.people, [(s.code, s.weight) for s in states])
    birth_states = ([s.code for s in states], _cum([s.weight for s in states]))
    homes_by_state: dict[str, list[Home]] = {}
    with tqdm(total=run.people, desc="personas", unit="pers", disable=not progress) as bar:
        for state in states:
            homes_by_state[state.code] = generate_state(
                state=state,
                people=sizes[state.code],
                seed=seed,
                as_of=as_of,
                taken=taken,
                birth_states=birth_states,
            )
            bar.update(sizes[state.code])
    plans = _plan_facilities(states, homes_by_state, sizes, taken, seed)
    created = [f.new for plan in plans.values() for f in plan if f.new is not None]
    Facility.objects.bulk_create(created)
    for plan in plans.values():
        for f in plan:
            if f.new is not None:
                f.facility_id = f.new.id
    for state in states:
        _assign_facilities(
            homes_by_state[state.code],
            plans.get(state.code, []),
            random.Random(f"bienestar.synth/{seed}/{state.code}/facilities"),
        )
    homes = [h for s in states for h in homes_by_state[s.code]]
    counts = write_population(homes=homes, run_id=run.id, now=now, progress=progress)

    staffed_before = set(StaffingGoal.objects.values_list("facility_id", flat=True).distinct())
    staff_rng = random.Random(f"bienestar.synth/{seed}/staff")
    specialties = resolve_specialties(staff_rng)
    staff = Staff()
    links: list[SynthFacility] = []
    for state in states:
        names = NamePicker(state.code)
        deprivation = STATES[state.code].deprivation if state.code in STATES else 0.45
        for f in plans.get(state.code, []):
            assert f.facility_id is not None
            staffed = f.facility_id not in staffed_before
            if staffed:
                staffed_before.add(f.facility_id)
                staff_facility(
                    staff=staff,
                    facility_id=f.facility_id,
                    role=f.role,
                    consulting_rooms=f.consulting_rooms,
                    deprivation=deprivation,
                    taken_licences=taken.licences,
                    names=names,
                    as_of=as_of,
                    rng=staff_rng,
                )
            links.append(
                SynthFacility(
                    run=run,
                    facility_id=f.facility_id,
                    role=f.role,
                    created=f.new is not None,
                    staffed=staffed,
                )
            )
    SynthFacility.objects.bulk_create(links)
    counts.update(write_staff(staff=staff, specialties=specialties, now=now))
    counts["facilities"] = len(links)
    counts["facilities_created"] = len(created)
    return counts


def _cum(weights: list[float]) -> list[float]:
    out, total = [], 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


def apportion(total: int, weights: list[tuple[str, float]]) -> dict[str, int]:
    """Split `total` in proportion to `weights` (largest remainder; ties by key), deterministically."""
    whole = sum(w for _k, w in weights) or 1.0
    quotas = [(k, total * w / whole) for k, w in weights]
    out = {k: int(q) for k, q in quotas}
    left = total - sum(out.values())
    for k, _q in sorted(quotas, key=lambda kq: (-(kq[1] - int(kq[1])), kq[0]))[:left]:
        out[k] += 1
    return out


def load_states(rng: random.Random) -> list[StateInput]:
    """Mexico's states with their population weights, uninsured shares and municipalities.

    States without municipalities get their three most populous ones (real INEGI keys), so that
    people live in municipalities even with only the shipped fallback loaded."""
    states = list(
        Territory.objects.filter(kind=TerritoryKind.STATE, path__regex=r"^MX\.[0-9]{2}$").order_by(
            "path"
        )
    )
    if not states:
        raise ValidationFailed(
            _(
                "No hay estados de México cargados: ejecute `bienestar load-reference` antes de `bienestar synth`."
            )
        )
    denominators = _denominators([s.id for s in states])
    municipalities = _municipalities(states, rng)
    out = []
    for s in states:
        code = s.path.split(".")[1]
        facts = STATES.get(code)
        den = denominators.get(s.id)
        weight = float(den.total) if den else float(facts.population_2020 if facts else 1_000_000)
        share = (
            den.uninsured / den.total
            if den and den.uninsured is not None and den.total
            else NATIONAL_UNINSURED_SHARE
        )
        out.append(
            StateInput(
                code=code,
                territory_id=s.id,
                name=s.name,
                abbreviation=(s.abbreviation or (facts.abbreviation if facts else "")).upper()[:2]
                or "NE",
                uninsured_share=share,
                weight=weight,
                municipalities=municipalities[s.path],
            )
        )
    return out


def _denominators(territory_ids: list[int]) -> dict[int, PopulationDenominator]:
    """Per territory, the census 2020 denominator (with uninsured when known), else the latest."""
    best: dict[int, PopulationDenominator] = {}
    rows = PopulationDenominator.objects.filter(territory_id__in=territory_ids).order_by(
        "territory_id", "source", "year"
    )
    for d in rows:
        key = (d.year == 2020, d.uninsured is not None, d.year)
        current = best.get(d.territory_id)
        if current is None or key > (
            current.year == 2020,
            current.uninsured is not None,
            current.year,
        ):
            best[d.territory_id] = d
    return best


def _municipalities(states: list[Territory], rng: random.Random) -> dict[str, list[Municipality]]:
    rows = list(
        Territory.objects.filter(kind=TerritoryKind.MUNICIPALITY, path__startswith="MX.").order_by(
            "path"
        )
    )
    by_state: dict[str, list[Territory]] = {s.path: [] for s in states}
    for t in rows:
        parent = ".".join(t.path.split(".")[:2])
        if parent in by_state:
            by_state[parent].append(t)
    missing = [
        s
        for s in states
        if not by_state[s.path] and s.path.split(".")[1] in FALLBACK_MUNICIPALITIES
    ]
    for s in missing:
        for code, name, _population in FALLBACK_MUNICIPALITIES[s.path.split(".")[1]]:
            by_state[s.path].append(
                Territory.objects.create(
                    kind=TerritoryKind.MUNICIPALITY,
                    code=code,
                    name=name,
                    parent=s,
                    path=f"{s.path}.{code}",
                    source="synth",
                    public_id=new_uuid(rng),
                )
            )
    denominators = _denominators([t.id for ts in by_state.values() for t in ts])
    out: dict[str, list[Municipality]] = {}
    for s in states:
        fallback = {c: p for c, _n, p in FALLBACK_MUNICIPALITIES.get(s.path.split(".")[1], ())}
        known = [float(denominators[t.id].total) for t in by_state[s.path] if t.id in denominators]
        default = sorted(known)[len(known) // 2] if known else 1.0
        munis = []
        for t in by_state[s.path]:
            weight = (
                float(denominators[t.id].total)
                if t.id in denominators
                else float(fallback.get(t.code, default))
            )
            munis.append(
                Municipality(
                    territory_id=t.id,
                    path=t.path,
                    name=t.name,
                    weight=max(weight, 1.0),
                    latitude=float(t.latitude) if t.latitude is not None else None,
                    longitude=float(t.longitude) if t.longitude is not None else None,
                )
            )
        if not munis:  # a state with neither municipalities nor a fallback table: live in the state
            munis.append(Municipality(territory_id=s.id, path=s.path, name=s.name, weight=1.0))
        out[s.path] = munis
    return out


def load_taken() -> Taken:
    """Identifier values already in the database, which the new network must not reuse."""
    taken = Taken()
    identifiers = PersonIdentifier.objects.order_by()
    taken.curp_prefixes = set(
        identifiers.filter(system=IdentifierSystem.CURP)
        .annotate(prefix=Left("value", 17))
        .values_list("prefix", flat=True)
    )
    taken.nss = set(
        identifiers.filter(system=IdentifierSystem.IMSS_NSS).values_list("value", flat=True)
    )
    taken.health_ids = set(IssuedHealthId.objects.values_list("value", flat=True))
    taken.licences = set(Practitioner.objects.values_list("licence_number", flat=True))
    taken.clues = {
        c for c in Facility.objects.exclude(clues=None).values_list("clues", flat=True) if c
    }
    try:
        keys = apps.get_model("terminology", "CluesKey")
    except LookupError:
        keys = None
    if keys is not None:
        taken.clues |= set(keys.objects.values_list("clues", flat=True))
    return taken


def _network_institution(state_code: str, abbreviation: str) -> str:
    """IMSS-Bienestar, or the state services where the state did not join IMSS-Bienestar."""
    try:
        keys = apps.get_model("terminology", "CluesKey")
    except LookupError:
        keys = None
    if keys is not None and keys.objects.exists():
        has_imb = (
            keys.objects.filter(state_abbreviation=abbreviation, institution_code="IMB").count()
            >= 10
        )
        return Institution.IMSS_BIENESTAR if has_imb else Institution.STATE_SERVICES
    return (
        Institution.STATE_SERVICES
        if state_code in NON_ADHERENT_STATES
        else Institution.IMSS_BIENESTAR
    )


def _plan_facilities(
    states: list[StateInput],
    homes_by_state: dict[str, list[Home]],
    sizes: dict[str, int],
    taken: Taken,
    seed: int,
) -> dict[str, list[PlannedFacility]]:
    catalogue: dict[tuple[str, str], list[CatalogueFacility]] = {}
    rows = (
        Facility.objects.filter(
            in_operation=True,
            territory__path__startswith="MX.",
            institution__in=[Institution.IMSS_BIENESTAR, Institution.STATE_SERVICES],
            facility_type__in=[
                FacilityType.HEALTH_CENTRE,
                FacilityType.GENERAL_HOSPITAL,
                FacilityType.RURAL_HOSPITAL,
            ],
        )
        .order_by("clues", "id")
        .values_list(
            "id",
            "clues",
            "facility_type",
            "institution",
            "territory__path",
            "consulting_rooms",
            "latitude",
            "longitude",
        )
    )
    for fid, clues, ftype, institution, path, rooms, lat, lon in rows:
        catalogue.setdefault((path.split(".")[1], institution), []).append(
            CatalogueFacility(
                id=fid,
                clues=clues or "",
                facility_type=ftype,
                municipality=municipality_of(path),
                consulting_rooms=rooms,
                latitude=float(lat) if lat is not None else None,
                longitude=float(lon) if lon is not None else None,
            )
        )
    plans: dict[str, list[PlannedFacility]] = {}
    for state in states:
        homes = homes_by_state[state.code]
        if not homes:
            continue
        per_muni: dict[str, int] = {}
        for h in homes:
            per_muni[h.municipality.path] = per_muni.get(h.municipality.path, 0) + 1
        institution = _network_institution(state.code, state.abbreviation)
        plan = plan_state(
            state_name=state.name,
            abbreviation=state.abbreviation,
            state_territory_id=state.territory_id,
            people=sizes[state.code],
            institution=institution,
            households_by_municipality=per_muni,
            municipalities={m.path: m for m in state.municipalities},
            catalogue=catalogue.get((state.code, institution), []),
            taken_clues=taken.clues,
            rng=random.Random(f"bienestar.synth/{seed}/{state.code}/plan"),
        )
        plans[state.code] = plan.facilities
    return plans


def _assign_facilities(homes: list[Home], plan: list[PlannedFacility], rng: random.Random) -> None:
    """Each household is served by a centre in its municipality, else the nearest one, else any."""
    centres = [f for f in plan if f.role == "primary_care" and f.facility_id is not None]
    if not centres:
        return
    by_muni: dict[str, list[int]] = {}
    for f in centres:
        if f.municipality:
            by_muni.setdefault(f.municipality, []).append(f.facility_id)  # type: ignore[arg-type]
    located = [
        (f.latitude, f.longitude, f.facility_id)
        for f in centres
        if f.latitude is not None and f.longitude is not None
    ]
    nearest: dict[str, int] = {}
    for h in homes:
        m = h.municipality
        options = by_muni.get(m.path)
        if options:
            h.facility_id = options[0] if len(options) == 1 else rng.choice(options)
        elif located and m.latitude is not None and m.longitude is not None:
            if m.path not in nearest:
                nearest[m.path] = _nearest(located, m.latitude, m.longitude)
            h.facility_id = nearest[m.path]
        else:
            h.facility_id = rng.choice(centres).facility_id


def _nearest(
    located: list[tuple[float, float, int | None]], latitude: float, longitude: float
) -> int:
    """The facility nearest a point (flat-earth distance is enough inside a state)."""
    best = min(located, key=lambda f: (f[0] - latitude) ** 2 + (f[1] - longitude) ** 2)
    assert best[2] is not None
    return best[2]
