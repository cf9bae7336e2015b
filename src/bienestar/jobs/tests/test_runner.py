"""The job service and runner in one process: starting (permission, audit, the queued task in the
same transaction), running inline (progress, results, failures in Spanish), cancelling, and who
sees which job."""

from __future__ import annotations

import pytest
from procrastinate.contrib.django.models import ProcrastinateJob

from bienestar.access.actor import Actor
from bienestar.access.errors import Forbidden, NotAuthenticated
from bienestar.access.models import AuditAction, AuditEvent
from bienestar.access.roles import Permission
from bienestar.access.tests.factories import actor_for
from bienestar.core.errors import NotFound
from bienestar.jobs import files, runner, selectors, services
from bienestar.jobs.models import Job, JobStatus
from bienestar.jobs.tests import tasks_for_tests  # noqa: F401 - registers the test tasks


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BIENESTAR_HOME", str(tmp_path))
    return tmp_path


def start_count(actor: Actor, steps: int = 3, **kwargs: object) -> Job:
    return services.start(
        actor=actor, kind="test.count", title="Contar", params={"steps": steps}, **kwargs
    )


@pytest.mark.django_db
def test_start_records_the_job_and_queues_its_task_in_one_transaction(users) -> None:
    actor = actor_for(users["clinician"])

    job = start_count(actor)

    assert (job.status, job.user, job.territory) == (
        JobStatus.QUEUED,
        users["clinician"],
        users["clinician"].territory,
    )
    queued = ProcrastinateJob.objects.get(id=job.queue_job_id)
    assert (queued.task_name, queued.status, queued.args) == (
        "test.count",
        "todo",
        {"job_id": job.pk, "steps": 3},
    )


@pytest.mark.django_db
def test_start_refuses_anonymous_and_the_wrong_role_and_writes_nothing(users) -> None:
    with pytest.raises(NotAuthenticated):
        start_count(Actor.system())
    with pytest.raises(Forbidden):
        start_count(actor_for(users["pharmacist"]), permission=Permission.AUDIT_READ)

    assert not Job.objects.exists()
    assert not ProcrastinateJob.objects.exists()


@pytest.mark.django_db
def test_a_job_on_personal_data_is_audited_when_started(users) -> None:
    job = start_count(actor_for(users["clinician"]), personal_data=True, audit_action="export")

    row = AuditEvent.objects.get(resource_type="Job")
    assert (row.action, row.resource_id, row.actor) == (
        AuditAction.EXPORT,
        str(job.public_id),
        users["clinician"],
    )


@pytest.mark.django_db
def test_running_reports_progress_and_keeps_the_results(users, home) -> None:
    job = runner.run_inline(start_count(actor_for(users["clinician"]), steps=4))

    assert (job.status, job.attempts, job.progress_done, job.progress_total) == (
        JobStatus.SUCCEEDED,
        1,
        4,
        4,
    )
    assert job.percent == 100.0
    assert job.results == [{"name": "cuenta.csv", "size": len("paso\n1\n2\n3\n4\n")}]
    path = files.result_file(job.public_id, job.results, "cuenta.csv")
    assert path is not None and path.read_text() == "paso\n1\n2\n3\n4\n"
    assert files.result_file(job.public_id, job.results, "../secret_key") is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("how", "error"),
    [
        ("domain", "El archivo no tiene el formato esperado."),
        ("crash", "Error interno (ValueError). Avise a soporte con el número del trabajo."),
    ],
)
def test_a_failure_is_told_in_spanish_without_internals_and_leaves_no_files(
    users, how, error
) -> None:
    job = services.start(
        actor=actor_for(users["clinician"]), kind="test.fail", title="Fallar", params={"how": how}
    )

    job = runner.run_inline(job)

    assert (job.status, job.error) == (JobStatus.FAILED, error)
    assert "internal detail" not in job.error
    assert not files.job_dir(job.public_id).exists()


@pytest.mark.django_db
def test_a_cancelled_job_never_runs_and_a_finished_one_never_runs_again(users) -> None:
    actor = actor_for(users["clinician"])
    cancelled = services.cancel(actor=actor, job=start_count(actor))
    assert runner.run_inline(cancelled).status == JobStatus.CANCELLED
    assert cancelled.attempts == 0

    done = runner.run_inline(start_count(actor))
    again = runner.run_inline(done)
    assert (again.status, again.attempts) == (JobStatus.SUCCEEDED, 1)


@pytest.mark.django_db
def test_a_job_interrupted_too_often_is_failed_not_retried_for_ever(users, settings) -> None:
    job = start_count(actor_for(users["clinician"]))
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, attempts=settings.JOBS_MAX_ATTEMPTS
    )

    job = runner.run_inline(job)

    assert job.status == JobStatus.FAILED
    assert "se interrumpió" in job.error


@pytest.mark.django_db
def test_cancelling_removes_the_results(users) -> None:
    actor = actor_for(users["clinician"])
    job = runner.run_inline(start_count(actor))

    services.cancel(actor=actor, job=job)

    job.refresh_from_db()
    assert (job.status, job.results) == (JobStatus.CANCELLED, [])


@pytest.mark.django_db
def test_a_user_sees_only_their_own_jobs(users) -> None:
    mine = start_count(actor_for(users["clinician"]))
    start_count(actor_for(users["other_state_clinician"]))
    national = actor_for(users["national_coordinator"])

    assert list(selectors.my_jobs(actor_for(users["clinician"]))) == [mine]
    assert selectors.my_job(actor_for(users["clinician"]), mine.public_id) == mine
    for other in (national, actor_for(users["other_state_clinician"]), Actor.system()):
        with pytest.raises(NotFound):
            selectors.my_job(other, mine.public_id)
    with pytest.raises(NotFound):
        selectors.my_job(actor_for(users["clinician"]), "not-a-uuid")
