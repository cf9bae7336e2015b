"""`bienestar audit_backfill_persons`: fill `person_ids` on audit rows written before the column
existed, where the persons can be derived from `result_ids` (searches of persons, prescription
queues and lists). Idempotent and resumable: it only touches rows whose `person_ids` is still
empty, in batches by id, each batch its own transaction."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import connection, transaction

# resource_type → the table whose public_id the row's result_ids hold, and its person column.
DERIVABLE = {
    "Person": ("people_person", "id"),
    "Prescription": ("prescribing_prescription", "person_id"),
    "Dispense": ("prescribing_dispense", "person_id"),
}

FILL = """
UPDATE access_auditevent AS a SET person_ids = derived.ids
FROM (
    SELECT e.id, e.at, array_agg(DISTINCT r.{person} ORDER BY r.{person}) AS ids
    FROM access_auditevent AS e
    CROSS JOIN LATERAL jsonb_array_elements_text(e.result_ids) AS listed(public_id)
    JOIN {table} AS r ON r.public_id::text = listed.public_id
    WHERE e.id > %s AND e.id <= %s AND e.resource_type = %s AND e.person_ids IS NULL
      AND jsonb_typeof(e.result_ids) = 'array'
    GROUP BY e.id, e.at
) AS derived
WHERE a.id = derived.id AND a.at = derived.at AND a.person_ids IS NULL
"""


class Command(BaseCommand):
    help = "Fill the persons listed by old audit rows (searches, queues) from their result ids."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--batch", type=int, default=50_000)

    def handle(self, *args: Any, batch: int, **options: Any) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT coalesce(min(id), 0), coalesce(max(id), 0) FROM access_auditevent"
            )
            low, high = cursor.fetchone()
        filled = 0
        start = low - 1
        while start < high:
            end = start + max(1, batch)
            with transaction.atomic(), connection.cursor() as cursor:
                for resource_type, (table, person) in DERIVABLE.items():
                    cursor.execute(
                        FILL.format(table=table, person=person), [start, end, resource_type]
                    )
                    filled += cursor.rowcount
            self.stdout.write(
                f"{min(end, high) - low + 1}/{high - low + 1} ids, {filled} rows filled"
            )
            start = end
        self.stdout.write(self.style.SUCCESS(f"{filled} audit rows now name the persons they list"))
