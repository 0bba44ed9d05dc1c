"""Capture's screens as marketing, managers, reps and admins use them."""

import io
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from leadflow.accounts.tests.factories import UserFactory
from leadflow.capture import inbound
from leadflow.capture.models import (
    ChannelRule,
    DeliveryStatus,
    Event,
    FieldKind,
    Form,
    InboundLead,
    InboundSource,
    LandingPage,
    LeadMagnet,
    Registration,
    Submission,
    WebhookDelivery,
    WebhookEndpoint,
)
from leadflow.capture.tests.factories import LandingPageFactory, make_signup_form
from leadflow.contacts.models import ActivityKind, Contact
from leadflow.contacts.tests.factories import ActivityFactory, ChannelFactory, ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def marketer_client(marketer) -> Client:
    client = Client()
    client.force_login(marketer)
    return client


def _management(prefix: str, total: int, initial: int = 0) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "50",
    }


def _field(i: int, **values) -> dict:
    row = {
        "label": "",
        "name": "",
        "kind": "text",
        "maps_to": "",
        "options": "",
        "placeholder": "",
        "default_value": "",
        "consent_text": "",
        "max_length": "500",
        "order": str(i),
        **values,
    }
    return {f"fields-{i}-{key}": value for key, value in row.items() if value is not False}


def _builder_post(fields: list[dict], **settings) -> dict:
    data = {
        "name": "Pipeline guide",
        "slug": "pipeline-guide",
        "submit_label": "Send me the guide",
        "thank_you_message": "Check your inbox.",
        "redirect_url": "",
        "lifecycle_stage": "lead",
        "min_fill_seconds": "0",
        "is_published": "on",
        **settings,
        **_management("fields", len(fields)),
    }
    for i, field in enumerate(fields):
        data.update(_field(i, **field))
    return data


SIGNUP_FIELDS = [
    {
        "label": "Company",
        "name": "company",
        "kind": "text",
        "maps_to": "attr.company",
        "order": "2",
    },
    {"label": "Work email", "name": "email", "kind": "email", "required": "on", "order": "0"},
    {"label": "First name", "name": "first_name", "maps_to": "first_name", "order": "1"},
    {
        "label": "Team size",
        "name": "team_size",
        "kind": "select",
        "options": "1-10\n11-50\n\n51+",
        "order": "3",
    },
    {
        "label": "Consent",
        "name": "consent",
        "kind": "consent",
        "required": "on",
        "consent_text": "Send me the guide and related emails.",
        "order": "4",
    },
]


# ---------------------------------------------------------------- access


def test_reps_are_refused_every_capture_screen(rep_client):
    form = make_signup_form()
    for url in (
        reverse("capture:index"),
        reverse("capture:form_create"),
        reverse("capture:form_detail", args=[form.pk]),
        reverse("capture:pages"),
        reverse("capture:magnets"),
        reverse("capture:events"),
        reverse("capture:channel_rules"),
        reverse("capture:integrations"),
    ):
        assert rep_client.get(url).status_code == 403, url
    response = rep_client.post(reverse("capture:form_create"), _builder_post(SIGNUP_FIELDS))
    assert response.status_code == 403
    assert not Form.objects.filter(slug="pipeline-guide").exists()


def test_the_capture_nav_item_shows_for_marketing_not_reps(marketer_client, rep_client):
    assert 'href="/capture/"' in marketer_client.get(reverse("contacts:list")).content.decode()
    assert 'href="/capture/"' not in rep_client.get(reverse("contacts:list")).content.decode()


def test_integrations_are_for_admins_only(marketer_client, manager_client, admin_client_):
    assert marketer_client.get(reverse("capture:integrations")).status_code == 403
    assert manager_client.get(reverse("capture:source_create")).status_code == 403
    assert "Integrations" not in marketer_client.get(reverse("capture:index")).content.decode()
    assert admin_client_.get(reverse("capture:integrations")).status_code == 200


# ---------------------------------------------------------------- forms


def test_the_forms_list_says_what_forms_are_for_when_empty(marketer_client):
    html = marketer_client.get(reverse("capture:index")).content.decode()
    assert "Forms turn visitors into contacts" in html
    assert reverse("capture:form_create") in html


