"""`leadflow worker [--until-idle]`: runs background tasks and schedules periodic jobs."""

import logging

from apscheduler.schedulers.background import BackgroundScheduler
from django.core.management.base import BaseCommand
from django.db import close_old_connections
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker

from leadflow import scheduler

logger = logging.getLogger("leadflow.worker")


def _scheduler_tick(lock: scheduler.SchedulerLock) -> None:
    """One look for due jobs, from APScheduler's thread.

    That thread's database connections live outside any request or task, so nothing else
    retires them: without this, one dropped connection would fail every later tick.
    """
    close_old_connections()
    try:
        scheduler.enqueue_due_jobs(lock)
    finally:
        close_old_connections()


class Command(BaseCommand):
    help = "Run background tasks and periodic jobs (one of many workers, on any machine)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--until-idle",
            action="store_true",
            help="Enqueue the periodic jobs that are due, run every queued task, then exit.",
        )
        parser.add_argument("--queues", default="*", help="Comma-separated queues, or * for all.")
        parser.add_argument(
            "--interval",
            type=float,
            default=1.0,
            help="Seconds to wait between looks at an empty queue.",
        )
        parser.add_argument(
            "--tick",
            type=float,
            default=30.0,
            help="Seconds between the scheduler's looks for due periodic jobs.",
        )

    def handle(
        self,
        *,
        until_idle: bool,
        queues: str,
        interval: float,
        tick: float,
        verbosity: int,
        **options,
    ) -> None:
        # Levels only: settings.LOGGING already sends every record to the console, and a
        # handler of our own here printed each line twice.
        for name in ("leadflow", "django_tasks_db", "django.tasks"):
            logging.getLogger(name).setLevel(logging.INFO if verbosity >= 1 else logging.WARNING)

        lock = scheduler.SchedulerLock()
        worker = Worker(
            queue_names=queues.split(","),
            interval=interval,
            batch=until_idle,
            backend_name="default",
            startup_delay=not until_idle,
            max_tasks=None,
            worker_id=get_random_string(32),
            excluded_queue_names=[],
        )
        if until_idle:
            try:
                due = scheduler.enqueue_due_jobs(lock)
                worker.run()
            finally:
                lock.release()
            if verbosity >= 1:
                self.stderr.write(f"worker: idle (periodic jobs enqueued: {len(due)})")
            return

        background = BackgroundScheduler(daemon=True)
        # No next_run_time argument: APScheduler reads next_run_time=None as "add paused",
        # which left the periodic jobs enqueued once at start and never again.
        background.add_job(
            _scheduler_tick, "interval", seconds=tick, args=[lock], max_instances=1, coalesce=True
        )
        background.start()
        # First look right away, so a fresh installation runs its due jobs without waiting.
        scheduler.enqueue_due_jobs(lock)
        worker.configure_signals()
        try:
            worker.run()
        finally:
            background.shutdown(wait=False)
            lock.release()
