"""`leadflow worker`: runs queued tasks, enqueues periodic jobs once per period, one scheduler."""

from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django_tasks import task
from django_tasks_db.models import DBTaskResult

from leadflow import scheduler
from leadflow.accounts import tasks as account_tasks

# The worker claims tasks in transactions of its own (exclusive ones on SQLite), and the lock
# tests need connections of their own: real transactions, not the test's wrapping one.
pytestmark = pytest.mark.django_db(transaction=True)


@task()
def add_numbers(a: int, b: int) -> int:
    return a + b


@pytest.fixture(autouse=True)
def empty_cache():
    # The last-run times of periodic jobs live in the cache table, which no test flush empties.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def own_lock_file(settings, tmp_path):
    # On SQLite the scheduler lock is a file under the data dir: keep it away from any real
    # worker that shares this machine's data dir.
    settings.DATA_DIR = tmp_path


def run_until_idle() -> str:
    err = StringIO()
    call_command("worker", "--until-idle", stdout=StringIO(), stderr=err)
    return err.getvalue()


def test_a_queued_task_runs():
    result = add_numbers.enqueue(2, 3)

    run_until_idle()

    row = DBTaskResult.objects.get(pk=result.id)
    assert row.status == "SUCCESSFUL"
    assert row.return_value == 5


def test_the_due_periodic_jobs_are_enqueued_and_run():
    jobs = scheduler.list_jobs()
    assert {"prune_finished_tasks", "clear_expired_sessions"} <= {job.name for job in jobs}

    report = run_until_idle()

    assert f"periodic jobs enqueued: {len(jobs)}" in report
    ours = DBTaskResult.objects.filter(
        task_path__in=[
            account_tasks.prune_finished_tasks.module_path,
            account_tasks.clear_expired_sessions.module_path,
        ]
    )
    assert sorted(ours.values_list("status", flat=True)) == ["SUCCESSFUL", "SUCCESSFUL"]


def test_a_second_run_within_the_period_enqueues_nothing():
    run_until_idle()
    enqueued = DBTaskResult.objects.count()

    report = run_until_idle()

    assert "periodic jobs enqueued: 0" in report
    assert DBTaskResult.objects.count() == enqueued


def test_a_job_is_enqueued_again_once_its_period_has_passed():
    run_until_idle()
    # As if a day went by: the job's last run is forgotten.
    cache.delete("leadflow:periodic:clear_expired_sessions:last")

    report = run_until_idle()

    assert "periodic jobs enqueued: 1" in report


def test_only_one_process_holds_the_scheduler_lock():
    first, second = scheduler.SchedulerLock(), scheduler.SchedulerLock()
    try:
        assert first.acquire()
        assert not second.acquire()
        assert first.acquire()  # holding it already is holding it
        first.release()
        assert second.acquire()
    finally:
        first.release()
        second.release()


def test_a_worker_without_the_lock_enqueues_no_periodic_job():
    holder, other = scheduler.SchedulerLock(), scheduler.SchedulerLock()
    try:
        assert holder.acquire()

        assert scheduler.enqueue_due_jobs(other) == []
        assert not DBTaskResult.objects.exists()
    finally:
        holder.release()
        other.release()
