"""Removal of a synthetic network that was never finished.

`build_network` writes a whole network in one transaction, so an interruption leaves nothing. This
is the safety net for a `SynthRun` row left without `finished_at` anyway (a crash of a future
resumable version, or a hand-edited database): its people and everything hanging from them, the
staff it wrote and the facilities it created are deleted, so a half network never looks complete.
Issued national health IDs stay in the registry: an ID once issued is never reused. The audit log
is append-only and is not touched. So is the stock ledger: a run that wrote dispensing movements
cannot be removed automatically and is refused with a message (the generator writes the activity in
the network's own transaction, so no such run can be left unfinished by it).
"""

from __future__ import annotations

from django.db import connection
from django.utils.translation import gettext as _

from bienestar.core.errors import Conflict
from bienestar.synth.models import SynthRun

# Tables whose rows hang from a person, in deletion order.
_PERSON_TABLES = (
    "prescribing_dispenseline",
    "prescribing_dispense",
    "prescribing_prescriptionline",
    "prescribing_prescription",
    "clinical_observation",
    "clinical_condition",
    "clinical_allergyintolerance",
    "clinical_immunization",
    "clinical_encounter",
    "households_householdmember",
    "people_personidentifier",
    "people_personaffiliation",
    "people_personaddress",
    "people_personcontact",
    "people_personchange",
    "synth_synthprofile",
)


def discard_unfinished() -> int:
    """Delete every unfinished synthetic network; returns how many there were."""
    runs = list(SynthRun.objects.filter(finished_at__isnull=True).values_list("id", flat=True))
    for run_id in runs:
        _discard(run_id)
    return len(runs)


def _discard(run_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE synth_discard_people ON COMMIT DROP AS "
            "SELECT person_id AS id FROM synth_synthprofile WHERE run_id = %s",
            [run_id],
        )
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM inventory_stockmovement "
            "WHERE person_id IN (SELECT id FROM synth_discard_people))"
        )
        if cursor.fetchone()[0]:
            raise Conflict(
                _(
                    "La red sintética sin terminar %(run)s escribió movimientos en el kárdex de "
                    "inventario, que no se borra: elimínela a mano o use una base de datos nueva."
                )
                % {"run": run_id}
            )
        cursor.execute(
            "CREATE TEMP TABLE synth_discard_households ON COMMIT DROP AS "
            "SELECT DISTINCT household_id AS id FROM households_householdmember "
            "WHERE person_id IN (SELECT id FROM synth_discard_people)"
        )
        for table in _PERSON_TABLES:
            # Table names come from the constant above, never from input.
            sql = f"DELETE FROM {table} WHERE person_id IN (SELECT id FROM synth_discard_people)"  # noqa: S608
            cursor.execute(sql)
        cursor.execute(
            "DELETE FROM households_household h WHERE h.id IN (SELECT id FROM synth_discard_households) "
            "AND NOT EXISTS (SELECT 1 FROM households_householdmember m WHERE m.household_id = h.id)"
        )
        cursor.execute(
            "DELETE FROM people_person WHERE id IN (SELECT id FROM synth_discard_people)"
        )
        # Staff the run wrote, and the facilities it created.
        cursor.execute(
            "CREATE TEMP TABLE synth_discard_facilities ON COMMIT DROP AS "
            "SELECT facility_id AS id, created, staffed FROM synth_synthfacility WHERE run_id = %s",
            [run_id],
        )
        cursor.execute(
            "CREATE TEMP TABLE synth_discard_practitioners ON COMMIT DROP AS "
            "SELECT DISTINCT practitioner_id AS id FROM workforce_position WHERE practitioner_id IS NOT NULL "
            "AND facility_id IN (SELECT id FROM synth_discard_facilities WHERE staffed)"
        )
        cursor.execute(
            "DELETE FROM workforce_position WHERE facility_id IN (SELECT id FROM synth_discard_facilities WHERE staffed)"
        )
        cursor.execute(
            "DELETE FROM workforce_staffinggoal WHERE facility_id IN "
            "(SELECT id FROM synth_discard_facilities WHERE staffed)"
        )
        cursor.execute(
            "DELETE FROM workforce_practitioner_specialties WHERE practitioner_id IN "
            "(SELECT p.id FROM synth_discard_practitioners p WHERE NOT EXISTS "
            "(SELECT 1 FROM workforce_position x WHERE x.practitioner_id = p.id))"
        )
        cursor.execute(
            "DELETE FROM workforce_practitioner p WHERE p.id IN (SELECT id FROM synth_discard_practitioners) "
            "AND NOT EXISTS (SELECT 1 FROM workforce_position x WHERE x.practitioner_id = p.id) "
            "AND NOT EXISTS (SELECT 1 FROM access_user u WHERE u.practitioner_id = p.id)"
        )
        cursor.execute("DELETE FROM synth_synthfacility WHERE run_id = %s", [run_id])
        cursor.execute(
            "DELETE FROM facilities_facility f WHERE f.id IN (SELECT id FROM synth_discard_facilities WHERE created) "
            "AND NOT EXISTS (SELECT 1 FROM synth_synthfacility s WHERE s.facility_id = f.id) "
            "AND NOT EXISTS (SELECT 1 FROM workforce_position x WHERE x.facility_id = f.id) "
            "AND NOT EXISTS (SELECT 1 FROM synth_synthprofile s WHERE s.facility_id = f.id) "
            "AND NOT EXISTS (SELECT 1 FROM inventory_lot l WHERE l.facility_id = f.id) "
            "AND NOT EXISTS (SELECT 1 FROM access_user u WHERE u.facility_id = f.id)"
        )
        cursor.execute("DELETE FROM synth_synthrun WHERE id = %s", [run_id])
        cursor.execute(
            "DROP TABLE synth_discard_people, synth_discard_households, synth_discard_facilities, "
            "synth_discard_practitioners"
        )
