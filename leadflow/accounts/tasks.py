"""Background housekeeping of the installation itself."""

from datetime import timedelta

from django.core.management import call_command
from django_tasks import task

from leadflow.scheduler import register


@task()
def prune_finished_tasks() -> None:
    """Finished task results older than a week are history nobody reads; keep the table small."""
    call_command("prune_db_task_results", min_age_days=7, verbosity=0)


@task()
def clear_expired_sessions() -> None:
    call_command("clearsessions", verbosity=0)


@register("prune_finished_tasks", every=timedelta(days=1))
def _schedule_prune() -> None:
    prune_finished_tasks.enqueue()


@register("clear_expired_sessions", every=timedelta(days=1))
def _schedule_sessions() -> None:
    clear_expired_sessions.enqueue()
