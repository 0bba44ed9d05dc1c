"""Browser tests: Debian's chromium driven by Playwright against pytest-django's live server.

Run with `pytest leadflow/tests_browser` (or `-m browser`); they skip themselves when
/usr/bin/chromium is missing. Screenshots land in test-artifacts/ for a person to look at.
"""

import os
import threading
from pathlib import Path

import pytest
from django.core.servers.basehttp import ThreadedWSGIServer
from django.test.testcases import LiveServerThread

from leadflow.accounts.tests.factories import PASSWORD, UserFactory

# Playwright's sync API runs an asyncio loop in this thread, and Django refuses database
# calls from a thread with a running loop unless told the code is really synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


class OneRequestAtATime(ThreadedWSGIServer):
    """The live server, answering one request at a time (connections still on threads).

    On SQLite the test database is one in-memory connection that the server's threads
    share, so two requests at once (the tracking beacon and a click's /t/identify) collide
    on it: "cannot release savepoint - SQL statements in progress", a 500 and a flaky
    test. A production server has a connection per thread and needs none of this.
    """

    def set_app(self, application):
        lock = threading.Lock()

        def serial(environ, start_response):
            with lock:
                return application(environ, start_response)

        super().set_app(serial)


LiveServerThread.server_class = OneRequestAtATime

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
VIEWPORT = {"width": 1440, "height": 900}  # a common laptop screen


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(autouse=True)
def _serve_project_static_and_cache(settings):
    # Throttle counters live in memory here: the live server's threads and the test share
    # one in-memory SQLite database, and the throttles are not what these tests are about.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport=VIEWPORT, base_url=live_server.url)
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def signed_in(page, transactional_db):
    """A page signed in through the real form, as an admin who sees everything."""
    from leadflow.accounts.models import Role

    user = UserFactory(username="ada", first_name="Ada", last_name="Admin", role=Role.ADMIN)
    page.goto("/login/")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/contacts/")
    page.user = user
    return page


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
