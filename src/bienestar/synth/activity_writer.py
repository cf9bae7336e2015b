"""`write_activity`: plan a network's months of activity, simulate its pharmacies, COPY it all.

Runs inside `build_network`'s transaction, after the people and staff are written, so a network and
its activity are committed together or not at all (and a re-run with the same seed and size skips
both). Rows are written with COPY (see writer.py), never through the services:

- the services check permissions and write one audit row per record; synthetic generation is a
  single system action, recorded once (the run's audit row, and a provenance note in
  `SynthRun.summary["activity"]`), not a million times;
- every record is attributed to the inactive system user `synth` (`recorded_by`, `prescribed_by`,
  `dispensed_by`, the ledger's actor), with the synthetic practitioner as clinician or prescriber,
  so that synthetic records can always be told apart from real ones;
- the invariants the services guarantee are kept by construction and checked by `bienestar verify`:
  each lot's balance is the sum of its ledger and every `balance_after` the running sum in id order
  (the ledger is written in the order it happened), no balance below zero, every dispense movement
  names its dispense line, prescription lines add up their dispense lines, every BMI equals the
  weight and height of its encounter, blood pressure panels hold a diastolic below the systolic.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from tqdm import tqdm

from bienestar.access.models import User
from bienestar.clinical.models import Condition, Encounter, Observation
from bienestar.clinical.vitals import BP_PANEL
from bienestar.inventory.models import Lot, StockMovement
from bienestar.prescribing.models import Dispense, DispenseLine, Prescription, PrescriptionLine
from bienestar.synth import regimens as rx
from bienestar.synth.activity import (
    CodeBook,
    Plan,
    Planner,
    load_doctors,
    load_patients,
)
from bienestar.synth.immunizations import write_allergies, write_immunizations
from bienestar.synth.models import SynthFacility, SynthFacilityRole, SynthRun
from bienestar.synth.pharmacy import Stock, simulate
from bienestar.synth.writer import copy_rows, reserve_ids

SYSTEM_USERNAME = "synth"
DEFAULT_MONTHS = 6
MAX_MONTHS = 24
# Facilities with fewer prescribed lines than this are left out of the fill-rate spread.
SPREAD_MIN_LINES = 30
PROVENANCE = (
    "Actividad sintética (atenciones, diagnósticos, signos vitales, recetas, surtimientos y "
    "movimientos de inventario) escrita por el generador con COPY como una sola acción del "
    "sistema: sin una fila de bitácora por registro; la registra la fila de bitácora de esta red "
    "(SynthRun). Cada registro figura a nombre del usuario de sistema «synth»."
)


def system_user() -> User:
    """The inactive user that synthetic records are attributed to (it cannot log in)."""
    user, created = User.objects.get_or_create(
        username=SYSTEM_USERNAME,
        defaults={"first_name": "Generador", "last_name": "sintético", "is_active": False},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def _present(sql: str, values: Iterable[str]) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(sql, [sorted(set(values))])
        return {row[0] for row in cursor.fetchall()}


def _codebook() -> CodeBook:
    wanted = set(rx.CODES_USED) | {c.split(".")[0] for c in rx.CODES_USED}
    return CodeBook(_present("SELECT code FROM terminology_icd10code WHERE code = ANY(%s)", wanted))


def _pharmacies(run: SynthRun) -> list[tuple[int, str]]:
    """The run's health centres as (id, stable label), in a stable order."""
    rows = SynthFacility.objects.filter(run=run, role=SynthFacilityRole.PRIMARY_CARE).values_list(
        "facility_id", "facility__clues"
    )
    return sorted(((fid, clues or f"facility-{fid}") for fid, clues in rows), key=lambda r: r[1])


