"""Webhooks out, delivered to a real HTTP server on loopback."""

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from leadflow.capture import tasks, webhooks
from leadflow.capture.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from leadflow.contacts import services as contact_services
from leadflow.contacts.models import LifecycleStage

pytestmark = pytest.mark.django_db


class Receiver:
    """A small HTTP server that records what it is sent and answers with `status`."""

    def __init__(self):
        self.requests: list[dict] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                self.send_response(receiver.status)
                self.end_headers()
                self.wfile.write(b"thanks")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def endpoint(receiver):
    return WebhookEndpoint.objects.create(
        name="CRM sync",
        url=receiver.url,
        secret=webhooks.new_secret(),
        events=["contact.created", "contact.stage_changed"],
    )


def _run_deliveries():
    for delivery in WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING):
        tasks.deliver_webhook.call(delivery_id=delivery.pk)


def test_a_subscribed_event_is_delivered_signed(
    endpoint, receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        contact = contact_services.create_contact(actor=None, email="ada@example.com")
    _run_deliveries()

    (request,) = receiver.requests
    payload = json.loads(request["body"])
    assert payload["event"] == "contact.created"
    assert payload["data"]["contact"]["email"] == "ada@example.com"
    assert payload["data"]["contact"]["id"] == contact.pk
    assert request["headers"]["Leadflow-Event"] == "contact.created"
    timestamp, signature = request["headers"]["Leadflow-Signature"].split(",")
    t = timestamp.removeprefix("t=")
    expected = hmac.new(
        endpoint.secret.encode(), f"{t}.".encode() + request["body"], hashlib.sha256
    ).hexdigest()
    assert signature == f"v1={expected}"
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.last_status_code == 200


def test_events_nobody_subscribed_to_are_not_sent(
    endpoint, receiver, django_capture_on_commit_callbacks
):
    contact = contact_services.create_contact(actor=None, email="ada@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        contact_services.update_contact(contact=contact, actor=None, first_name="Ada")
        contact_services.change_stage(contact=contact, to_stage=LifecycleStage.MQL, actor=None)
    assert list(WebhookDelivery.objects.values_list("event", flat=True)) == [
        "contact.stage_changed"
    ]


def test_a_failing_receiver_is_retried_with_backoff_then_given_up(
    endpoint, receiver, django_capture_on_commit_callbacks
):
    receiver.status = 503
    with django_capture_on_commit_callbacks(execute=True):
        contact_services.create_contact(actor=None, email="ada@example.com")
    delivery = WebhookDelivery.objects.get()

    webhooks.attempt_delivery(delivery)
    assert delivery.status == DeliveryStatus.RETRYING
    assert delivery.last_status_code == 503
    first_pause = delivery.next_attempt_at - delivery.created_at
    webhooks.attempt_delivery(delivery)
    assert delivery.next_attempt_at - delivery.created_at > first_pause

    for _ in range(len(webhooks.RETRY_PAUSES) - 1):
        webhooks.attempt_delivery(delivery)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == len(webhooks.RETRY_PAUSES) + 1

    receiver.status = 200
    with django_capture_on_commit_callbacks(execute=True):
        webhooks.replay(delivery)
    _run_deliveries()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED


def test_an_unreachable_receiver_is_recorded_not_raised(endpoint):
    endpoint.url = "http://127.0.0.1:9/nothing-listens-here"
    endpoint.save()
    contact = contact_services.create_contact(actor=None, email="ada@example.com")
    (delivery,) = webhooks.queue_event("contact.created", {"contact": {"id": contact.pk}})
    webhooks.attempt_delivery(delivery)
    assert delivery.status == DeliveryStatus.RETRYING
    assert delivery.last_error