def test_a_marketer_builds_a_form_that_then_works_in_public(marketer_client):
    response = marketer_client.post(reverse("capture:form_create"), _builder_post(SIGNUP_FIELDS))

    form = Form.objects.get(slug="pipeline-guide")
    assert response.status_code == 302
    assert response["Location"] == reverse("capture:form_detail", args=[form.pk])
    fields = list(form.fields.order_by("position"))
    assert [f.name for f in fields] == ["email", "first_name", "company", "team_size", "consent"]
    assert fields[3].options == ["1-10", "11-50", "51+"]
    assert fields[4].consent_text == "Send me the guide and related emails."
    assert form.submit_label == "Send me the guide"

    public = Client(REMOTE_ADDR="203.0.113.9")
    page = public.get("/f/pipeline-guide").content.decode()
    assert "Send me the guide" in page and 'name="team_size"' in page
    answer = public.post(
        "/f/pipeline-guide",
        {
            "email": "ada@example.com",
            "first_name": "Ada",
            "company": "Analytical Engines",
            "team_size": "11-50",
            "consent": "on",
        },
    )
    assert answer.status_code == 200
    contact = Contact.objects.get(email="ada@example.com")
    assert contact.first_name == "Ada"
    assert contact.attributes["company"] == "Analytical Engines"

    detail = marketer_client.get(reverse("capture:form_detail", args=[form.pk])).content.decode()
    assert "/f/pipeline-guide/embed.js" in detail
    assert "&lt;script src=" in detail  # the snippet is shown as text, not run
    assert reverse("contacts:detail", args=[contact.pk]) in detail
    assert "Analytical Engines" in detail


