"""`leadflow serve [--demo] [--host H] [--port P]`: the product in one command.

Migrates the database, optionally loads the demo workspace, then runs the production web
server (granian, WSGI, static files through whitenoise) and one background worker, and
stops both together.
"""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve Leadflow on HOST:PORT with one background worker."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default=os.environ.get("LEADFLOW_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("LEADFLOW_PORT", 8000)))
        parser.add_argument("--demo", action="store_true", help="Load the demo workspace first.")
        parser.add_argument(
            "--workers",
            type=int,
            default=int(os.environ.get("LEADFLOW_WEB_WORKERS", 0)) or None,
            help="Web server processes (default: one per CPU core).",
        )
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="Do not start a background worker (run `leadflow worker`).",
        )
        parser.add_argument("--no-migrate", action="store_true")

    def handle(
        self,
        *,
        host: str,
        port: int,
        demo: bool,
        workers: int | None,
        no_worker: bool,
        no_migrate: bool,
        **options,
    ) -> None:
        if not no_migrate:
            call_command("migrate", interactive=False, verbosity=0)
            call_command("createcachetable", verbosity=0)
        if demo:
            call_command("demo", verbosity=1, stdout=self.stdout)
        workers = workers or os.cpu_count() or 1

        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        # Before the children start: a SIGTERM that came between their start and the handler
        # would kill this process by default and leave them running, orphaned.
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "leadflow.settings",
            "LEADFLOW_DATA_DIR": str(settings.DATA_DIR),
        }
        web = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            [
                sys.executable,
                "-m",
                "granian",
                "--interface",
                "wsgi",
                "--host",
                host,
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--blocking-threads",
                "1",
                "--no-ws",
                "--log-level",
                "warning",
                "leadflow.wsgi:application",
            ],
            env=env,
        )
        children = [web]
        if not no_worker:
            children.append(
                subprocess.Popen(  # noqa: S603
                    [sys.executable, "-m", "leadflow.cli", "worker"], env=env
                )
            )
        self.stdout.write(
            f"Leadflow is running on http://{host}:{port}/ "
            f"({workers} web process(es), {'no' if no_worker else 'one'} worker)"
        )
        self.stdout.flush()
        try:
            while not stopping and all(child.poll() is None for child in children):
                time.sleep(0.5)
        finally:
            for child in children:
                if child.poll() is None:
                    child.terminate()
            for child in children:
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
        failed = [c for c in children if c.returncode not in (0, -signal.SIGTERM, None)]
        if failed and not stopping:
            sys.exit(1)
