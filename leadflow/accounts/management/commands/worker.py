"""`leadflow worker [--until-idle]`: runs background tasks and schedules periodic jobs."""

import logging
import sys

from apscheduler.schedulers.background import BackgroundScheduler
from django.core.management.base import BaseCommand
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker

from leadflow import scheduler

logger = logging.getLogger("leadflow.worker")


class Command(BaseCommand):
    help = "Run background tasks and periodic jobs (one of many workers, on any machine)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--until-idle", action="store_true",
            help="Enqueue the periodic jobs that are due, run every queued task, then exit.",
        )
        parser.add_argument("--queues", default="*", help="Comma-separated queues, or * for all.")
        parser.add_argument(
            "--interval", type=float, default=1.0,
            help="Seconds to wait between looks at an empty queue.",
        )
        parser.add_argument(
            "--tick", type=float, default=30.0,
            help="Seconds between the scheduler's looks for due periodic jobs.",
        )

    def handle(self, *, until_idle: bool, queues: str, interval: float, tick: float,
               verbosity: int, **options) -> None:
        handler = logging.StreamHandler(sys.stderr)
        for name in ("leadflow", "django_tasks_db", "django.tasks"):
            log = logging.getLogger(name)
            log.addHandler(handler)
            log.setLevel(logging.INFO if verbosity >= 1 else logging.WARNING)

        lock = scheduler.SchedulerLock()
        worker = Worker(
            queue_names=queues.split(","), interval=interval, batch=until_idle,
            backend_name="default", startup_delay=not until_idle, max_tasks=None,
            worker_id=get_random_string(32), excluded_queue_names=[],
        )
        if until_idle:
            due = scheduler.enqueue_due_jobs(lock)
            worker.run()
            lock.release()
            if verbosity >= 1:
                self.stderr.write(f"worker: idle (periodic jobs enqueued: {len(due)})")
            return

        background = BackgroundScheduler(daemon=True)
        background.add_job(
            scheduler.enqueue_due_jobs, "interval", seconds=tick, args=[lock],
            max_instances=1, coalesce=True, next_run_time=None,
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