def test_validation_errors_stay_beside_the_fields_and_keep_the_input(marketer_client):
    fields = [
        {"label": "Work email", "name": "email", "kind": "email", "order": "0"},
        {"label": "Budget", "name": "Bad Key", "kind": "select", "options": "", "order": "1"},
    ]
    response = marketer_client.post(
        reverse("capture:form_create"),
        _builder_post(fields, slug="Not A Slug", name="Keep this name"),
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "Use lower-case letters, digits and hyphens" in html
    assert "Start with a lower-case letter" in html
    assert "A select needs at least one option." in html
    assert 'value="Keep this name"' in html and 'value="Bad Key"' in html
    assert 'value="Not A Slug"' in html
    assert not Form.objects.exists()


def test_a_taken_address_is_reported_on_the_address_field(marketer_client):
    make_signup_form(slug="pipeline-guide")
    response = marketer_client.post(reverse("capture:form_create"), _builder_post(SIGNUP_FIELDS))
    assert response.status_code == 200
    form = response.context["form"]
    assert "already exists" in form.errors["slug"][0]
    assert Form.objects.count() == 1


def test_a_form_without_an_email_field_is_refused(marketer_client):
    fields = [{"label": "Name", "name": "name", "order": "0"}]
    response = marketer_client.post(reverse("capture:form_create"), _builder_post(fields))
    assert response.status_code == 200
    assert "Add an Email field" in response.content.decode()


def test_two_fields_with_one_key_are_pointed_at(marketer_client):
    fields = [
        {"label": "Email", "name": "email", "kind": "email", "order": "0"},
        {"label": "Email again", "name": "email", "kind": "text", "order": "1"},
    ]
    response = marketer_client.post(reverse("capture:form_create"), _builder_post(fields))
    assert "Another field already uses this key." in response.content.decode()


def test_editing_a_form_reorders_removes_and_keeps_the_address(marketer_client):
    form = make_signup_form(slug="guide", name="Guide")
    data = _builder_post(
        [
            {"label": "Email", "name": "email", "kind": "email", "required": "on", "order": "1"},
            {"label": "First name", "name": "first_name", "order": "0"},
            {"label": "Consent", "name": "consent", "kind": "consent", "order": "2"},
        ],
        slug="moved",
        name="Guide v2",
    )
    data.update(_management("fields", 3, initial=3))
    data["fields-2-DELETE"] = "on"

    response = marketer_client.post(reverse("capture:form_edit", args=[form.pk]), data)

    assert response.status_code == 302
    form.refresh_from_db()
    assert form.name == "Guide v2" and form.slug == "guide"
    assert [f.name for f in form.fields.order_by("position")] == ["first_name", "email"]


def test_the_builder_shows_the_existing_fields(marketer_client):
    form = make_signup_form(slug="guide")
    html = marketer_client.get(reverse("capture:form_edit", args=[form.pk])).content.decode()
    assert 'name="fields-TOTAL_FORMS" value="3"' in html
    assert "I agree to receive the guide" in html
    assert 'id="fields-empty"' in html  # the template the "Add field" button clones


def test_the_forms_list_counts_submissions_in_a_bounded_number_of_queries(
    marketer_client, django_assert_max_num_queries
):
    for i in range(6):
        form = make_signup_form(slug=f"form-{i}")
        for _ in range(i):
            Submission.objects.create(form=form, data={"email": "x@example.com"})
    with django_assert_max_num_queries(6):
        response = marketer_client.get(reverse("capture:index"))
    html = response.content.decode()
    assert html.count('class="row-link"') == 6
    assert "No submissions yet" in html  # form-0


def test_the_form_page_is_bounded_in_queries(marketer_client, django_assert_max_num_queries):
    form = make_signup_form(slug="guide")
    for i in range(25):
        contact = ContactFactory(email=f"p{i}@example.com")
        Submission.objects.create(form=form, contact=contact, data={"email": contact.email})
    with django_assert_max_num_queries(10):
        response = marketer_client.get(reverse("capture:form_detail", args=[form.pk]))
    assert response.content.decode().count("p1") >= 1


def test_deleting_a_form_needs_a_post(marketer_client):
    form = make_signup_form()
    url = reverse("capture:form_delete", args=[form.pk])
    assert marketer_client.get(url).status_code == 405
    assert marketer_client.post(url).status_code == 302
    assert not Form.objects.filter(pk=form.pk).exists()


# ---------------------------------------------------------------- landing pages


def _blocks(*blocks: dict) -> dict:
    data = _management("blocks", len(blocks))
    for i, block in enumerate(blocks):
        row = {"type": "text", "text": "", "url": "", "alt": "", "order": str(i), **block}
        data.update({f"blocks-{i}-{k}": v for k, v in row.items()})
    return data


def test_a_marketer_publishes_a_landing_page_with_a_form(marketer_client):
    form = make_signup_form(slug="guide")
    data = {
        "title": "The pipeline guide",
        "slug": "guide-q4",
        "description": "Twelve pages.",
        "form": str(form.pk),
        "is_published": "on",
        **_blocks(
            {"type": "headline", "text": "Fill your pipeline"},
            {"type": "image", "url": "https://cdn.example/cover.png", "alt": "The cover"},
            {"type": "form"},
            {"type": "button", "text": "Book a demo", "url": "https://example.com/demo"},
        ),
    }
    response = marketer_client.post(reverse("capture:page_create"), data)

    page = LandingPage.objects.get(slug="guide-q4")
    assert response.status_code == 302
    assert page.blocks[1] == {
        "type": "image",
        "url": "https://cdn.example/cover.png",
        "alt": "The cover",
    }
    assert page.blocks[2] == {"type": "form"}
    html = Client().get("/p/guide-q4").content.decode()
    assert "Fill your pipeline" in html and 'name="email"' in html and "Book a demo" in html
    listing = marketer_client.get(reverse("capture:pages")).content.decode()
    assert "/p/guide-q4" in listing and "Published" in listing


def test_a_page_with_a_form_block_needs_a_form_and_blocks_their_content(marketer_client):
    data = {
        "title": "Draft",
        "slug": "draft",
        **_blocks({"type": "form"}, {"type": "image", "url": "", "alt": ""}),
    }
    response = marketer_client.post(reverse("capture:page_create"), data)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Give the address." in html and "Describe the image" in html
    assert not LandingPage.objects.exists()


def test_a_draft_page_can_be_previewed_by_the_team_only(marketer_client):
    page = LandingPageFactory(slug="draft", is_published=False, form=make_signup_form())
    assert Client().get("/p/draft").status_code == 404
    preview = marketer_client.get(reverse("capture:page_preview", args=[page.pk]))
    assert preview.status_code == 200 and "Fill your pipeline" in preview.content.decode()


# ---------------------------------------------------------------- lead magnets


def test_a_lead_magnet_is_uploaded_and_shows_its_forms_and_downloads(
    marketer_client, settings, tmp_path, django_assert_max_num_queries
):
    settings.MEDIA_ROOT = tmp_path
    upload = SimpleUploadedFile("guide.pdf", b"%PDF-1.4 guide", content_type="application/pdf")
    response = marketer_client.post(
        reverse("capture:magnet_create"), {"name": "The guide", "description": "", "file": upload}
    )
    magnet = LeadMagnet.objects.get(name="The guide")
    assert response.status_code == 302
    assert (tmp_path / magnet.file.name).read_bytes() == b"%PDF-1.4 guide"

    make_signup_form(slug="guide", name="Guide form", lead_magnet=magnet)
    for _ in range(3):
        ActivityFactory(kind=ActivityKind.ASSET_DOWNLOADED, data={"asset_id": magnet.pk})
    with django_assert_max_num_queries(6):
        listing = marketer_client.get(reverse("capture:magnets")).content.decode()
    assert "Guide form" in listing
    assert '<td class="num">3</td>' in listing
    detail = marketer_client.get(reverse("capture:magnet_edit", args=[magnet.pk]))
    assert detail.context["downloads"] == 3


def test_a_lead_magnet_needs_a_link_or_a_file(marketer_client):
    response = marketer_client.post(reverse("capture:magnet_create"), {"name": "Nothing"})
    assert "Give a link or upload a file." in response.content.decode()


# ---------------------------------------------------------------- events


@pytest.fixture
def webinar() -> Event:
    starts = timezone.now() + timedelta(days=7)
    return Event.objects.create(
        name="Pipeline webinar", starts_at=starts, ends_at=starts + timedelta(hours=1), capacity=3
    )


def test_an_event_is_created_with_its_times(marketer_client):
    response = marketer_client.post(
        reverse("capture:event_create"),
        {"name": "Launch", "starts_at": "2030-05-01T10:00", "ends_at": "2030-05-01T09:00"},
    )
    assert "The event must end after it starts." in response.content.decode()
    response = marketer_client.post(
        reverse("capture:event_create"),
        {
            "name": "Launch",
            "starts_at": "2030-05-01T10:00",
            "ends_at": "2030-05-01T11:00",
            "capacity": "100",
        },
    )
    event = Event.objects.get(name="Launch")
    assert response["Location"] == reverse("capture:event_detail", args=[event.pk])


def test_the_events_list_counts_seats_without_a_query_per_event(
    marketer_client, webinar, django_assert_max_num_queries
):
    for _ in range(3):
        Registration.objects.create(event=webinar, contact=ContactFactory(), attended_at=None)
    other = Event.objects.create(
        name="Open day", starts_at=webinar.starts_at, ends_at=webinar.ends_at
    )
    Registration.objects.create(event=other, contact=ContactFactory(), attended_at=timezone.now())
    with django_assert_max_num_queries(5):
        response = marketer_client.get(reverse("capture:events"))
    events = {e.name: e for e in response.context["events"]}
    assert events["Pipeline webinar"].seats == 0 and events["Open day"].seats is None
    assert events["Open day"].attended_count == 1
    assert "Full" in response.content.decode()


def test_attendance_import_reports_a_bad_line_with_its_number(marketer_client, webinar):
    known = ContactFactory(email="ada@example.com")
    Registration.objects.create(event=webinar, contact=known)
    csv_text = "Email,Name\nada@example.com,Ada\nnew@example.com,New\nnot-an-email,Bad\n"
    upload = SimpleUploadedFile("attendees.csv", ("\ufeff" + csv_text).encode(), "text/csv")

    response = marketer_client.post(
        reverse("capture:event_attendance", args=[webinar.pk]), {"file": upload}
    )

    assert response.status_code == 200
    report = response.context["report"]
    assert (report.attended, report.new_contacts) == (2, 1)
    html = response.content.decode()
    assert '<td class="num">4</td><td class="mono">not-an-email</td>' in html
    assert Registration.objects.filter(event=webinar, attended_at__isnull=False).count() == 2


def test_attendance_import_needs_a_file(marketer_client, webinar):
    response = marketer_client.post(reverse("capture:event_attendance", args=[webinar.pk]), {})
    assert response.status_code == 200
    assert response.context["attendance_form"].errors["file"]


def test_the_event_page_lists_registrations(marketer_client, webinar):
    Registration.objects.create(event=webinar, contact=ContactFactory(email="ada@example.com"))
    html = marketer_client.get(reverse("capture:event_detail", args=[webinar.pk])).content.decode()
    assert "ada@example.com" in html and "Import attendance" in html


# ---------------------------------------------------------------- integrations


def test_an_admin_creates_an_inbound_source_and_sees_the_secret_once(admin_client_):
    channel = ChannelFactory(name="LinkedIn Ads")
    response = admin_client_.post(
        reverse("capture:source_create"),
        {
            "name": "LinkedIn lead forms",
            "slug": "linkedin",
            "field_mapping": "email = lead.email\nfirst_name = lead.first\nattr.budget = answers.0",
            "id_path": "lead.id",
            "channel": str(channel.pk),
            "lifecycle_stage": "mql",
        },
    )
    source = InboundSource.objects.get(slug="linkedin")
    assert response.status_code == 302
    assert source.field_mapping == {
        "email": "lead.email",
        "first_name": "lead.first",
        "attr.budget": "answers.0",
    }

    first = admin_client_.get(response["Location"]).content.decode()
    secret = first.split('id="secret-value" type="text" value="')[1].split('"')[0]
    assert secret.startswith("lfin_")
    assert inbound.secret_matches(source, secret)
    assert "/in/linkedin" in first

    again = admin_client_.get(response["Location"]).content.decode()
    assert secret not in again and "secret-value" not in again


def test_a_bad_mapping_line_is_named_by_its_number(admin_client_):
    response = admin_client_.post(
        reverse("capture:source_create"),
        {
            "name": "Ads",
            "slug": "ads",
            "field_mapping": "email = lead.email\nowner = lead.owner\nnonsense",
            "id_path": "id",
            "lifecycle_stage": "lead",
        },
    )
    html = response.content.decode()
    assert "Line 2: “owner” is not a contact field" in html
    assert "Line 3: write it as our_field = their.path." in html
    assert not InboundSource.objects.exists()


def test_the_source_page_lists_its_recent_leads(admin_client_):
    source, _ = inbound.create_source(name="Ads", slug="ads", field_mapping={"email": "email"})
    InboundLead.objects.create(
        source=source, external_id="L-1", payload={}, status="invalid", errors={"email": "No"}
    )
    html = admin_client_.get(reverse("capture:source_detail", args=[source.pk])).content.decode()
    assert "L-1" in html and "Invalid" in html


def test_an_admin_creates_a_webhook_and_sees_its_secret_once(admin_client_):
    response = admin_client_.post(
        reverse("capture:webhook_create"),
        {
            "name": "Warehouse",
            "url": "https://hooks.example/leadflow",
            "events": ["contact.created", "form.submitted"],
            "is_active": "on",
        },
    )
    endpoint = WebhookEndpoint.objects.get(name="Warehouse")
    assert endpoint.events == ["contact.created", "form.submitted"]
    assert endpoint.secret in admin_client_.get(response["Location"]).content.decode()
    assert endpoint.secret not in admin_client_.get(response["Location"]).content.decode()


def test_a_webhook_needs_an_http_url_and_an_event(admin_client_):
    response = admin_client_.post(
        reverse("capture:webhook_create"), {"name": "X", "url": "ftp://nope"}
    )
    html = response.content.decode()
    assert "Enter an address starting with http" in html
    assert "Pick at least one event to send." in html


def test_replaying_a_delivery_queues_it_again(
    admin_client_, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    endpoint = WebhookEndpoint.objects.create(
        name="CRM", url="http://127.0.0.1:9/hook", secret="whsec_x", events=["contact.created"]
    )
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event="contact.created",
        payload={"event": "contact.created"},
        status=DeliveryStatus.FAILED,
        attempts=6,
        last_status_code=500,
        last_error="HTTP 500",
    )
    url = reverse("capture:delivery_replay", args=[delivery.pk])
    assert admin_client_.get(url).status_code == 405

    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client_.post(url)

    assert response.status_code == 302
    assert response["Location"] == reverse("capture:webhook_detail", args=[endpoint.pk])
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    assert len(callbacks) == 1  # the worker is asked to send it
    for _ in range(30):
        WebhookDelivery.objects.create(endpoint=endpoint, event="contact.created", payload={})
    with django_assert_max_num_queries(8):
        page = admin_client_.get(response["Location"])
    assert "HTTP 500" in page.content.decode()


def test_the_integrations_page_is_bounded_in_queries(admin_client_, django_assert_max_num_queries):
    for i in range(5):
        source, _ = inbound.create_source(name=f"S{i}", slug=f"s{i}", field_mapping={"email": "e"})
        InboundLead.objects.create(source=source, external_id="1", payload={})
        endpoint = WebhookEndpoint.objects.create(
            name=f"W{i}", url="https://x.example", secret="s", events=["deal.won"]
        )
        WebhookDelivery.objects.create(endpoint=endpoint, event="deal.won", payload={})
    with django_assert_max_num_queries(6):
        response = admin_client_.get(reverse("capture:integrations"))
    assert response.content.decode().count('class="row-link"') == 10


# ---------------------------------------------------------------- channel rules


def test_channel_rules_are_added_listed_by_priority_and_deleted(manager_client, manager):
    partners = ChannelFactory(name="Partners")
    newsletter = ChannelFactory(name="Newsletter")
    manager_client.post(
        reverse("capture:channel_rules"),
        {
            "priority": "50",
            "field": "referrer_domain",
            "value": "*.Partner.example",
            "channel": partners.pk,
        },
    )
    manager_client.post(
        reverse("capture:channel_rules"),
        {"priority": "10", "field": "utm_source", "value": "weekly", "channel": newsletter.pk},
    )
    rules = list(ChannelRule.objects.order_by("priority"))
    assert [(r.value, r.created_by) for r in rules] == [
        ("weekly", manager),
        ("*.partner.example", manager),
    ]
    html = manager_client.get(reverse("capture:channel_rules")).content.decode()
    table = html[html.index('id="rules-table"') :]
    assert table.index("weekly") < table.index("*.partner.example")
    assert "before Leadflow's built-in defaults" in html

    url = reverse("capture:channel_rule_delete", args=[rules[0].pk])
    assert manager_client.get(url).status_code == 405
    manager_client.post(url)
    assert list(ChannelRule.objects.values_list("value", flat=True)) == ["*.partner.example"]


def test_a_superuser_without_a_role_may_build(client):
    boss = UserFactory(username="boss", is_superuser=True, is_staff=True)
    client.force_login(boss)
    assert client.get(reverse("capture:index")).status_code == 200
    assert client.get(reverse("capture:integrations")).status_code == 200


def test_a_submission_with_a_checkbox_shows_yes(marketer_client):
    form = make_signup_form(slug="guide")
    form.fields.filter(name="consent").update(kind=FieldKind.CONSENT)
    Submission.objects.create(form=form, data={"email": "a@example.com", "consent": True})
    html = marketer_client.get(reverse("capture:form_detail", args=[form.pk])).content.decode()
    assert "Consent:</span> Yes" in html


def test_upload_helpers_read_bom_and_crlf():
    # The view wraps the upload like this; a BOM and Windows line ends must not break it.
    raw = io.BytesIO("\ufeffemail\r\nada@example.com\r\n".encode())
    wrapped = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")
    assert wrapped.read().splitlines() == ["email", "ada@example.com"]


def test_the_screens_posts_need_the_csrf_token_while_public_forms_take_cors_posts(marketer):
    """Same-site posts (the signed-in product) are CSRF-protected; the public endpoints,
    posted from customers' sites without cookies, answer with CORS headers instead."""
    from django.test import Client

    guarded = Client(enforce_csrf_checks=True)
    guarded.force_login(marketer)
    assert guarded.post(reverse("capture:form_create"), {"name": "x"}).status_code == 403

    make_signup_form(slug="open")
    public = Client(enforce_csrf_checks=True)
    answer = public.post(
        "/f/open",
        {"email": "a@example.com", "consent": "on"},
        HTTP_ORIGIN="https://customer.example",
    )
    assert answer.status_code == 200
    assert answer["Access-Control-Allow-Origin"] == "*"
