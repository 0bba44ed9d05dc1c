"""The inbound journey in chromium (issue 4's acceptance).

1. A visitor from a newsletter lands on a page with UTM parameters, browses two pages, signs
   up on a double opt-in form, confirms by the link in the email, and the contact page shows
   the first touch, the earlier visits and the submission.
2. The embed snippet on a page served from another origin: the iframe takes a submission
   that carries the host page's address, and a cross-origin JSON POST passes CORS.

The visitor always has a browser context of their own, never signed in. Waits on the database
are readiness waits with generous caps, never timings.
"""

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django_tasks_db.models import DBTaskResult

from leadflow.capture import tasks
from leadflow.capture.models import Submission, SubmissionStatus, TrackingEvent
from leadflow.capture.tests.factories import LandingPageFactory, make_signup_form
from leadflow.contacts.models import ActivityKind, ConsentState, Contact
from leadflow.tests_browser.conftest import ARTIFACTS, VIEWPORT, screenshot

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

T = TypeVar("T")
READY_WITHIN = 20.0  # seconds: a cap on readiness waits, not a performance target


def wait_until(probe: Callable[[], T], *, what: str, within: float = READY_WITHIN) -> T:
    """Poll until `probe` answers something truthy; fail saying what never became ready."""
    deadline = time.monotonic() + within
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {within:.0f} s waiting for {what}")
        time.sleep(0.05)


def wait_for_page_views(count: int) -> list[TrackingEvent]:
    """The beacons are sent with sendBeacon, which the page does not wait for."""

    def stored() -> list[TrackingEvent]:
        events = list(TrackingEvent.objects.order_by("id"))
        return events if len(events) >= count else []

    return wait_until(stored, what=f"{count} page view(s) to be stored")


def full_page_screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def visitor_id(context, url: str) -> str:
    cookies = {c["name"]: c["value"] for c in context.cookies(url)}
    assert "lf_vid" in cookies, f"lf.js set no lf_vid cookie for {url}"
    return cookies["lf_vid"]


# --------------------------------------------------------------------------- journey


def _site_with_a_double_opt_in_guide():
    form = make_signup_form(
        slug="pipeline-guide",
        name="Pipeline guide",
        submit_label="Send me the guide",
        double_opt_in=True,
    )
    LandingPageFactory(
        slug="pipeline-tips",
        title="Five pipeline tips",
        form=None,
        blocks=[
            {"type": "headline", "text": "Five tips for a fuller pipeline"},
            {"type": "text", "text": "What 300 B2B teams do differently."},
            {"type": "button", "text": "See the plans", "url": "/p/pricing"},
        ],
    )
    LandingPageFactory(
        slug="pricing",
        title="Plans and pricing",
        form=None,
        blocks=[
            {"type": "headline", "text": "Plans for every team"},
            {"type": "text", "text": "Starter, Team and Scale."},
            {"type": "button", "text": "Get the free guide first", "url": "/p/guide"},
        ],
    )
    LandingPageFactory(slug="guide", title="The 2026 pipeline guide", form=form)
    return form