def _taken_lots(facility_ids: list[int]) -> set[tuple[int, str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT facility_id, medicine_id, lot_number FROM inventory_lot WHERE facility_id = ANY(%s)",
            [facility_ids],
        )
        return {(f, m, n) for f, m, n in cursor.fetchall()}


def _unique_codes(plan: Plan, planner: Planner) -> None:
    """Draw again the (astronomically rare) verification codes already used in the database."""
    while True:
        taken = _present(
            "SELECT code FROM prescribing_prescription WHERE code = ANY(%s)",
            (p.code for p in plan.prescriptions),
        )
        if not taken:
            return
        for p in plan.prescriptions:
            if p.code in taken:
                p.code = planner.new_code()


def write_activity(
    *,
    run: SynthRun,
    months: int = DEFAULT_MONTHS,
    progress: bool = False,
    start: dt.date | None = None,
    as_of: dt.date | None = None,
) -> tuple[dict[str, int], dict[str, Any]]:
    """Plan, simulate and write `months` of activity for the run's people (see the module
    docstring). Returns the row counts and the provenance note for `SynthRun.summary`.

    A top-up passes `start` and `as_of`: the window is then [start, as_of] (the days after the
    network's last activity), drawn from its own random streams so that it neither repeats the
    first window's draws nor depends on when the earlier windows were written."""
    started = time.perf_counter()
    until = as_of or run.as_of
    seed: int | str = run.seed if start is None else f"{run.seed}/top-up/{start.isoformat()}"
    note: dict[str, Any] = {"months": months, "provenance": PROVENANCE}
    if months <= 0:
        note["skipped"] = "months=0"
        return {}, note
    codes = _codebook()
    medicines = _present("SELECT key FROM terminology_medicine WHERE key = ANY(%s)", rx.KEYS_USED)
    if not codes.get(rx.DIABETES) or not codes.get(rx.HYPERTENSION) or not medicines:
        note["skipped"] = (
            "Sin CIE-10 o catálogo de medicamentos cargados: ejecute `bienestar load-reference`."
        )
        return {}, note
    tz = ZoneInfo(settings.TIME_ZONE)
    pharmacies = _pharmacies(run)
    patients = load_patients(run.id)
    planner = Planner(
        seed=seed,
        as_of=until,
        months=months,
        codes=codes,
        medicines=medicines,
        doctors=load_doctors([fid for fid, _label in pharmacies]),
        tz=tz,
        start=start,
        reference=run.as_of,
    )
    for patient in tqdm(patients, desc="actividad", unit="pers", disable=not progress):
        planner.add(patient)
    plan = planner.plan
    _unique_codes(plan, planner)
    stock = simulate(
        prescriptions=plan.prescriptions,
        facilities=pharmacies,
        start=planner.start,
        as_of=until,
        seed=seed,
        tz=tz,
        taken_lots=_taken_lots([fid for fid, _label in pharmacies]),
    )
    planned_at = time.perf_counter()
    user_id = system_user().id
    counts = _write(plan, stock, user_id=user_id, as_of=until, progress=progress)
    counts.update(
        write_immunizations(
            run=run,
            patients=patients,
            start=planner.start,
            until=until,
            user_id=user_id,
            history=start is None,
        )
    )
    if start is None:
        counts.update(
            write_allergies(
                run=run, patients=patients, start=planner.start, until=until, user_id=user_id
            )
        )
    note.update(
        {
            "from": planner.start.isoformat(),
            "to": until.isoformat(),
            "recorded_by": SYSTEM_USERNAME,
            "fill_rate": fill_rate_spread(plan),
            "seconds": {
                "plan": round(planned_at - started, 1),
                "write": round(time.perf_counter() - planned_at, 1),
            },
        }
    )
    return counts, note


def fill_rate_spread(plan: Plan) -> dict[str, Any]:
    """Line fill rate (lines fully dispensed within validity ÷ lines) overall and its spread across
    the facilities with at least SPREAD_MIN_LINES lines — the definition of prescribing/fill_rate.py."""
    lines: dict[int, list[int]] = {}
    for p in plan.prescriptions:
        tally = lines.setdefault(p.facility_id, [0, 0])
        for line in p.lines:
            tally[0] += 1
            if line.fully_at is not None and line.fully_at.date() <= p.valid_until:
                tally[1] += 1
    total = sum(t[0] for t in lines.values())
    rates = sorted(f / n for n, f in lines.values() if n >= SPREAD_MIN_LINES)
    out: dict[str, Any] = {
        "lines": total,
        "overall": round(sum(t[1] for t in lines.values()) / total, 4) if total else None,
        "facilities": len(rates),
    }
    if rates:
        deciles = statistics.quantiles(rates, n=10) if len(rates) > 1 else [rates[0]] * 9
        out.update(
            {
                "min": round(rates[0], 4),
                "p10": round(deciles[0], 4),
                "median": round(statistics.median(rates), 4),
                "p90": round(deciles[-1], 4),
                "max": round(rates[-1], 4),
            }
        )
    return out


def _write(
    plan: Plan, stock: Stock, *, user_id: int, as_of: dt.date, progress: bool
) -> dict[str, int]:
    encounter_ids = reserve_ids(Encounter, len(plan.encounters))
    panel_ids = reserve_ids(Observation, len(plan.panels))
    prescription_ids = reserve_ids(Prescription, len(plan.prescriptions))
    line_ids = reserve_ids(PrescriptionLine, plan.lines)
    dispense_ids = reserve_ids(Dispense, len(stock.dispenses))
    lot_ids = reserve_ids(Lot, len(stock.lots))
    counts: dict[str, int] = {}
    total = (
        len(plan.encounters)
        + len(plan.conditions)
        + len(plan.panels)
        + len(plan.observations)
        + len(plan.prescriptions)
        + plan.lines
        + len(stock.dispenses)
        + stock.dispense_lines
        + len(stock.lots)
        + len(stock.movements)
    )
    with tqdm(total=total, desc="actividad (COPY)", unit="filas", disable=not progress) as bar:
        counts["encounters"] = copy_rows(
            Encounter,
            [
                "id",
                "public_id",
                "created_at",
                "updated_at",
                "encounter_class",
                "status",
                "reason_text",
                "start",
                "end",
                "facility_id",
                "person_id",
                "practitioner_id",
                "reason_code_id",
                "recorded_by_id",
            ],
            (
                (
                    eid,
                    e.public_id,
                    e.end,
                    e.end,
                    e.encounter_class,
                    "finished",
                    e.reason_text,
                    e.start,
                    e.end,
                    e.facility_id,
                    e.person_id,
                    e.practitioner_id,
                    e.reason_code,
                    user_id,
                )
                for e, eid in zip(plan.encounters, encounter_ids, strict=True)
            ),
            bar,
        )
        counts["conditions"] = copy_rows(
            Condition,
            [
                "public_id",
                "created_at",
                "updated_at",
                "clinical_status",
                "verification_status",
                "rank",
                "onset_date",
                "abatement_date",
                "note",
                "recorded_at",
                "code_id",
                "encounter_id",
                "facility_id",
                "person_id",
                "recorded_by_id",
            ],
            (
                (
                    public_id,
                    recorded,
                    recorded,
                    status,
                    "confirmed",
                    rank,
                    onset,
                    abatement,
                    "",
                    recorded,
                    code,
                    encounter_ids[enc],
                    facility,
                    person,
                    user_id,
                )
                for enc, person, facility, code, status, rank, onset, abatement, recorded, public_id in plan.conditions
            ),
            bar,
        )
        observation_columns = [
            "public_id",
            "created_at",
            "updated_at",
            "code",
            "value",
            "unit",
            "derived",
            "status",
            "effective_at",
            "encounter_id",
            "facility_id",
            "panel_id",
            "person_id",
            "recorded_by_id",
        ]
        panels = copy_rows(
            Observation,
            ["id", *observation_columns],
            (
                (
                    pid,
                    public_id,
                    at,
                    at,
                    BP_PANEL,
                    None,
                    "",
                    False,
                    "final",
                    at,
                    encounter_ids[enc],
                    facility,
                    None,
                    person,
                    user_id,
                )
                for (enc, person, facility, at, public_id), pid in zip(
                    plan.panels, panel_ids, strict=True
                )
            ),
            bar,
        )
        counts["observations"] = panels + copy_rows(
            Observation,
            observation_columns,
            (
                (
                    public_id,
                    at,
                    at,
                    code,
                    value,
                    unit,
                    derived,
                    "final",
                    at,
                    encounter_ids[enc],
                    facility,
                    panel_ids[panel] if panel is not None else None,
                    person,
                    user_id,
                )
                for enc, panel, person, facility, code, value, unit, derived, at, public_id in plan.observations
            ),
            bar,
        )
        counts.update(
            _write_prescriptions(
                plan,
                stock,
                encounter_ids,
                prescription_ids,
                line_ids,
                dispense_ids,
                user_id,
                as_of,
                bar,
            )
        )
        counts.update(_write_stock(stock, lot_ids, user_id, bar))
    _analyze()
    return counts


def _analyze() -> None:
    """Fresh planner statistics for the tables just filled: until autovacuum gets to them, plans
    made for empty tables would nest loops over hundreds of thousands of rows (pages, verify)."""
    with connection.cursor() as cursor:
        for model in (
            Encounter,
            Condition,
            Observation,
            Prescription,
            PrescriptionLine,
            Dispense,
            DispenseLine,
            Lot,
            StockMovement,
        ):
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def _write_prescriptions(
    plan: Plan,
    stock: Stock,
    encounter_ids: list[int],
    prescription_ids: list[int],
    line_ids: list[int],
    dispense_ids: list[int],
    user_id: int,
    as_of: dt.date,
    bar: tqdm,
) -> dict[str, int]:
    last_change: dict[int, dt.datetime] = {}
    for d in stock.dispenses:
        last_change[d.prescription] = d.at
    counts = {
        "prescriptions": copy_rows(
            Prescription,
            [
                "id",
                "public_id",
                "created_at",
                "updated_at",
                "code",
                "authored_at",
                "valid_until",
                "status",
                "note",
                "cancel_reason",
                "encounter_id",
                "facility_id",
                "person_id",
                "prescribed_by_id",
                "prescriber_id",
            ],
            (
                (
                    prescription_ids[p.index],
                    p.public_id,
                    p.authored_at,
                    last_change.get(p.index, p.authored_at),
                    p.code,
                    p.authored_at,
                    p.valid_until,
                    p.status_on(as_of),
                    "",
                    "",
                    encounter_ids[p.encounter],
                    p.facility_id,
                    p.person_id,
                    user_id,
                    p.prescriber_id,
                )
                for p in plan.prescriptions
            ),
            bar,
        )
    }
    counts["prescription_lines"] = copy_rows(
        PrescriptionLine,
        [
            "id",
            "public_id",
            "created_at",
            "updated_at",
            "position",
            "dose",
            "frequency",
            "duration_days",
            "instructions",
            "quantity",
            "dispensed_quantity",
            "status",
            "fully_dispensed_at",
            "facility_id",
            "medicine_id",
            "person_id",
            "prescription_id",
        ],
        (
            (
                line_ids[line.index],
                line.public_id,
                p.authored_at,
                line.fully_at or last_change.get(p.index, p.authored_at),
                line.position,
                line.dose,
                line.frequency,
                line.duration_days,
                "",
                line.quantity,
                line.dispensed,
                line.status,
                line.fully_at,
                p.facility_id,
                line.medicine,
                p.person_id,
                prescription_ids[p.index],
            )
            for p in plan.prescriptions
            for line in p.lines
        ),
        bar,
    )
    counts["dispenses"] = copy_rows(
        Dispense,
        [
            "id",
            "public_id",
            "created_at",
            "updated_at",
            "at",
            "dispensed_by_id",
            "person_id",
            "pharmacy_id",
            "prescription_id",
            "request_digest",
        ],
        (
            (
                dispense_ids[d.index],
                d.public_id,
                d.at,
                d.at,
                d.at,
                user_id,
                d.person_id,
                d.pharmacy_id,
                prescription_ids[d.prescription],
                "",
            )
            for d in stock.dispenses
        ),
        bar,
    )
    counts["dispense_lines"] = copy_rows(
        DispenseLine,
        [
            "public_id",
            "created_at",
            "updated_at",
            "quantity",
            "unfilled_quantity",
            "unfilled_reason",
            "unfilled_note",
            "dispense_id",
            "person_id",
            "pharmacy_id",
            "prescription_line_id",
        ],
        (
            (
                public_id,
                d.at,
                d.at,
                quantity,
                unfilled,
                reason,
                "",
                dispense_ids[d.index],
                d.person_id,
                d.pharmacy_id,
                line_ids[line],
            )
            for d in stock.dispenses
            for line, quantity, unfilled, reason, public_id in d.lines
        ),
        bar,
    )
    return counts


def _write_stock(stock: Stock, lot_ids: list[int], user_id: int, bar: tqdm) -> dict[str, int]:
    counts = {
        "lots": copy_rows(
            Lot,
            [
                "id",
                "public_id",
                "created_at",
                "updated_at",
                "lot_number",
                "expiry",
                "quantity",
                "facility_id",
                "medicine_id",
                "manufacturer",
            ],
            (
                (
                    lot_ids[lot.index],
                    lot.public_id,
                    lot.received_at,
                    lot.received_at,
                    lot.lot_number,
                    lot.expiry,
                    lot.quantity,
                    lot.facility_id,
                    lot.medicine,
                    "",
                )
                for lot in stock.lots
            ),
            bar,
        )
    }
    # No ids given: the identity default numbers the rows in the order COPY receives them, which
    # is the order they happened — what the running-balance check reads.
    counts["stock_movements"] = copy_rows(
        StockMovement,
        [
            "public_id",
            "kind",
            "quantity",
            "balance_after",
            "reason",
            "note",
            "reference",
            "operation",
            "person_id",
            "actor_username",
            "at",
            "actor_id",
            "facility_id",
            "lot_id",
            "medicine_id",
        ],
        (
            (
                public_id,
                kind,
                quantity,
                balance,
                "",
                note,
                reference,
                operation,
                person,
                SYSTEM_USERNAME,
                at,
                user_id,
                facility,
                lot_ids[lot],
                medicine,
            )
            for lot, facility, medicine, kind, quantity, balance, note, reference, operation, person, at, public_id in stock.movements
        ),
        bar,
    )
    return counts
