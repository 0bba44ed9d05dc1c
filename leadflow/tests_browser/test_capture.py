"""Capture's screens in chromium: a marketer builds a form and a landing page, a visitor from
a newsletter fills it in, and the contact arrives with its first touch."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leadflow.accounts.models import Role
from leadflow.accounts.tests.factories import PASSWORD, UserFactory
from leadflow.capture import inbound, magnets, webhooks
from leadflow.capture.models import (
    ChannelRule,
    DeliveryStatus,
    Event,
    LeadMagnet,
    Registration,
    Submission,
    SubmissionStatus,
    WebhookDelivery,
    WebhookEndpoint,
)
from leadflow.capture.tests.factories import LandingPageFactory, make_signup_form
from leadflow.contacts.models import Contact
from leadflow.contacts.tests.factories import ChannelFactory, ContactFactory
from leadflow.tests_browser.conftest import VIEWPORT, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in(page, username: str, role: str):
    user = UserFactory(username=username, first_name="Mara", last_name="Ketting", role=role)
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/contacts/")
    return user


def test_a_marketer_builds_a_form_and_page_and_a_newsletter_visitor_becomes_a_contact(
    page, browser, live_server
):
    _sign_in(page, "mara", Role.MARKETING)
    page.get_by_role("link", name="Capture").click()
    page.wait_for_url("**/capture/")
    assert page.get_by_text("Forms turn visitors into contacts").is_visible()
    screenshot(page, "capture_forms_empty")

    # The builder starts with Email and First name; add a consent checkbox.
    page.get_by_role("link", name="Create form").click()
    page.get_by_label("Name", exact=True).fill("Pipeline guide")
    page.get_by_label("Address").fill("pipeline-guide")
    page.get_by_label("Button text").fill("Send me the guide")
    page.get_by_role("button", name="Add field").click()
    row = page.locator("#fields-rows [data-row]").nth(2)
    row.get_by_label("Label").fill("I agree")
    assert row.get_by_label("Key").input_value() == "i_agree"  # filled from the label
    row.get_by_label("Key").fill("consent")
    row.get_by_label("Type").select_option("consent")
    row.get_by_label("Consent wording").fill("Send me the guide and related emails.")
    row.get_by_label("Required").check()
    page.get_by_label("Minimum fill time (seconds)").fill("0")
    screenshot(page, "capture_form_builder")
    page.get_by_role("button", name="Create form").click()
    page.wait_for_url("**/capture/forms/*/")
    assert page.get_by_text("/f/pipeline-guide/embed.js").is_visible()
    page.frame_locator("iframe.preview-frame").get_by_role("textbox", name="Email").wait_for()
    screenshot(page, "capture_form_detail_empty")

    # A landing page that shows the form.
    page.goto("/capture/pages/")
    assert page.get_by_text("Landing pages give a campaign its own address").is_visible()
    page.get_by_role("link", name="New landing page").click()
    page.get_by_label("Title", exact=True).fill("The 2026 pipeline guide")
    page.get_by_label("Address", exact=True).fill("guide")
    page.get_by_label("Description", exact=True).fill("Twelve pages on filling a pipeline.")
    page.get_by_label("Form", exact=True).select_option(label="Pipeline guide")
    page.get_by_label("Published", exact=True).check()
    blocks = page.locator("#blocks-rows [data-row]")
    blocks.nth(0).get_by_label("Text", exact=True).fill("Fill your pipeline in 2026")
    blocks.nth(1).get_by_label("Text", exact=True).fill(
        "Twelve pages of what works, from 300 B2B teams."
    )
    page.get_by_role("button", name="Add block").click()
    blocks.nth(3).get_by_label("Block type").select_option("button")
    blocks.nth(3).get_by_label("Text", exact=True).fill("Book a demo instead")
    blocks.nth(3).get_by_label("Link or image address").fill("https://example.com/demo")
    blocks.nth(3).get_by_role("button", name="Move block up").click()  # above the form
    page.get_by_role("button", name="Create page").click()
    page.wait_for_url("**/capture/pages/*/")
    assert page.get_by_text("Changes saved").count() + page.get_by_text("was created").count()
    screenshot(page, "capture_page_editor")

    # A visitor from the newsletter, in a browser of their own.
    visitor = browser.new_context(viewport=VIEWPORT, base_url=live_server.url)
    tab = visitor.new_page()
    tab.goto("/p/guide?utm_source=newsletter&utm_medium=email")
    assert tab.get_by_role("heading", name="Fill your pipeline in 2026").is_visible()
    assert tab.locator("a", has_text="Book a demo instead").is_visible()
    screenshot(tab, "capture_landing_page_public")
    tab.get_by_role("textbox", name="Email").fill("grace@hopper.example")
    tab.get_by_label("First name").fill("Grace")
    tab.get_by_label("Send me the guide and related emails.").check()
    tab.get_by_role("button", name="Send me the guide").click()
    tab.get_by_text("Thank you").wait_for()
    visitor.close()

    contact = Contact.objects.get(email="grace@hopper.example")
    assert contact.first_touch_channel.name == "Email"

    # Back in Leadflow: the submission is on the form page, and the contact page shows it.
    page.goto("/capture/")
    assert page.locator("#forms-table").get_by_text("1", exact=True).is_visible()
    screenshot(page, "capture_forms_list")
    page.get_by_role("link", name="Pipeline guide").click()
    submissions = page.locator("#submissions-table")
    assert "Processed" in submissions.inner_text()
    screenshot(page, "capture_form_detail")
    submissions.get_by_role("link", name="Grace").click()
    page.wait_for_url(f"**/contacts/{contact.pk}/")
    assert page.locator(".touch").get_by_text("Email").first.is_visible()
    assert page.get_by_text("Form submitted").first.is_visible()
    screenshot(page, "capture_contact_after_submission")


def _workspace() -> dict:
    """A capture set-up as a workspace has it after a few weeks."""
    now = timezone.now()
    guide = LeadMagnet.objects.create(
        name="The 2026 pipeline guide",
        description="Twelve pages on filling a pipeline.",
        url="https://cdn.example/guide.pdf",
    )
    starts = now + timedelta(days=9)
    webinar = Event.objects.create(
        name="Pipeline review live",
        starts_at=starts,
        ends_at=starts + timedelta(hours=1),
        location="https://meet.example/pipeline",
        capacity=250,
    )
    Event.objects.create(
        name="Berlin meetup",
        starts_at=now - timedelta(days=20),
        ends_at=now - timedelta(days=20) + timedelta(hours=3),
        location="Factory Görlitzer Park, Berlin",
        capacity=40,
    )
    forms = [
        make_signup_form(slug="guide", name="Pipeline guide", lead_magnet=guide),
        make_signup_form(slug="webinar", name="Webinar registration", event=webinar),
        make_signup_form(slug="newsletter", name="Newsletter signup"),
        make_signup_form(slug="demo", name="Demo request", is_published=False),
    ]
    names = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia"]
    Submission.objects.bulk_create(
        Submission(form=forms[i % 3], received_at=now - timedelta(minutes=37 * i), data={})
        for i in range(3400)
    )
    people = []
    for i, name in enumerate(names):
        contact = ContactFactory(first_name=name, email=f"{name.lower()}@example.com")
        people.append(contact)
        Submission.objects.create(
            form=forms[0],
            contact=contact,
            status=SubmissionStatus.PROCESSED,
            received_at=now - timedelta(hours=5 * i + 1),
            data={"email": contact.email, "first_name": name, "consent": True},
        )
        Registration.objects.create(
            event=webinar, contact=contact, attended_at=now if i % 3 == 0 else None
        )
        magnets.record_download(magnet=guide, contact=contact, form_slug="guide")
    Submission.objects.create(
        form=forms[0],
        status=SubmissionStatus.INVALID,
        data={"email": "not-an-email", "first_name": "", "consent": False},
        errors={"email": "Enter a valid email address."},
    )
    LandingPageFactory(slug="guide", title="The 2026 pipeline guide", form=forms[0])
    LandingPageFactory(slug="webinar", title="Pipeline review live", form=forms[1])
    LandingPageFactory(slug="spring", title="Spring offer", form=None, is_published=False)
    partners = ChannelFactory(name="Partners")
    newsletter = ChannelFactory(name="Newsletter")
    ChannelRule.objects.create(priority=10, field="utm_source", value="weekly", channel=newsletter)
    ChannelRule.objects.create(
        priority=50, field="referrer_domain", value="*.partner.example", channel=partners
    )
    source, _ = inbound.create_source(
        name="LinkedIn lead forms",
        slug="linkedin",
        field_mapping={"email": "lead.email", "first_name": "lead.first_name"},
        id_path="lead.id",
    )
    endpoint = WebhookEndpoint.objects.create(
        name="Data warehouse",
        url="https://hooks.example/leadflow",
        secret=webhooks.new_secret(),
        events=["contact.created", "form.submitted"],
    )
    for i, status in enumerate(
        [DeliveryStatus.DELIVERED] * 4 + [DeliveryStatus.RETRYING, DeliveryStatus.FAILED]
    ):
        WebhookDelivery.objects.create(
            endpoint=endpoint,
            event="contact.created",
            payload={},
            status=status,
            attempts=1 if status == DeliveryStatus.DELIVERED else 3 + i,
            last_status_code=200 if status == DeliveryStatus.DELIVERED else 502,
            last_error="" if status == DeliveryStatus.DELIVERED else "HTTP 502",
            next_attempt_at=now + timedelta(minutes=30) if status == "retrying" else None,
            created_at=now - timedelta(hours=i),
        )
    return {"webinar": webinar, "source": source, "endpoint": endpoint, "guide": guide}


def test_capture_screens_with_a_real_workspace(page, tmp_path):
    data = _workspace()
    _sign_in(page, "root", Role.ADMIN)

    page.goto("/capture/")
    screenshot(page, "capture_forms_list_busy")
    page.goto("/capture/pages/")
    screenshot(page, "capture_pages_list")
    page.goto("/capture/magnets/")
    assert "Pipeline guide" in page.locator("#magnets-table").inner_text()
    screenshot(page, "capture_magnets_list")
    page.goto("/capture/events/")
    screenshot(page, "capture_events_list")

    page.goto(f"/capture/events/{data['webinar'].pk}/")
    csv = tmp_path / "attendees.csv"
    csv.write_text("Email,Name\nada@example.com,Ada\nwalk.in@example.com,Walk-in\nnope,Bad\n")
    page.get_by_label("Attendance list (CSV)").set_input_files(str(csv))
    page.get_by_role("button", name="Import attendance").click()
    report = page.locator("#attendance-report")
    report.wait_for()
    assert "nope" in page.locator("#rejected-table").inner_text()
    screenshot(page, "capture_event_detail_report")

    page.goto("/capture/integrations/")
    screenshot(page, "capture_integrations")
    page.get_by_role("link", name="New inbound source").click()
    page.get_by_label("Name").fill("Facebook lead ads")
    page.get_by_label("Address").fill("facebook")
    page.get_by_label("Field mapping").fill(
        "email = field_data.name=email.values.0\nfirst_name = field_data.name=first_name.values.0"
    )
    page.get_by_label("Lead id path").fill("leadgen_id")
    page.get_by_role("button", name="Create source").click()
    page.wait_for_url("**/integrations/sources/*/")
    secret = page.locator("#secret-value").input_value()
    assert secret.startswith("lfin_")
    screenshot(page, "capture_source_secret_once")
    page.reload()
    assert page.locator("#secret-value").count() == 0

    page.goto(f"/capture/integrations/webhooks/{data['endpoint'].pk}/")
    screenshot(page, "capture_webhook_deliveries")
    page.get_by_role("button", name="Replay delivery").last.click()
    page.get_by_text("will be sent again").wait_for()

    page.goto("/capture/channel-rules/")
    screenshot(page, "capture_channel_rules")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete the rule UTM source = weekly").click()
    page.get_by_text("Rule removed").wait_for()
    assert ChannelRule.objects.count() == 1

    page.goto("/capture/forms/new/")
    page.get_by_role("button", name="Create form").click()
    page.get_by_text("Please fix the fields marked below").wait_for()
    screenshot(page, "capture_form_builder_errors")
