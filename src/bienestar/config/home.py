"""Where Bienestar keeps its local state (embedded database, secret key, exports)."""

from __future__ import annotations

import os
from pathlib import Path


def bienestar_home() -> Path:
    """`BIENESTAR_HOME`, else `.bienestar/` in the current directory. Created on first use."""
    home = Path(os.environ.get("BIENESTAR_HOME") or Path.cwd() / ".bienestar").resolve()
    home.mkdir(parents=True, exist_ok=True)
    return home


def reference_dir() -> Path | None:
    """`BIENESTAR_REFERENCE_DIR`, else `../shared/data` beside the checkout when it exists."""
    configured = os.environ.get("BIENESTAR_REFERENCE_DIR")
    if configured:
        return Path(configured).resolve()
    here = Path(__file__).resolve()
    for parent in [Path.cwd(), *here.parents]:
        candidate = parent.parent / "shared" / "data"
        if (candidate / "README.md").exists():
            return candidate
    return None
