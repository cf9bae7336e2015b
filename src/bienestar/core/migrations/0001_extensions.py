from django.contrib.postgres.operations import TrigramExtension, UnaccentExtension
from django.db import migrations

# unaccent() is only STABLE (it reads a dictionary), so it cannot appear in an index or a generated
# column. This wrapper names the dictionary explicitly, which makes it safe to declare IMMUTABLE.
IMMUTABLE_UNACCENT = """
CREATE OR REPLACE FUNCTION bienestar_unaccent(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN public.unaccent('public.unaccent'::regdictionary, $1);
"""


class Migration(migrations.Migration):
    initial = True
    dependencies: list[tuple[str, str]] = []
    operations = [
        TrigramExtension(),
        UnaccentExtension(),
        migrations.RunSQL(IMMUTABLE_UNACCENT, "DROP FUNCTION IF EXISTS bienestar_unaccent(text);"),
    ]
