"""The stock ledger becomes a table partitioned by month on `at` (issue 10, ADR 0013).

The rows are copied in this migration's transaction; the append-only triggers are recreated on the
partitioned table, so they hold on every partition (core/partitioning.py). The unique `public_id`
becomes unique with `at` (a partitioned table's unique keys must hold the partition key).
"""

from django.db import migrations

from bienestar.core.partitioning import convert


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    convert(schema_editor.connection, "inventory_stockmovement")


class Migration(migrations.Migration):
    dependencies = [("inventory", "0003_supply_network")]
    # A partitioned table also serves the earlier schema: going back leaves it partitioned.
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop, elidable=False)]
