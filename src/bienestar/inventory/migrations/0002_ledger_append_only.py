from django.db import migrations

# The stock ledger is append-only in the database too, like the audit log (access/0002): a balance
# can only be explained by the rows that led to it if those rows can never change. TRUNCATE is
# allowed only to a session that set bienestar.allow_audit_truncate (the test settings do, so that
# transactional tests can empty the database).
APPEND_ONLY = """
CREATE OR REPLACE FUNCTION bienestar_ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the stock ledger is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE OR REPLACE FUNCTION bienestar_ledger_refuse_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('bienestar.allow_audit_truncate', true), '') <> 'on' THEN
        RAISE EXCEPTION 'the stock ledger is append-only: TRUNCATE refused' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER stock_ledger_no_update_delete BEFORE UPDATE OR DELETE ON inventory_stockmovement
    FOR EACH ROW EXECUTE FUNCTION bienestar_ledger_refuse_change();
CREATE TRIGGER stock_ledger_no_truncate BEFORE TRUNCATE ON inventory_stockmovement
    FOR EACH STATEMENT EXECUTE FUNCTION bienestar_ledger_refuse_truncate();
"""

REVERSE = """
DROP TRIGGER IF EXISTS stock_ledger_no_update_delete ON inventory_stockmovement;
DROP TRIGGER IF EXISTS stock_ledger_no_truncate ON inventory_stockmovement;
DROP FUNCTION IF EXISTS bienestar_ledger_refuse_change();
DROP FUNCTION IF EXISTS bienestar_ledger_refuse_truncate();
"""


class Migration(migrations.Migration):
    dependencies = [("inventory", "0001_initial")]
    operations = [migrations.RunSQL(APPEND_ONLY, REVERSE)]
