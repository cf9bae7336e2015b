"""Tasks only the tests run (a worker subprocess imports them through BIENESTAR_JOBS_EXTRA_TASKS).

`test.count` counts to `steps`, reporting each step, sleeping `pause` seconds between them, and
writes its result file; `test.fail` fails the way it is told to."""

from __future__ import annotations

import time

from bienestar.jobs.progress import JobError, Progress
from bienestar.jobs.runner import job_task


@job_task(name="test.count")
def count(progress: Progress, *, steps: int, pause: float = 0.0) -> None:
    progress.update(0, total=steps, message="Contando", force=True)
    for step in range(1, steps + 1):
        time.sleep(pause)
        progress.update(step, message=f"Paso {step} de {steps}", force=True)
    (progress.directory / "cuenta.csv").write_text(
        "paso\n" + "".join(f"{i}\n" for i in range(1, steps + 1)), encoding="utf-8"
    )
    progress.succeed(results=["cuenta.csv"], message=f"{steps} pasos")


@job_task(name="test.fail")
def fail(progress: Progress, *, how: str) -> None:
    (progress.directory / "parcial.txt").write_text("a medias")
    if how == "domain":
        raise JobError("El archivo no tiene el formato esperado.")
    raise ValueError("internal detail that must not reach the user")
