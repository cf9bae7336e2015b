"""Where a job's result files live: $BIENESTAR_HOME/jobs/<public_id>/ (one folder per job)."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from bienestar.config.home import bienestar_home


def jobs_dir() -> Path:
    path = bienestar_home() / "jobs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def job_dir(public_id: uuid.UUID | str) -> Path:
    return jobs_dir() / str(public_id)


def fresh_dir(public_id: uuid.UUID | str) -> Path:
    """The job's folder, emptied: a retried job starts from nothing."""
    path = job_dir(public_id)
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def remove(public_id: uuid.UUID | str) -> None:
    shutil.rmtree(job_dir(public_id), ignore_errors=True)


def result_file(
    public_id: uuid.UUID | str, results: list[dict[str, object]], name: str
) -> Path | None:
    """The path of one of the job's results, if `name` is one (never a path outside its folder)."""
    if name not in {str(r.get("name")) for r in results}:
        return None
    path = job_dir(public_id) / name
    return path if path.is_file() else None


def describe(directory: Path, names: list[str]) -> list[dict[str, object]]:
    return [{"name": n, "size": (directory / n).stat().st_size} for n in names]
