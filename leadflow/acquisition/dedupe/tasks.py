"""Background entry point: a whole-database dedupe run started from the duplicates screen.

The last run started from the screen is remembered in the cache (shared by every web process
and worker), so the page can say "running since..." or what the last run did, and a second
click while one runs does not start another.
"""

from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache
from django_tasks import task
from django_tasks.base import TaskResultStatus
from django_tasks.exceptions import TaskResultDoesNotExist

from leadflow.accounts.models import User
from leadflow.acquisition.dedupe.queue import run_dedupe

LAST_RUN_KEY = "acquisition:dedupe:last_run"


@task()
def find_duplicates_now(actor_id: int | None = None) -> dict:
    """Run `leadflow dedupe` with the default fields and thresholds; returns the counts."""
    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    return run_dedupe(actor=actor).counts()


@dataclass(frozen=True)
class BackgroundRun:
    status: str  # a TaskResultStatus value
    enqueued_at: datetime | None
    finished_at: datetime | None
    counts: dict | None  # what the run did, once it succeeded

    @property
    def is_running(self) -> bool:
        return self.status in (TaskResultStatus.READY, TaskResultStatus.RUNNING)


def last_background_run() -> BackgroundRun | None:
    result_id = cache.get(LAST_RUN_KEY)
    if not result_id:
        return None
    try:
        result = find_duplicates_now.get_result(result_id)
    except (TaskResultDoesNotExist, NotImplementedError):
        return None
    counts = result.return_value if result.status == TaskResultStatus.SUCCESSFUL else None
    return BackgroundRun(result.status, result.enqueued_at, result.finished_at, counts)


def start_background_run(*, actor: User | None) -> tuple[BackgroundRun | None, bool]:
    """Queue a run unless one is already waiting or running: (that run, whether it is new)."""
    current = last_background_run()
    if current is not None and current.is_running:
        return current, False
    result = find_duplicates_now.enqueue(actor_id=actor.pk if actor else None)
    cache.set(LAST_RUN_KEY, str(result.id), timeout=None)
    return last_background_run(), True
