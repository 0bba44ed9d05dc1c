"""Progress and cancel of a background import, through files that the web and the workers see.

An import holds one write transaction for its whole run (a crash must roll it all back), so
nothing about its progress can go through the database: on PostgreSQL other sessions do not
see uncommitted rows, and on SQLite the whole database is write-locked until the commit, so
the web could not even record a cancel. Instead, under `$LEADFLOW_DATA_DIR/imports/`:

- `job-<id>.progress.json`, written by the worker (atomically: a temporary file, then a
  rename) at every batch and by a heartbeat thread every few seconds: phase, rows done and
  total, the worker's host and pid, and when it last beat;
- `job-<id>.cancel`, written by the web when a person presses Cancel; the worker looks for it
  at every batch and rolls the whole run back.

Web and workers on several machines must therefore share the data dir (they already do: the
uploaded file lives there too).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings

from leadflow.errors import LeadflowError

HEARTBEAT_SECONDS = 5.0
# Test hook: a worker with this set stops (sleeps) once that many rows are loaded, inside
# the import's open transaction, so a test can kill it there and prove nothing half-done stays.
PAUSE_ENV = "LEADFLOW_IMPORT_PAUSE_AFTER_ROWS"


class ImportCancelled(LeadflowError):
    """A person cancelled the import; its transaction was rolled back, nothing was written."""

    status_code = 409


def imports_dir() -> Path:
    path = Path(settings.DATA_DIR) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def progress_path(job_id: int) -> Path:
    return imports_dir() / f"job-{int(job_id)}.progress.json"


def cancel_path(job_id: int) -> Path:
    return imports_dir() / f"job-{int(job_id)}.cancel"


def read_progress(job_id: int) -> dict[str, Any] | None:
    """What the worker last wrote about a job, or None if nothing (yet, or any more)."""
    try:
        return json.loads(progress_path(job_id).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def request_cancel(job_id: int) -> None:
    cancel_path(job_id).write_text(datetime.now(UTC).isoformat(), encoding="utf-8")


def cancel_requested(job_id: int) -> bool:
    return cancel_path(job_id).exists()


def clear(job_id: int) -> None:
    """Forget a finished job's progress and cancel files."""
    for path in (progress_path(job_id), cancel_path(job_id)):
        with suppress(FileNotFoundError):
            path.unlink()


def heartbeat_age(snapshot: dict[str, Any], now: datetime) -> float:
    """Seconds since the worker last wrote; infinite when the file says nothing usable."""
    try:
        beat = datetime.fromisoformat(snapshot["heartbeat_at"])
    except (KeyError, TypeError, ValueError):
        return float("inf")
    return (now - beat).total_seconds()


def worker_is_gone(snapshot: dict[str, Any]) -> bool:
    """True when the process that wrote the snapshot ran on this machine and has died.

    Only a certain "dead": on another machine, or if the pid is alive (perhaps reused), the
    caller falls back to the age of the heartbeat.
    """
    if snapshot.get("host") != socket.gethostname() or not snapshot.get("pid"):
        return False
    try:
        os.kill(int(snapshot["pid"]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class ProgressReporter:
    """The worker's side: writes progress, beats, and stops the run when a cancel is asked.

    `factory` is the `progress` argument of `services.import_list`: called once with the rows
    to load, it returns the callback told how many rows each batch loaded.
    """

    def __init__(self, job_id: int, attempt: int) -> None:
        self.job_id = job_id
        self.state: dict[str, Any] = {
            "job_id": job_id,
            "attempt": attempt,
            "phase": "reading",
            "done": 0,
            "total": 0,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started_at": datetime.now(UTC).isoformat(),
        }
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        pause = os.environ.get(PAUSE_ENV, "")
        self._pause_after = int(pause) if pause.isdigit() else None

    def start(self) -> None:
        self.write()
        self._thread = threading.Thread(
            target=self._beat, name=f"import-{self.job_id}-heartbeat", daemon=True
        )
        self._thread.start()

    def stop(self, phase: str) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=HEARTBEAT_SECONDS * 2)
        self.update(phase=phase)

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            self.write()

    def update(self, **changes: Any) -> None:
        with self._lock:
            self.state.update(changes)
        self.write()

    def write(self) -> None:
        with self._lock:
            self.state["heartbeat_at"] = datetime.now(UTC).isoformat()
            data = json.dumps(self.state)
        target = progress_path(self.job_id)
        temporary = target.with_name(f"{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        temporary.write_text(data, encoding="utf-8")
        os.replace(temporary, target)  # readers see the old or the new file, never half of one

    def check(self) -> None:
        """Raise ImportCancelled if a person asked to cancel this job."""
        if cancel_requested(self.job_id):
            raise ImportCancelled("The import was cancelled; nothing was imported.")

    def factory(self, total: int):
        self.check()
        self.update(phase="loading", total=total, done=0)
        return self.tick

    def tick(self, rows: int) -> None:
        with self._lock:
            self.state["done"] += rows
            done = self.state["done"]
        self.write()
        self.check()
        if self._pause_after is not None and done >= self._pause_after:
            self.update(phase="paused by the test hook")
            while True:  # until the test kills this process
                time.sleep(60)
