from django.db import migrations

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION bienestar_audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE OR REPLACE FUNCTION bienestar_audit_refuse_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Only the test settings opt in, so that transactional tests can empty the database.
    IF coalesce(current_setting('bienestar.allow_audit_truncate', true), '') <> 'on' THEN
        RAISE EXCEPTION 'the audit log is append-only: TRUNCATE refused' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER audit_no_update_delete BEFORE UPDATE OR DELETE ON access_auditevent
    FOR EACH ROW EXECUTE FUNCTION bienestar_audit_refuse_change();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON access_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION bienestar_audit_refuse_truncate();
"""

REVERSE = """
DROP TRIGGER IF EXISTS audit_no_update_delete ON access_auditevent;
DROP TRIGGER IF EXISTS audit_no_truncate ON access_auditevent;
DROP FUNCTION IF EXISTS bienestar_audit_refuse_change();
DROP FUNCTION IF EXISTS bienestar_audit_refuse_truncate();
"""


class Migration(migrations.Migration):
    dependencies = [("access", "0001_initial")]
    operations = [migrations.RunSQL(APPEND_ONLY, REVERSE)]
