"""Test settings: the real PostgreSQL, a fast password hasher, no log-in lockout leaking between tests."""

from django.db.backends.signals import connection_created

from bienestar.config.settings.base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEBUG = False


def _allow_test_flush(sender, connection, **kwargs):  # type: ignore[no-untyped-def]
    """Transactional tests empty every table with TRUNCATE between tests. The audit table refuses
    TRUNCATE unless the session opts in, which only the test settings do."""
    with connection.cursor() as cursor:
        cursor.execute("SET bienestar.allow_audit_truncate = 'on'")


connection_created.connect(_allow_test_flush)
