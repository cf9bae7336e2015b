"""JSON API of the caller's own jobs: list, one job with its progress, download a result, cancel.
Another user's job is a 404, like one that does not exist."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import FileResponse, HttpRequest
from django.urls import reverse
from ninja import Router, Schema
from ninja.pagination import paginate

from bienestar.access.api_auth import request_actor
from bienestar.access.scopes import reads, writes
from bienestar.jobs import selectors, services
from bienestar.jobs.models import Job

router = Router(tags=["jobs"])


class ResultOut(Schema):
    name: str
    size: int
    url: str


class JobOut(Schema):
    public_id: str
    kind: str
    title: str
    status: str
    status_label: str
    done: int
    total: int | None
    percent: float | None
    message: str
    error: str
    results: list[ResultOut]
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


def job_out(job: Job) -> dict[str, Any]:
    return {
        "public_id": str(job.public_id),
        "kind": job.kind,
        "title": job.title,
        "status": job.status,
        "status_label": str(job.get_status_display()),
        "done": job.progress_done,
        "total": job.progress_total,
        "percent": job.percent,
        "message": job.message,
        "error": job.error,
        "results": [
            {
                "name": r["name"],
                "size": r["size"],
                "url": reverse("api:job_result", args=[job.public_id, r["name"]]),
            }
            for r in job.results
        ],
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }


@router.get("/", response=list[JobOut], summary="My jobs, newest first", openapi_extra=reads("Job"))
@paginate
def job_list(request: HttpRequest) -> Any:
    return [job_out(j) for j in selectors.my_jobs(request_actor(request))[:500]]


@router.get(
    "/{job_id}",
    response=JobOut,
    summary="One of my jobs, with its progress",
    openapi_extra=reads("Job"),
)
def job_detail(request: HttpRequest, job_id: str) -> dict[str, Any]:
    return job_out(selectors.my_job(request_actor(request), job_id))


@router.get(
    "/{job_id}/files/{name}",
    url_name="job_result",
    summary="Download a result file of one of my jobs",
    openapi_extra=reads("Job"),
    response={200: None},
)
def job_result(request: HttpRequest, job_id: str, name: str) -> FileResponse:
    actor = request_actor(request)
    job = selectors.my_job(actor, job_id)
    path = services.open_result(actor=actor, job=job, name=name)
    return FileResponse(path.open("rb"), as_attachment=True, filename=name)


@router.delete(
    "/{job_id}", response=JobOut, summary="Cancel one of my jobs", openapi_extra=writes("Job")
)
def job_cancel(request: HttpRequest, job_id: str) -> dict[str, Any]:
    actor = request_actor(request)
    return job_out(services.cancel(actor=actor, job=selectors.my_job(actor, job_id)))
