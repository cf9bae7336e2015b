"""`bienestar stock_snapshots [--from DATE --to DATE]`: build the daily stock snapshots.

Without dates, catches up: the finished days since the last snapshot (the nightly job does the
same). With dates, rebuilds that range (idempotent upsert from the ledger)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from bienestar.inventory.snapshots import snapshot_build, snapshots_catch_up


class Command(BaseCommand):
    help = "Build the daily stock snapshots from the ledger (idempotent)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--from", dest="start", type=dt.date.fromisoformat)
        parser.add_argument("--to", dest="end", type=dt.date.fromisoformat)

    def handle(self, *args: Any, **opts: Any) -> None:
        start, end = opts["start"], opts["end"]
        if (start is None) != (end is None):
            raise CommandError("give both --from and --to, or neither")
        if start is not None:
            if end < start:
                raise CommandError("--to is before --from")
            rows = snapshot_build(start=start, end=end)
            self.stdout.write(f"snapshots {start} .. {end}: {rows} rows")
            return
        done = snapshots_catch_up()
        if done is None:
            self.stdout.write("snapshots already up to date")
        else:
            self.stdout.write(f"snapshots {done[0]} .. {done[1]}: {done[2]} rows")
