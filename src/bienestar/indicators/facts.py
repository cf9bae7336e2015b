"""The facts each indicator is counted from: one PostgreSQL statement per indicator, read-only.

Every statement returns rows of the same shape (`COLUMNS`), one per unit of analysis and month:

    indicator, month (first day), facility_id, area (territory path), sex, age_group, category,
    subject (a person id, for DISTINCT indicators), num, den (NULL: no denominator in the facts)

`since` (a first of month) limits the months extracted (an incremental refresh reads from the
first month whose figures may have changed); `today` closes the current month's snapshots.
Snapshots (SNAPSHOT indicators) are taken at every month's end: a quarter's or a year's figure is
the snapshot of its last month (engine.py). Dates are local (settings.TIME_ZONE).

These statements read the domain tables directly (no model imports, no writes): the indicators
app is read-only over the domain, and no domain app imports it.
"""

from __future__ import annotations

COLUMNS = (
    "indicator",
    "month",
    "facility_id",
    "area",
    "sex",
    "age_group",
    "category",
    "subject",
    "num",
    "den",
)


def _age_group(day: str, birth: str) -> str:
    years = f"date_part('year', age({day}, {birth}))"
    return (
        f"CASE WHEN {years} < 5 THEN '0-4' WHEN {years} < 10 THEN '5-9' "
        f"WHEN {years} < 20 THEN '10-19' WHEN {years} < 40 THEN '20-39' "
        f"WHEN {years} < 60 THEN '40-59' ELSE '60+' END"
    )


# Month ends from `since` to today: (month, end). The current month ends today.
_ENDS = """
    ends AS (
        SELECT m::date AS month,
               LEAST((m + interval '1 month' - interval '1 day')::date, %(today)s::date) AS e
        FROM generate_series(%(since)s::date, %(today)s::date, interval '1 month') m
    )
"""

FILL_RATE = f"""
    WITH lines AS (
        SELECT l.id, l.quantity, l.facility_id, p.valid_until, p.person_id,
               (p.authored_at AT TIME ZONE %(tz)s)::date AS day,
               (l.fully_dispensed_at AT TIME ZONE %(tz)s)::date AS full_day
        FROM prescribing_prescriptionline l
        JOIN prescribing_prescription p ON p.id = l.prescription_id
        WHERE p.status <> 'cancelled'
          AND p.authored_at >= (%(since)s::date::timestamp AT TIME ZONE %(tz)s)
          AND (p.authored_at AT TIME ZONE %(tz)s)::date <= %(today)s::date
    ),
    units AS (
        SELECT dl.prescription_line_id AS id, SUM(dl.quantity) AS units
        FROM prescribing_dispenseline dl
        JOIN prescribing_dispense d ON d.id = dl.dispense_id
        JOIN lines ON lines.id = dl.prescription_line_id
        WHERE (d.at AT TIME ZONE %(tz)s)::date <= lines.valid_until
        GROUP BY dl.prescription_line_id
    )
    SELECT ind.code, date_trunc('month', lines.day)::date, lines.facility_id, t.path, pe.sex,
           {_age_group("lines.day", "pe.birth_date")}, '', NULL::bigint,
           CASE WHEN ind.code = 'fill_rate_line'
                THEN (lines.full_day IS NOT NULL AND lines.full_day <= lines.valid_until)::int
                ELSE COALESCE(units.units, 0) END,
           CASE WHEN ind.code = 'fill_rate_line' THEN 1 ELSE lines.quantity END
    FROM lines
    CROSS JOIN (VALUES ('fill_rate_line'), ('fill_rate_unit')) AS ind(code)
    LEFT JOIN units ON units.id = lines.id
    JOIN facilities_facility f ON f.id = lines.facility_id
    JOIN territories_territory t ON t.id = f.territory_id
    JOIN people_person pe ON pe.id = lines.person_id
"""

