"""Periodic work, scheduled by the worker rather than by cron (PRODUCT.md).

Every `leadflow worker` runs a small APScheduler; only the one holding the scheduler lock
enqueues due jobs, so however many workers run on however many machines, a job is
enqueued once per period. The lock is a PostgreSQL advisory lock held on its own connection
(released by the server if the process dies) or, on SQLite, a file lock beside the
database, which by nature lives on one machine. The time each job was last enqueued is kept
in the shared cache, so a restart does not run everything again.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connections
from django.utils import timezone

logger = logging.getLogger("leadflow.scheduler")

# Any constant that is ours alone: pg_try_advisory_lock takes one bigint key.
ADVISORY_LOCK_KEY = 0x1EADF10


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every: timedelta
    enqueue: Callable[[], Any]  # enqueues the task; the work itself runs in a worker


_JOBS: dict[str, PeriodicJob] = {}


def register(name: str, every: timedelta) -> Callable:
    """Decorator for a function that enqueues a periodic task: `@register("x", hours(1))`."""

    def wrap(func: Callable[[], Any]) -> Callable[[], Any]:
        _JOBS[name] = PeriodicJob(name=name, every=every, enqueue=func)
        return func

    return wrap


def list_jobs() -> list[PeriodicJob]:
    _load_job_modules()
    return sorted(_JOBS.values(), key=lambda job: job.name)


def _load_job_modules() -> None:
    from importlib import import_module

    from django.apps import apps
    from django.utils.module_loading import module_has_submodule

    for config in apps.get_app_configs():
        if config.name.startswith("leadflow.") and module_has_submodule(config.module, "tasks"):
            import_module(f"{config.name}.tasks")


class SchedulerLock:
    """Held by at most one process at a time, across machines on PostgreSQL."""

    def __init__(self) -> None:
        self._file = None
        self._pg = None

    def acquire(self) -> bool:
        if self._pg is not None and not self._pg.is_usable():
            # The server ended our session (restart, fail-over, idle kill) and released the
            # lock with it: another worker may hold it now, so ask again rather than assume.
            logger.warning("lost the scheduler lock's connection; asking for the lock again")
            with contextlib.suppress(DatabaseError):
                self._pg.close()
            self._pg = None
        if self.held:
            return True
        db = settings.DATABASES["default"]
        if db["ENGINE"] == "django.db.backends.postgresql":
            # A connection of our own, outside Django's per-thread ones, so that no
            # transaction or connection recycling in the worker ever drops the lock.
            conn = connections.create_connection("default")
            conn.ensure_connection()
            conn.set_autocommit(True)
            with conn.cursor() as cur:
                cur.execute("SELECT pg_try_advisory_lock(%s)", [ADVISORY_LOCK_KEY])
                got = cur.fetchone()[0]
            if got:
                self._pg = conn
            else:
                conn.close()
            return got
        path = Path(settings.DATA_DIR) / "scheduler.lock"
        handle = path.open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._file = handle
        return True

    @property
    def held(self) -> bool:
        return self._file is not None or self._pg is not None

    def release(self) -> None:
        if self._pg is not None:
            try:
                with self._pg.cursor() as cur:
                    cur.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_LOCK_KEY])
            finally:
                self._pg.close()
                self._pg = None
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def _last_run_key(job: PeriodicJob) -> str:
    return f"leadflow:periodic:{job.name}:last"


def enqueue_due_jobs(lock: SchedulerLock) -> list[str]:
    """Enqueue every job whose period has passed, if this process holds the lock."""
    if not lock.acquire():
        return []
    now = timezone.now()
    enqueued = []
    for job in list_jobs():
        last = cache.get(_last_run_key(job))
        if last is not None and now - last < job.every:
            continue
        try:
            job.enqueue()
        except Exception:
            logger.exception("could not enqueue periodic job %s", job.name)
            continue
        cache.set(_last_run_key(job), now, timeout=None)
        enqueued.append(job.name)
    if enqueued:
        logger.info("enqueued periodic jobs: %s", ", ".join(enqueued))
    return enqueued
