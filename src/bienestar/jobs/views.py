"""Pages of the caller's own jobs (`/trabajos/`): the list, one job with its progress bar (htmx
polls it while the job runs), result downloads and cancellation. Another user's job is a 404."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from bienestar.access.actor import Actor
from bienestar.jobs import selectors, services
from bienestar.web.http import page

POLL_SECONDS = 1


@page()
def job_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    paginator = Paginator(selectors.my_jobs(actor), 25)
    jobs = paginator.get_page(request.GET.get("pagina"))
    running = any(not j.finished for j in jobs)
    return render(
        request,
        "jobs/list.html",
        {"jobs": jobs, "running": running, "poll_seconds": POLL_SECONDS, "section": "jobs"},
    )


@page()
@require_http_methods(["GET"])
def job_detail(request: HttpRequest, actor: Actor, public_id: str) -> HttpResponse:
    job = selectors.my_job(actor, public_id)
    template = "jobs/_status.html" if request.headers.get("HX-Request") else "jobs/detail.html"
    # A finished job's fragment has no polling trigger: swapping it in stops the polling.
    return render(request, template, {"job": job, "poll_seconds": POLL_SECONDS, "section": "jobs"})


@page()
def job_result(request: HttpRequest, actor: Actor, public_id: str, name: str) -> FileResponse:
    job = selectors.my_job(actor, public_id)
    path = services.open_result(actor=actor, job=job, name=name)
    return FileResponse(path.open("rb"), as_attachment=True, filename=name)


@page()
@require_POST
def job_cancel(request: HttpRequest, actor: Actor, public_id: str) -> HttpResponse:
    job = selectors.my_job(actor, public_id)
    services.cancel(actor=actor, job=job)
    return redirect("job_detail", public_id=job.public_id)