AVAILABILITY = f"""
    WITH {_ENDS},
    moves AS (
        SELECT l.facility_id, l.medicine_id, l.expiry, s.quantity,
               (s.at AT TIME ZONE %(tz)s)::date AS day
        FROM inventory_stockmovement s JOIN inventory_lot l ON l.id = s.lot_id
        WHERE (s.at AT TIME ZONE %(tz)s)::date <= %(today)s::date
    ),
    pairs AS (
        SELECT facility_id, medicine_id, MIN(day) AS first_day FROM moves GROUP BY 1, 2
    ),
    usable AS (
        SELECT ends.month, m.facility_id, m.medicine_id, SUM(m.quantity) AS units
        FROM ends JOIN moves m ON m.day <= ends.e AND m.expiry >= ends.e
        GROUP BY 1, 2, 3
    )
    SELECT 'availability', ends.month, pairs.facility_id, t.path, '', '', '', NULL::bigint,
           (COALESCE(usable.units, 0) > 0)::int, 1
    FROM pairs
    JOIN ends ON pairs.first_day <= ends.e
    LEFT JOIN usable ON usable.month = ends.month AND usable.facility_id = pairs.facility_id
                    AND usable.medicine_id = pairs.medicine_id
    JOIN facilities_facility f ON f.id = pairs.facility_id
    JOIN territories_territory t ON t.id = f.territory_id
"""

# Uninsured on the day of the contact: no affiliation other than "none" in force that day.
_UNINSURED = """
    NOT EXISTS (
        SELECT 1 FROM people_personaffiliation a
        WHERE a.person_id = {person} AND a.scheme <> 'none'
          AND (a.start IS NULL OR a.start <= {day}) AND (a."end" IS NULL OR a."end" >= {day})
    )
"""

UNINSURED_COVERAGE = f"""
    WITH contacts AS (
        SELECT e.person_id, e.facility_id, (e.start AT TIME ZONE %(tz)s)::date AS day
        FROM clinical_encounter e
        WHERE e.status <> 'entered-in-error'
          AND e.start >= (%(since)s::date::timestamp AT TIME ZONE %(tz)s)
          AND (e.start AT TIME ZONE %(tz)s)::date <= %(today)s::date
    )
    SELECT 'uninsured_coverage', date_trunc('month', c.day)::date, c.facility_id, t.path, pe.sex,
           {_age_group("c.day", "pe.birth_date")}, '', COALESCE(pe.merged_into_id, pe.id), 1,
           NULL::bigint
    FROM contacts c
    JOIN people_person pe ON pe.id = c.person_id
    JOIN territories_territory t ON t.id = pe.territory_id
    WHERE {_UNINSURED.format(person="c.person_id", day="c.day")}
"""

# The registry keeps no history of positions: the snapshot is today's, in the current month.
WORKFORCE = """
    SELECT 'specialists_filled', date_trunc('month', %(today)s::date)::date, g.facility_id, t.path,
           '', '', s.code, NULL::bigint,
           (SELECT COUNT(*) FROM workforce_position p
            WHERE p.facility_id = g.facility_id AND p.specialty_id = g.specialty_id
              AND p.practitioner_id IS NOT NULL),
           g.goal
    FROM workforce_staffinggoal g
    JOIN workforce_specialty s ON s.id = g.specialty_id
    JOIN facilities_facility f ON f.id = g.facility_id
    JOIN territories_territory t ON t.id = f.territory_id
    WHERE s.is_medical AND date_trunc('month', %(today)s::date) >= %(since)s::date
"""


