"""HTTP of the Bulk Data Access IG: kick-off (`$export` at system, Patient and Group level), the
status URL (poll with GET, cancel with DELETE) and the NDJSON files (bearer token required)."""

from __future__ import annotations

from pathlib import Path

from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from bienestar.access.actor import Actor
from bienestar.fhir.bulk import export
from bienestar.fhir.bulk.models import ExportJob, ExportLevel, ExportStatus
from bienestar.fhir.errors import FhirError, information
from bienestar.fhir.http import FhirResponse, base_url
from bienestar.fhir.params import uuid_or_none
from bienestar.fhir.views import _actor, _answer, _params

NDJSON = "application/fhir+ndjson"
RETRY_AFTER = "2"


def _require_async(request: HttpRequest) -> None:
    prefer = request.headers.get("Prefer", "").lower()
    if "respond-async" not in prefer:
        raise FhirError(
            400,
            _("$export es asíncrono: envíe la cabecera Prefer: respond-async."),
            code="invalid",
        )


def _kickoff(request: HttpRequest, level: str, group_id: str = "") -> HttpResponse:
    def run() -> FhirResponse:
        if request.method != "GET":
            raise FhirError(405, _("Inicie $export con GET."), code="not-supported")
        actor = _actor(request)
        _require_async(request)
        parsed = export.parse_request(
            level=level,
            params=_params(request),
            request_url=request.build_absolute_uri(),
            base_url=base_url(request),
            group_id=group_id,
        )
        job = export.kickoff(actor, parsed)
        return FhirResponse(
            202,
            information(_("Exportación aceptada; consulte la URL de estado.")),
            {"Content-Location": export.status_url(job)},
        )

    return _answer(request, run)


@csrf_exempt
def system_export(request: HttpRequest) -> HttpResponse:
    return _kickoff(request, ExportLevel.SYSTEM)


@csrf_exempt
def patient_export(request: HttpRequest) -> HttpResponse:
    return _kickoff(request, ExportLevel.PATIENT)


@csrf_exempt
def group_export(request: HttpRequest, group_id: str) -> HttpResponse:
    return _kickoff(request, ExportLevel.GROUP, group_id)


def _job(actor: Actor, job_id: str) -> ExportJob:
    """The caller's own job (another user's is a 404, like a missing one)."""
    public_id = uuid_or_none(job_id)
    job = (
        ExportJob.objects.filter(public_id=public_id, user=actor.user).select_related("job").first()
        if public_id and actor.user is not None
        else None
    )
    if job is None or job.status == ExportStatus.CANCELLED:
        raise FhirError(404, _("No existe esa exportación."), code="not-found")
    return job


@csrf_exempt
def status(request: HttpRequest, job_id: str) -> HttpResponse:
    """GET: 202 with X-Progress while running, 200 with the manifest when done, 500 with an
    OperationOutcome when it failed. DELETE: cancel (202)."""
    manifest: dict[str, object] = {}

    def run() -> FhirResponse:
        actor = _actor(request)
        job = _job(actor, job_id)
        if request.method == "DELETE":
            export.cancel(job)
            return FhirResponse(202, information(_("Exportación cancelada.")))
        if request.method != "GET":
            raise FhirError(405, _("Use GET o DELETE."), code="not-supported")
        state = export.state(job)
        if state == ExportStatus.CANCELLED:
            raise FhirError(404, _("No existe esa exportación."), code="not-found")
        if state == ExportStatus.RUNNING:
            progress = export.progress_text(job)
            return FhirResponse(202, None, {"X-Progress": progress, "Retry-After": RETRY_AFTER})
        if state == ExportStatus.FAILED:
            raise FhirError(500, _("La exportación falló; vuelva a solicitarla."), code="exception")
        manifest.update(export.manifest(job))
        return FhirResponse(200, None)

    response = _answer(request, run)
    if response.status_code == 200 and manifest:
        # The manifest is plain JSON (not a FHIR resource), as the IG says.
        return JsonResponse(manifest, json_dumps_params={"ensure_ascii": False})
    return response


@csrf_exempt
def export_file(request: HttpRequest, job_id: str, name: str) -> HttpResponseBase:
    found: dict[str, object] = {}

    def run() -> FhirResponse:
        if request.method != "GET":
            raise FhirError(405, _("Use GET."), code="not-supported")
        actor = _actor(request)
        job = _job(actor, job_id)
        path = export.export_file(job, name) if job.status == ExportStatus.COMPLETED else None
        if path is None:
            raise FhirError(404, _("No existe ese archivo."), code="not-found")
        found["path"] = path
        return FhirResponse(200, None)

    response = _answer(request, run)
    if response.status_code == 200 and "path" in found:
        # FileResponse streams the file and closes it.
        return FileResponse(Path(str(found["path"])).open("rb"), content_type=NDJSON)
    return response