def test_a_newsletter_visitor_browses_signs_up_confirms_and_the_contact_page_tells_it(
    browser, live_server, signed_in, settings
):
    settings.PUBLIC_URL = live_server.url  # the emailed link must reach this server
    form = _site_with_a_double_opt_in_guide()
    landing = f"{live_server.url}/p/pipeline-tips?utm_source=newsletter&utm_medium=email"
    landing += "&utm_campaign=nov"

    visitor = browser.new_context(viewport=VIEWPORT, base_url=live_server.url)
    try:
        tab = visitor.new_page()
        tab.goto(landing)
        expect(tab.get_by_role("heading", name="Five tips for a fuller pipeline")).to_be_visible()
        wait_for_page_views(1)
        screenshot(tab, "journey_1_landing_with_utm")

        tab.get_by_role("link", name="See the plans").click()
        tab.wait_for_url("**/p/pricing")
        wait_for_page_views(2)
        tab.get_by_role("link", name="Get the free guide first").click()
        tab.wait_for_url("**/p/guide")
        views = wait_for_page_views(3)

        vid = visitor_id(visitor, live_server.url)
        # lf.js fills the form's hidden visitor id, which joins the visits to the submission.
        expect(tab.locator('input[name="_vid"]')).to_have_value(vid)
        tab.get_by_role("textbox", name="Work email").fill("grace@hopper.example")
        tab.get_by_label("First name").fill("Grace")
        tab.get_by_label("I agree to receive the guide and related emails.").check()
        screenshot(tab, "journey_2_form_filled")
        tab.get_by_role("button", name="Send me the guide").click()
        expect(tab.get_by_role("status")).to_contain_text("we sent you an email")
        screenshot(tab, "journey_3_check_your_email")

        # The three visits, in order, each with its page and the first one's UTM parameters.
        assert [v.visitor_id for v in views] == [vid] * 3
        assert [urlsplit(v.url).path for v in views] == [
            "/p/pipeline-tips",
            "/p/pricing",
            "/p/guide",
        ]
        assert [v.title for v in views] == [
            "Five pipeline tips",
            "Plans and pricing",
            "The 2026 pipeline guide",
        ]
        assert views[0].utm == {
            "utm_source": "newsletter",
            "utm_medium": "email",
            "utm_campaign": "nov",
        }
        assert views[1].referrer == landing

        # Double opt-in: the submission waits; no contact until the owner confirms.
        submission = Submission.objects.get(form=form)
        assert submission.status == SubmissionStatus.AWAITING_CONFIRMATION
        assert submission.context["visitor_id"] == vid
        assert submission.context["page"] == f"{live_server.url}/p/guide"
        assert not Contact.objects.filter(email="grace@hopper.example").exists()

        # The confirmation email is a task queued on commit; run it as the worker would.
        queued = DBTaskResult.objects.get(task_path=tasks.send_confirmation_email.module_path)
        assert queued.task_result.kwargs == {"submission_id": submission.pk}
        assert mail.outbox == []
        assert queued.task.call(**queued.task_result.kwargs) == "sent"
        (email,) = mail.outbox
        assert email.to == ["grace@hopper.example"]
        link = re.search(r"https?://\S+/confirm/\S+", email.body)
        assert link, email.body
        assert link.group(0).startswith(f"{live_server.url}/f/pipeline-guide/confirm/")

        # Mail scanners open links: opening it only asks; the button confirms.
        tab.goto(link.group(0))
        expect(tab.get_by_role("heading", name="One click to confirm")).to_be_visible()
        screenshot(tab, "journey_4_confirm_page")
        assert not Contact.objects.filter(email="grace@hopper.example").exists()
        tab.get_by_role("button", name="Yes, confirm my subscription").click()
        expect(tab.get_by_role("status")).to_have_text("Thank you, your subscription is confirmed.")
        screenshot(tab, "journey_5_confirmed")
    finally:
        visitor.close()

    contact = Contact.objects.get(email="grace@hopper.example")
    assert contact.first_name == "Grace"
    assert contact.consent == ConsentState.GRANTED
    assert contact.first_touch_channel.name == "Email"
    assert contact.first_touch_campaign.name == "nov"

    # A manager opens the contact: the first touch, the three visits and the submission.
    admin = signed_in
    admin.goto(f"/contacts/{contact.pk}/")
    first_touch = admin.locator(".touch > div").filter(has_text="First touch")
    expect(first_touch).to_contain_text("Email")
    expect(first_touch).to_contain_text("nov")
    timeline = admin.locator("#timeline")
    page_views = timeline.locator(f".tl-{ActivityKind.PAGE_VIEW}")
    expect(page_views).to_have_count(3)
    # Newest first.
    expect(page_views.nth(0)).to_contain_text("The 2026 pipeline guide")
    expect(page_views.nth(1)).to_contain_text("Plans and pricing")
    expect(page_views.nth(2)).to_contain_text("Five pipeline tips")
    expect(page_views.nth(2)).to_contain_text("utm_campaign=nov")
    submitted = timeline.locator(f".tl-{ActivityKind.FORM_SUBMITTED}")
    expect(submitted).to_have_count(1)
    expect(submitted).to_contain_text("Pipeline guide")
    screenshot(admin, "journey_6_contact_page")
    full_page_screenshot(admin, "journey_6_contact_page_full")