def _cascade(indicator: str, conditions: str, controlled: str) -> str:
    """HEARTS control at every month end: registered > 3 months before it, alive at it; controlled
    by the latest measurement of the 3 months before it."""
    return f"""
    WITH {_ENDS},
    registered AS (
        SELECT c.person_id, MIN((c.recorded_at AT TIME ZONE %(tz)s)::date) AS since,
               (ARRAY_AGG(c.facility_id ORDER BY c.recorded_at, c.id))[1] AS facility_id
        FROM clinical_condition c
        WHERE ({conditions}) AND c.verification_status <> 'entered-in-error'
        GROUP BY c.person_id
    ),
    cohort AS (
        SELECT ends.month, ends.e, r.person_id, r.facility_id
        FROM ends JOIN registered r ON r.since <= (ends.e - interval '3 months')::date
        JOIN people_person pe ON pe.id = r.person_id
        WHERE pe.deceased_date IS NULL OR pe.deceased_date > ends.e
    ),
    latest AS (
        SELECT DISTINCT ON (cohort.month, cohort.person_id, o.code)
               cohort.month, cohort.person_id, o.code, o.value
        FROM cohort JOIN clinical_observation o ON o.person_id = cohort.person_id
        WHERE o.status <> 'entered-in-error' AND o.value IS NOT NULL
          AND o.code IN ('8480-6', '8462-4', '2339-0', '4548-4')
          AND (o.effective_at AT TIME ZONE %(tz)s)::date <= cohort.e
          AND (o.effective_at AT TIME ZONE %(tz)s)::date > (cohort.e - interval '3 months')::date
        ORDER BY cohort.month, cohort.person_id, o.code, o.effective_at DESC, o.id DESC
    ),
    measured AS (
        SELECT month, person_id,
               MAX(value) FILTER (WHERE code = '8480-6') AS sys,
               MAX(value) FILTER (WHERE code = '8462-4') AS dia,
               MAX(value) FILTER (WHERE code = '2339-0') AS glucose,
               MAX(value) FILTER (WHERE code = '4548-4') AS hba1c
        FROM latest GROUP BY 1, 2
    )
    SELECT '{indicator}', cohort.month, cohort.facility_id, t.path, pe.sex,
           {_age_group("cohort.e", "pe.birth_date")}, '', NULL::bigint,
           COALESCE(({controlled})::int, 0), 1
    FROM cohort
    LEFT JOIN measured m ON m.month = cohort.month AND m.person_id = cohort.person_id
    JOIN people_person pe ON pe.id = cohort.person_id
    JOIN territories_territory t ON t.id = pe.territory_id
    """


HYPERTENSION_CONTROL = _cascade(
    "hypertension_control",
    "c.code_id ~ '^I1[0-5]'",
    "m.sys < 140 AND m.dia < 90",
)
DIABETES_CONTROL = _cascade(
    "diabetes_control",
    "c.code_id ~ '^E1[0-4]'",
    "m.glucose < 126 OR m.hba1c < 7",
)

_IMMUNIZATIONS = """
    FROM clinical_immunization i
    JOIN people_person pe ON pe.id = i.person_id
    JOIN facilities_facility f ON f.id = i.facility_id
    JOIN territories_territory t ON t.id = f.territory_id
    WHERE i.status = 'completed' AND i.occurrence_date >= %(since)s::date
      AND i.occurrence_date <= %(today)s::date
"""

VACCINE_DOSES = f"""
    SELECT 'vaccine_doses', date_trunc('month', i.occurrence_date)::date, i.facility_id, t.path,
           pe.sex, {_age_group("i.occurrence_date", "pe.birth_date")}, i.vaccine, NULL::bigint,
           1, NULL::bigint
    {_IMMUNIZATIONS}
"""

VACCINE_DROPOUT = f"""
    SELECT 'vaccine_dropout', date_trunc('month', i.occurrence_date)::date, i.facility_id, t.path,
           pe.sex, {_age_group("i.occurrence_date", "pe.birth_date")}, '', NULL::bigint,
           CASE WHEN i.dose = '1' THEN 1 ELSE -1 END, CASE WHEN i.dose = '1' THEN 1 ELSE 0 END
    {_IMMUNIZATIONS}
      AND i.vaccine ILIKE 'hexavalente%%' AND i.dose IN ('1', '3')
"""

STATEMENTS: dict[str, str] = {
    "fill_rate": FILL_RATE,
    "availability": AVAILABILITY,
    "uninsured_coverage": UNINSURED_COVERAGE,
    "specialists_filled": WORKFORCE,
    "hypertension_control": HYPERTENSION_CONTROL,
    "diabetes_control": DIABETES_CONTROL,
    "vaccine_doses": VACCINE_DOSES,
    "vaccine_dropout": VACCINE_DROPOUT,
}
