"""The tracking script's endpoint, the pixel, and joining anonymous visits to a contact."""

import json
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client, override_settings
from django.utils import timezone

from leadflow.capture import tasks, tracking
from leadflow.capture.models import TrackingEvent, Visitor
from leadflow.capture.tests.factories import make_signup_form
from leadflow.contacts.models import ActivityKind, ChannelKind, Contact

pytestmark = pytest.mark.django_db

VID = "a1b2c3d4e5f6a7b8"


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()
    tracking._limiter.storage.reset()


def beacon(client, **payload):
    body = {"vid": VID, "type": "page_view", "url": "https://acme.example/", **payload}
    return client.post("/t/collect", json.dumps(body), content_type="text/plain")


def test_a_page_view_is_stored_with_its_campaign():
    response = beacon(
        Client(),
        url="https://acme.example/pricing?utm_source=google&utm_medium=cpc",
        title="Pricing",
        ref="https://www.google.com/",
    )
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "*"
    event = TrackingEvent.objects.get()
    assert event.visitor_id == VID
    assert event.utm == {"utm_source": "google", "utm_medium": "cpc"}
    assert event.referrer == "https://www.google.com/"
    assert event.title == "Pricing"


def test_custom_events_carry_a_name_and_properties():
    beacon(Client(), type="event", name="plan-selected", props={"plan": "pro", "seats": 5})
    event = TrackingEvent.objects.get()
    assert (event.kind, event.name) == ("event", "plan-selected")
    assert event.properties == {"plan": "pro", "seats": 5}


def test_the_pixel_works_without_javascript():
    response = Client().get("/t/collect", {"vid": VID, "url": "https://acme.example/noscript"})
    assert response.status_code == 200
    assert response["Content-Type"] == "image/gif"
    assert TrackingEvent.objects.get().url == "https://acme.example/noscript"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"not json", 400),
        (b"\xff\xfe", 400),
        (b"[1,2]", 400),
        (json.dumps({"vid": "short", "url": "https://a.example/"}).encode(), 400),
        (json.dumps({"vid": VID, "url": "javascript:alert(1)"}).encode(), 400),
        (json.dumps({"vid": VID, "url": "https://a.example/", "type": "drop"}).encode(), 400),
        (json.dumps({"vid": VID, "url": "https://a.example/", "pad": "x" * 20000}).encode(), 413),
    ],
)
def test_bad_events_are_refused_and_nothing_is_stored(body, status):
    response = Client().post("/t/collect", body, content_type="text/plain")
    assert response.status_code == status
    assert "error" in response.json()
    assert not TrackingEvent.objects.exists()


def test_a_browser_clock_in_the_future_is_not_believed():
    future = (timezone.now() + timedelta(days=30)).timestamp() * 1000
    beacon(Client(), ts=future)
    assert TrackingEvent.objects.get().occurred_at <= timezone.now()


@override_settings(TRACKING_RATE_PER_IP="3/minute")
def test_a_flood_from_one_address_is_cut_off():
    flood = Client(REMOTE_ADDR="192.0.2.50")
    codes = [beacon(flood).status_code for _ in range(5)]
    assert codes == [204, 204, 204, 429, 429]
    assert beacon(Client(REMOTE_ADDR="192.0.2.51")).status_code == 204


def test_the_script_knows_where_to_send():
    response = Client().get("/t/lf.js")
    assert response.status_code == 200
    assert "http://testserver/t/collect" in response.content.decode()


def test_a_form_fill_joins_the_anonymous_visits_and_credits_the_first_one():
    make_signup_form(slug="guide")
    visitor = Client()
    beacon(
        visitor,
        url="https://acme.example/blog?utm_source=linkedin&utm_medium=social",
        ref="https://www.linkedin.com/",
    )
    beacon(visitor, url="https://acme.example/pricing")

    visitor.post(
        "/f/guide",
        {
            "email": "ada@example.com",
            "consent": "on",
            "_vid": VID,
            "_page": "https://acme.example/guide",
        },
    )

    contact = Contact.objects.get()
    assert Visitor.objects.get(visitor_id=VID).contact == contact
    views = contact.activities.filter(kind=ActivityKind.PAGE_VIEW).order_by("occurred_at")
    assert [v.data["url"] for v in views] == [
        "https://acme.example/blog?utm_source=linkedin&utm_medium=social",
        "https://acme.example/pricing",
    ]
    assert contact.first_touch_channel.kind == ChannelKind.SOCIAL
    # The form came two pages into the same visit, which LinkedIn brought.
    assert contact.last_touch_channel.kind == ChannelKind.SOCIAL


def test_later_visits_of_a_known_visitor_reach_the_timeline_once(monkeypatch):
    make_signup_form(slug="guide")
    client = Client()
    client.post("/f/guide", {"email": "ada@example.com", "consent": "on", "_vid": VID})
    contact = Contact.objects.get()
    beacon(client, url="https://acme.example/after")
    monkeypatch.setattr("leadflow.capture.services.ATTACH_LAG", timedelta(0))

    assert tasks.attach_visits.call() == 1
    assert tasks.attach_visits.call() == 0

    assert (
        contact.activities.filter(
            kind=ActivityKind.PAGE_VIEW, data__url="https://acme.example/after"
        ).count()
        == 1
    )


def test_a_form_a_few_clicks_in_credits_the_visits_source_as_last_touch():
    make_signup_form(slug="guide")
    visitor = Client()
    beacon(visitor, url="https://acme.example/blog?utm_source=newsletter&utm_medium=email")
    beacon(visitor, url="https://acme.example/pricing", ref="https://acme.example/blog")

    visitor.post(
        "/f/guide",
        {
            "email": "ada@example.com",
            "consent": "on",
            "_vid": VID,
            "_page": "https://acme.example/guide",
            "_ref": "https://acme.example/pricing",
        },
    )

    contact = Contact.objects.get()
    assert contact.last_touch_channel.kind == ChannelKind.EMAIL
    submitted = contact.activities.get(kind=ActivityKind.FORM_SUBMITTED)
    assert submitted.channel.kind == ChannelKind.EMAIL


def test_a_visit_after_a_long_pause_is_a_new_visit():
    make_signup_form(slug="guide")
    visitor = Client()
    long_ago = (timezone.now() - timedelta(hours=3)).timestamp() * 1000
    beacon(visitor, url="https://acme.example/?utm_medium=cpc", ts=long_ago)
    beacon(visitor, url="https://acme.example/pricing", ref="")

    visitor.post(
        "/f/guide",
        {
            "email": "ada@example.com",
            "consent": "on",
            "_vid": VID,
            "_page": "https://acme.example/guide",
            "_ref": "https://acme.example/pricing",
        },
    )

    contact = Contact.objects.get()
    assert contact.first_touch_channel.kind == ChannelKind.PAID_SEARCH
    assert contact.last_touch_channel.kind == ChannelKind.DIRECT


def test_a_beacon_with_nul_or_lone_surrogates_is_stored_harmlessly():
    body = (
        '{"vid": "a1b2c3d4e5f6a7b8", "url": "https://acme.example/\\u0000x", '
        '"title": "T\\ud800", "props": {"k\\u0000": "v\\udfff", "n": 1e999}}'
    )
    response = Client().post("/t/collect", body, content_type="text/plain")
    assert response.status_code == 204
    event = TrackingEvent.objects.get()
    assert event.url == "https://acme.example/x"
    assert event.properties == {"k": "v\ufffd", "n": None}
