"""JSON API door of the NDJSON import: upload the files, get the job (202); follow it at
/api/jobs/{id} like any other job."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import File, Router, Status
from ninja.files import UploadedFile

from bienestar.access.api_auth import request_actor
from bienestar.access.scopes import writes
from bienestar.fhir.bulk import imports
from bienestar.jobs.api import JobOut, job_out

router = Router(tags=["jobs"])


@router.post(
    "/",
    response={202: JobOut},
    summary="Import NDJSON files (FHIR R4) as a background job",
    openapi_extra=writes("Patient", "Encounter", "Condition", "Observation"),
)
def bulk_import(request: HttpRequest, files: File[list[UploadedFile]]) -> Status:
    job = imports.start_import(
        actor=request_actor(request), uploads=[(f.name or "", f) for f in files]
    )
    return Status(202, job_out(job))
