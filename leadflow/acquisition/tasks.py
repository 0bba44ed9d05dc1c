"""Background entry points of acquisition: load by id, call one service."""

from datetime import timedelta

from django_tasks import task

from leadflow.acquisition import jobs
from leadflow.scheduler import register


@task()
def run_import(job_id: int) -> str:
    """One queued import, start to finish, in the worker (see jobs.run_queued_import)."""
    return jobs.run_queued_import(job_id=job_id)


@task()
def recover_stalled_imports() -> int:
    """Queue again (or fail) the imports whose worker died mid-file."""
    return len(jobs.recover_stalled_imports())


# Often, because the check only reads a few rows and files, and a crashed import waits for it.
@register("recover_stalled_imports", every=timedelta(minutes=1))
def _schedule_recovery() -> None:
    recover_stalled_imports.enqueue()
