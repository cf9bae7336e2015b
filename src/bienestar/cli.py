"""`bienestar`: Django's management commands with Bienestar's settings.

Every `manage.py` command works as `bienestar <command>`; Bienestar's own commands accept
hyphens or underscores (`bienestar load-reference` = `bienestar load_reference`).
`bienestar db stop|status` manage the embedded PostgreSQL without starting Django.
"""

from __future__ import annotations

import os
import sys


def _db_command(args: list[str]) -> int:
    from bienestar.config import database

    action = args[0] if args else "status"
    if action == "stop":
        print(database.stop_embedded())
        return 0
    if action == "status":
        if os.environ.get("DATABASE_URL"):
            print("using DATABASE_URL (external PostgreSQL); nothing embedded is managed")
            return 0
        running = (database.pgdata_dir() / "postmaster.pid").exists()
        print(
            f"embedded PostgreSQL {'running' if running else 'stopped'} ({database.pgdata_dir()})"
        )
        return 0
    if action == "url":
        print(database.database_url())
        return 0
    print("usage: bienestar db stop|status|url", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    if len(argv) > 1 and argv[1] == "db":
        return _db_command(argv[2:])
    if len(argv) > 1 and not argv[1].startswith("-"):
        argv[1] = argv[1].replace("-", "_")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bienestar.config.settings.dev")
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
