"""Visits and screenings are append-only: a correction is a new record (issue 13's offline sync
relies on it). The database refuses UPDATE and DELETE on both tables."""

from django.db import migrations

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION bienestar_outreach_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER outreach_visit_append_only BEFORE UPDATE OR DELETE ON outreach_visit
    FOR EACH ROW EXECUTE FUNCTION bienestar_outreach_refuse_change();
CREATE TRIGGER outreach_screening_append_only BEFORE UPDATE OR DELETE ON outreach_screening
    FOR EACH ROW EXECUTE FUNCTION bienestar_outreach_refuse_change();
"""

REVERSE = """
DROP TRIGGER IF EXISTS outreach_visit_append_only ON outreach_visit;
DROP TRIGGER IF EXISTS outreach_screening_append_only ON outreach_screening;
DROP FUNCTION IF EXISTS bienestar_outreach_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("outreach", "0001_initial")]
    operations = [migrations.RunSQL(APPEND_ONLY, REVERSE)]
