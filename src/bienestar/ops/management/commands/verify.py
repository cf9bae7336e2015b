"""`bienestar verify`: check the data's invariants; exit 0 only if all hold."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand

from bienestar.ops.checks import CHECKS


class Command(BaseCommand):
    help = "Check data invariants (audit log intact, merges consistent, IDs valid, stock ledger when present)."

    def handle(self, *args: Any, **opts: Any) -> None:
        failed = 0
        for name, check in CHECKS:
            problems = check()
            if problems:
                failed += 1
                self.stdout.write(self.style.ERROR(f"FAIL  {name}"))
                for problem in problems:
                    self.stdout.write(f"      - {problem}")
            else:
                self.stdout.write(self.style.SUCCESS(f"ok    {name}"))
        if failed:
            self.stdout.write(self.style.ERROR(f"{failed} of {len(CHECKS)} checks failed"))
            sys.exit(1)
        self.stdout.write(self.style.SUCCESS(f"all {len(CHECKS)} checks hold"))
