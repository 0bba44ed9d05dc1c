"""Double opt-in: a form's submission subscribes no one until the address's owner confirms."""

import re

import pytest
from django.core.cache import cache
from django.test import Client

from leadflow.capture import tasks
from leadflow.capture.models import Submission, SubmissionStatus
from leadflow.capture.tests.factories import make_signup_form
from leadflow.contacts.models import ActivityKind, ConsentState, Contact, LifecycleStage

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


@pytest.fixture
def newsletter():
    return make_signup_form(
        slug="news", double_opt_in=True, lifecycle_stage=LifecycleStage.SUBSCRIBER
    )


def _sign_up(django_capture_on_commit_callbacks, mailoutbox) -> str:
    visitor = Client(REMOTE_ADDR="203.0.113.7")
    with django_capture_on_commit_callbacks(execute=True):
        response = visitor.post("/f/news", {"email": "Ann@Example.com", "consent": "on"})
    assert response.status_code == 200
    assert "sent you an email" in response.content.decode()
    submission = Submission.objects.get()
    tasks.send_confirmation_email.call(submission_id=submission.pk)
    (message,) = mailoutbox
    assert message.to == ["ann@example.com"]
    return re.search(r"http://\S+/f/news/confirm/\S+", message.body).group(0)


def test_nothing_is_subscribed_before_the_owner_confirms(
    newsletter, django_capture_on_commit_callbacks, mailoutbox
):
    _sign_up(django_capture_on_commit_callbacks, mailoutbox)

    assert not Contact.objects.exists()
    assert Submission.objects.get().status == SubmissionStatus.AWAITING_CONFIRMATION


def test_the_link_asks_and_the_button_confirms(
    newsletter, django_capture_on_commit_callbacks, mailoutbox
):
    link = _sign_up(django_capture_on_commit_callbacks, mailoutbox)
    path = link.removeprefix("http://127.0.0.1:8000")
    owner = Client(REMOTE_ADDR="198.51.100.20")

    asked = owner.get(path)
    assert asked.status_code == 200
    assert "confirm" in asked.content.decode().lower()
    assert not Contact.objects.exists()  # a mail scanner opening the link subscribes no one

    done = owner.post(path)
    assert done.status_code == 200
    contact = Contact.objects.get()
    assert contact.email == "ann@example.com"
    assert contact.lifecycle_stage == LifecycleStage.SUBSCRIBER
    assert contact.consent == ConsentState.GRANTED
    evidence = contact.activities.get(kind=ActivityKind.CONSENT_CHANGED).data
    assert evidence["confirmed_from_ip"] == "198.51.100.20"
    assert evidence["ip"] == "203.0.113.7"
    assert "confirmed_at" in evidence

    owner.post(path)  # a second click changes nothing
    assert Contact.objects.count() == 1
    assert contact.activities.filter(kind=ActivityKind.FORM_SUBMITTED).count() == 1


def test_an_altered_link_is_refused(newsletter, django_capture_on_commit_callbacks, mailoutbox):
    link = _sign_up(django_capture_on_commit_callbacks, mailoutbox)
    path = link.removeprefix("http://127.0.0.1:8000")
    response = Client().post(path[:-3] + "xyz")
    assert response.status_code == 400
    assert not Contact.objects.exists()
