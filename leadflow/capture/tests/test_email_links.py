"""Email clicks: recorded, forwarded, and identifying the visitor on the landing site."""

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from leadflow.capture import email_links, tracking
from leadflow.capture.models import TrackingEvent, Visitor
from leadflow.contacts.models import ActivityKind
from leadflow.contacts.tests.factories import ContactFactory

pytestmark = pytest.mark.django_db

VID = "f00dfeedcafe1234"


@pytest.fixture(autouse=True)
def _fresh_limits():
    tracking._limiter.storage.reset()


def path_of(url: str) -> str:
    return url.removeprefix("http://127.0.0.1:8000")


def test_a_click_is_recorded_and_forwarded_with_an_identity_token():
    contact = ContactFactory()
    link = email_links.click_url(
        contact=contact, url="https://acme.example/pricing?plan=pro#top", source="newsletter"
    )

    response = Client().get(path_of(link))

    assert response.status_code == 302
    target = urlsplit(response["Location"])
    assert (target.netloc, target.path, target.fragment) == ("acme.example", "/pricing", "top")
    query = parse_qs(target.query)
    assert query["plan"] == ["pro"]
    assert email_links.contact_of_identity(query["lf_id"][0]) == contact
    click = contact.activities.get(kind=ActivityKind.EMAIL_CLICKED)
    assert click.data == {
        "url": "https://acme.example/pricing?plan=pro#top",
        "source": "newsletter",
    }


def test_the_identity_token_makes_the_visitor_the_contact_with_their_past_visits():
    contact = ContactFactory()
    Client().post(
        "/t/collect",
        json.dumps({"vid": VID, "url": "https://acme.example/blog"}),
        content_type="text/plain",
    )
    destination = email_links.follow_click(
        path_of(email_links.click_url(contact=contact, url="https://acme.example/")).rsplit("/", 1)[
            -1
        ]
    )
    token = parse_qs(urlsplit(destination).query)["lf_id"][0]

    response = Client().post(
        "/t/identify", json.dumps({"vid": VID, "token": token}), content_type="text/plain"
    )

    assert response.status_code == 204
    assert Visitor.objects.get(visitor_id=VID).identified_by == "email-click"
    assert TrackingEvent.objects.get().contact == contact
    assert contact.activities.filter(kind=ActivityKind.PAGE_VIEW).count() == 1


@pytest.mark.parametrize(
    "payload",
    [{"vid": VID, "token": "forged"}, {"vid": "bad", "token": "x"}, {"token": "x"}],
)
def test_a_forged_identity_is_refused(payload):
    response = Client().post("/t/identify", json.dumps(payload), content_type="text/plain")
    assert response.status_code == 400
    assert not Visitor.objects.exists()


def test_forged_or_non_http_links_are_refused():
    assert Client().get("/e/c/forged").status_code == 400
    with pytest.raises(email_links.LinkInvalid):
        email_links.click_url(contact=ContactFactory(), url="javascript:alert(1)")


def test_the_script_knows_where_to_identify():
    assert "http://testserver/t/identify" in Client().get("/t/lf.js").content.decode()
