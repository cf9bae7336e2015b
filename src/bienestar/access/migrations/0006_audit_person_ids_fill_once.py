"""The append-only rule admits one change: filling `person_ids` on a row that has none, all else
equal (`bienestar audit_backfill_persons`, for rows written before the column existed). Every other
UPDATE or DELETE is still refused."""

from django.db import migrations

FILL_ONCE = """
CREATE OR REPLACE FUNCTION bienestar_audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.person_ids IS NULL
       AND (to_jsonb(NEW) - 'person_ids') = (to_jsonb(OLD) - 'person_ids') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
"""

REFUSE_ALL = """
CREATE OR REPLACE FUNCTION bienestar_audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [("access", "0005_audit_person_ids")]
    operations = [migrations.RunSQL(FILL_ONCE, REFUSE_ALL)]
