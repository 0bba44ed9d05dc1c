"""Lead magnets delivered after a form fill, and webinars with seats, calendar files and
attendance."""

import io
import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from leadflow.capture import tasks, webinars
from leadflow.capture.models import Event, LeadMagnet, Registration, Submission
from leadflow.capture.tests.factories import make_signup_form
from leadflow.contacts.models import ActivityKind, Contact
from leadflow.contacts.tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()


@pytest.fixture
def webinar():
    start = timezone.now() + timedelta(days=7)
    return Event.objects.create(
        name="Pipeline clinic",
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        capacity=2,
        location="https://meet.example/clinic",
    )


def test_a_gated_guide_is_emailed_with_a_link_that_records_the_download(
    django_capture_on_commit_callbacks, mailoutbox
):
    guide = LeadMagnet.objects.create(name="The pipeline guide", url="https://cdn.example/g.pdf")
    make_signup_form(slug="guide", lead_magnet=guide)
    with django_capture_on_commit_callbacks(execute=True):
        Client().post("/f/guide", {"email": "ada@example.com", "consent": "on"})
    tasks.send_lead_magnet.call(submission_id=Submission.objects.get().pk)

    (message,) = mailoutbox
    link = re.search(r"http://\S+/asset/\S+", message.body).group(0)
    response = Client().get(link.removeprefix("http://127.0.0.1:8000"))

    assert response.status_code == 302
    assert response["Location"] == "https://cdn.example/g.pdf"
    contact = Contact.objects.get()
    download = contact.activities.get(kind=ActivityKind.ASSET_DOWNLOADED)
    assert download.data["asset"] == "The pipeline guide"


def test_an_altered_download_link_is_refused():
    response = Client().get("/f/guide/asset/forged-token")
    assert response.status_code == 400


def test_registering_takes_a_seat_once_and_sends_a_calendar_file(
    webinar, django_capture_on_commit_callbacks, mailoutbox
):
    make_signup_form(slug="clinic", event=webinar)
    with django_capture_on_commit_callbacks(execute=True):
        Client().post("/f/clinic", {"email": "ada@example.com", "consent": "on"})
        Client().post("/f/clinic", {"email": "ada@example.com", "consent": "on"})

    registration = Registration.objects.get()
    tasks.send_registration_email.call(registration_id=registration.pk)
    (message,) = mailoutbox
    (name, content, mimetype) = message.attachments[0]
    assert name == "event.ics"
    assert mimetype.startswith("text/calendar")
    ics = content.decode() if isinstance(content, bytes) else content
    assert "BEGIN:VEVENT" in ics and "SUMMARY:Pipeline clinic" in ics
    assert registration.contact.activities.filter(kind=ActivityKind.EVENT_REGISTERED).count() == 1


def test_a_full_event_takes_no_more_registrations(webinar):
    for person in ContactFactory.create_batch(2):
        webinars.register(event=webinar, contact=person)
    with pytest.raises(webinars.EventFull):
        webinars.register(event=webinar, contact=ContactFactory())
    assert webinars.seats_left(webinar) == 0


def test_attendance_is_imported_from_a_list_of_emails(webinar):
    known = ContactFactory(email="known@example.com")
    webinars.register(event=webinar, contact=known)
    csv_text = "Name,E-mail\nKnown,Known@Example.com\nWalk-in,walkin@example.com\nBad,nope\n\n"

    report = webinars.import_attendance(event=webinar, lines=io.StringIO(csv_text))

    assert (report.attended, report.new_contacts) == (2, 1)
    assert report.rejected == [{"line": 4, "value": "nope", "reason": report.rejected[0]["reason"]}]
    assert Registration.objects.filter(event=webinar, attended_at__isnull=False).count() == 2
    assert known.activities.filter(kind=ActivityKind.EVENT_ATTENDED).exists()

    again = webinars.import_attendance(event=webinar, lines=io.StringIO(csv_text))
    assert (again.attended, again.already_marked) == (0, 2)


def test_the_thank_you_page_hands_over_the_guide_at_once():
    guide = LeadMagnet.objects.create(name="The pipeline guide", url="https://cdn.example/g.pdf")
    make_signup_form(slug="guide", lead_magnet=guide)
    response = Client().post("/f/guide", {"email": "ada@example.com", "consent": "on"})
    html = response.content.decode()
    assert "Download The pipeline guide" in html
    json_answer = (
        Client()
        .post(
            "/f/guide",
            {"email": "bob@example.com", "consent": "on"},
            HTTP_ACCEPT="application/json",
        )
        .json()
    )
    assert "/f/guide/asset/" in json_answer["download_url"]


def test_a_full_event_says_so_before_taking_the_submission(webinar):
    make_signup_form(slug="clinic", event=webinar)
    for i in range(2):
        Client().post("/f/clinic", {"email": f"p{i}@example.com", "consent": "on"})
    response = Client().post("/f/clinic", {"email": "late@example.com", "consent": "on"})
    assert response.status_code == 409
    assert "full" in response.content.decode()
    assert not Contact.objects.filter(email="late@example.com").exists()
