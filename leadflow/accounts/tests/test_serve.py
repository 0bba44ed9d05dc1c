"""`leadflow serve`: the real web server and worker, started and stopped as a user would.

The server runs on its own SQLite database in a fresh data dir (LEADFLOW_DATABASE_URL is
taken out of its environment), so this test is the same on a PostgreSQL run of the suite and
never touches the test database.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("granian", reason="granian (the web server) is not installed")

# Readiness waits, not performance limits: a cold start migrates a new database first.
READY_WITHIN_S = 60
STOPPED_WITHIN_S = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback http
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def descendants(pid: int) -> set[int]:
    """Every process below `pid` (Linux /proc), so none can outlive the test unseen."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def server(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "LEADFLOW_DATABASE_URL"}
    env.update(LEADFLOW_DATA_DIR=str(tmp_path / "var"), DJANGO_SETTINGS_MODULE="leadflow.settings")
    # A file, not a pipe: nobody reads a pipe while the server runs, and a full one blocks it.
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
        [sys.executable, "-m", "leadflow.cli", "serve", "--host", "127.0.0.1",
         "--port", str(port), "--workers", "1"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        yield process, base, tmp_path / "serve.log"
    finally:
        for pid in descendants(process.pid) | {process.pid}:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        process.wait()
        log.close()


def wait_until_healthy(process: subprocess.Popen, base: str, log_path: Path) -> None:
    deadline = time.monotonic() + READY_WITHIN_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = log_path.read_text()
            pytest.fail(f"serve exited early ({process.returncode}):\n{output}")
        try:
            if get(f"{base}/healthz")[0] == 200:
                return
        except OSError:
            pass  # not listening yet
        time.sleep(0.5)
    pytest.fail(f"/healthz did not answer 200 within {READY_WITHIN_S} s")


def test_serve_answers_and_stops_with_its_children_on_sigterm(server):
    process, base, log_path = server

    wait_until_healthy(process, base, log_path)

    status, body = get(f"{base}/healthz")
    assert (status, body) == (200, b'{"status": "ok", "database": "ok"}')
    status, body = get(f"{base}/login/")
    assert status == 200
    assert b"password" in body.lower()
    status, body = get(f"{base}/static/admin/css/base.css")
    assert status == 200
    assert b"body" in body
    children = descendants(process.pid)
    assert len(children) >= 2  # the web server and the worker, at least

    process.send_signal(signal.SIGTERM)
    process.wait(timeout=STOPPED_WITHIN_S)

    deadline = time.monotonic() + STOPPED_WITHIN_S
    while any(alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in children if alive(pid)]
    assert process.returncode == 0