# --------------------------------------------------------------------------- embed


SITE_LIFETIME = 300.0  # seconds: the third-party server stops itself even if teardown never runs


@dataclass
class ThirdPartySite:
    url: str
    pages: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def third_party_site():
    """A customer's own site: static HTML on another loopback port, another origin than
    the live server (127.0.0.1 here, localhost there)."""
    site = ThirdPartySite(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            html = site.pages.get(urlsplit(self.path).path)
            if html is None:
                self.send_error(404)
                return
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):  # noqa: A002 (the base class's name)
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
    )
    thread.start()
    watchdog = threading.Timer(SITE_LIFETIME, server.shutdown)
    watchdog.daemon = True
    watchdog.start()
    site.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield site
    finally:
        watchdog.cancel()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _blog(title: str, body: str, scripts: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font:16px/1.5 Georgia,serif;max-width:680px;margin:40px auto;color:#222}}</style>
</head><body>
<header><strong>Acme Robotics blog</strong></header>
<h1>{title}</h1>
{body}
{scripts}
</body></html>"""


def test_the_embed_snippet_on_another_origin_takes_submissions_and_cross_origin_json(
    browser, live_server, third_party_site
):
    make_signup_form(
        slug="newsletter",
        name="Acme newsletter",
        submit_label="Subscribe",
        thank_you_message="Thanks! The next issue is on its way.",
    )
    site = third_party_site
    tracking = f'<script src="{live_server.url}/t/lf.js" async></script>'
    embed = f'<script src="{live_server.url}/f/newsletter/embed.js" async></script>'
    site.pages["/"] = _blog(
        "Acme Robotics",
        '<p><a href="/blog/pipeline.html">Read: how we filled our pipeline</a></p>',
        tracking,
    )
    site.pages["/blog/pipeline.html"] = _blog(
        "How we filled our pipeline",
        f"<p>Three things that worked for us.</p><h2>Get the next issue</h2>{embed}",
        tracking,
    )
    post_url = f"{site.url}/blog/pipeline.html"

    visitor = browser.new_context(viewport=VIEWPORT)
    try:
        tab = visitor.new_page()
        # Found on a search engine; the site runs lf.js on every page.
        tab.goto(f"{site.url}/", referer="https://www.google.com/")
        wait_for_page_views(1)
        tab.get_by_role("link", name="Read: how we filled our pipeline").click()
        tab.wait_for_url(post_url)
        wait_for_page_views(2)
        vid = visitor_id(visitor, site.url)  # first-party, on the customer's domain

        iframe = tab.locator("iframe[data-lf-embed]")
        expect(iframe).to_have_attribute("data-lf-embed", "newsletter")
        assert iframe.get_attribute("src").startswith(f"{live_server.url}/f/newsletter?embed=1")
        frame = tab.frame_locator("iframe[data-lf-embed]")
        frame.get_by_role("textbox", name="Work email").fill("ada@acme.example")
        frame.get_by_label("First name").fill("Ada")
        frame.get_by_label("I agree to receive the guide and related emails.").check()
        screenshot(tab, "embed_1_form_on_third_party_page")
        frame.get_by_role("button", name="Subscribe").click()
        expect(frame.get_by_role("status")).to_have_text("Thanks! The next issue is on its way.")
        screenshot(tab, "embed_2_thank_you_in_iframe")

        contact = Contact.objects.get(email="ada@acme.example")
        assert contact.first_name == "Ada"
        submission = Submission.objects.get(contact=contact)
        assert submission.status == SubmissionStatus.PROCESSED
        # The embed carried the host page's address, its referrer and the visitor id.
        assert submission.context["page"] == post_url
        assert submission.context["referrer"] == f"{site.url}/"
        assert submission.context["visitor_id"] == vid
        # The visits on the customer's site joined the contact; the first came from search.
        assert contact.first_touch_channel.name == "Organic search"
        visits = contact.activities.filter(kind=ActivityKind.PAGE_VIEW).order_by("occurred_at")
        assert [v.data["url"] for v in visits] == [f"{site.url}/", post_url]

        # The customer's own code posts JSON across origins: a preflighted request, whose
        # answer the page can read only if it allows the page's origin.
        endpoint = f"{live_server.url}/f/newsletter"
        with tab.expect_response(
            lambda r: r.url == endpoint and r.request.method == "POST"
        ) as seen:
            answer = tab.evaluate(
                """async ([url, values]) => {
                    const response = await fetch(url, {
                        method: "POST",
                        headers: {"Content-Type": "application/json"},
                        body: JSON.stringify(values),
                    });
                    return {status: response.status, json: await response.json()};
                }""",
                [endpoint, {"email": "linus@acme.example", "first_name": "Linus", "consent": True}],
            )
        assert answer["status"] == 200, answer
        assert seen.value.headers["access-control-allow-origin"] == "*"
        assert answer["json"]["ok"] is True
        assert answer["json"]["message"] == "Thanks! The next issue is on its way."
        linus = Contact.objects.get(email="linus@acme.example")
        assert linus.first_name == "Linus"
        via_fetch = Submission.objects.get(contact=linus)
        # No _page was posted: the Referer (the origin, by the default referrer policy) is.
        assert via_fetch.context["page"].startswith(site.url)

        # The same request to a URL that answers without CORS headers is refused by the
        # browser, so the success above is the endpoint's CORS answer at work.
        refused = tab.evaluate(
            """async (url) => {
                try {
                    await fetch(url, {method: "POST", headers: {"Content-Type": "application/json"},
                                      body: "{}"});
                    return "answered";
                } catch (error) {
                    return error.name;
                }
            }""",
            f"{live_server.url}/login/",
        )
        assert refused == "TypeError"
    finally:
        visitor.close()


def test_a_tracked_email_link_identifies_the_reader_on_the_site(browser, live_server, settings):
    """A known contact clicks a link in an email: the click is recorded, the tracking script
    on the landing page trades the identity token for "this visitor is that contact", and the
    token is taken out of the address bar."""
    from leadflow.capture import email_links
    from leadflow.capture.models import Visitor
    from leadflow.contacts.tests.factories import ContactFactory

    settings.PUBLIC_URL = live_server.url
    LandingPageFactory(
        slug="offer",
        title="Our November offer",
        form=None,
        blocks=[{"type": "headline", "text": "20% off this month"}],
    )
    contact = ContactFactory(email="reader@example.com")
    link = email_links.click_url(contact=contact, url=f"{live_server.url}/p/offer?ref=nl")

    reader = browser.new_context(viewport=VIEWPORT)
    try:
        tab = reader.new_page()
        tab.goto(link)
        expect(tab.get_by_role("heading", name="20% off this month")).to_be_visible()
        visitor = wait_until(
            lambda: Visitor.objects.filter(contact=contact).first(),
            what="the visitor to be identified",
        )
        assert visitor.identified_by == "email-click"
        assert "lf_id" not in tab.url and "ref=nl" in tab.url
        view = wait_until(
            lambda: TrackingEvent.objects.filter(visitor_id=visitor.visitor_id).first(),
            what="the page view to be stored",
        )
        assert "lf_id" not in view.url
        assert contact.activities.filter(kind=ActivityKind.EMAIL_CLICKED).exists()
        screenshot(tab, "email_click_landing")
    finally:
        reader.close()
