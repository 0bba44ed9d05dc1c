"""Webhooks out: each subscribed event becomes a delivery, POSTed as JSON and signed.

Signature (like Stripe's, so integrators know the shape): the header
`Leadflow-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
A receiver recomputes it with its secret and rejects old timestamps to stop replays.
A failed delivery is retried with growing pauses, then marked failed; an admin can see
every attempt and replay it.
"""

import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.request
from datetime import timedelta
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from leadflow.capture.models import (
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
)
from leadflow.contacts.models import Contact

# Pauses before each retry; after the last one the delivery is marked failed.
RETRY_PAUSES = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=12),
)
TIMEOUT_SECONDS = 10
USER_AGENT = "Leadflow-Webhooks/1"


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def sign(secret: str, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def contact_payload(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.pk,
        "email": contact.email,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "phone": contact.phone,
        "job_title": contact.job_title,
        "country": contact.country,
        "company": contact.company.name if contact.company_id else None,
        "lifecycle_stage": contact.lifecycle_stage,
        "score": contact.score,
        "consent": contact.consent,
        "owner_id": contact.owner_id,
        "attributes": contact.attributes,
        "created_at": contact.created_at,
        "updated_at": contact.updated_at,
    }


def queue_event(event: str, data: dict[str, Any]) -> list[WebhookDelivery]:
    """A delivery for every active endpoint subscribed to `event`, sent by the worker."""
    from leadflow.capture.tasks import deliver_webhook

    endpoints = [e for e in WebhookEndpoint.objects.filter(is_active=True) if event in e.events]
    if not endpoints:
        return []
    now = timezone.now()
    body = json.loads(
        json.dumps({"event": event, "occurred_at": now, "data": data}, cls=DjangoJSONEncoder)
    )
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(endpoint=endpoint, event=event, payload=body, created_at=now)
        for endpoint in endpoints
    )
    for delivery in deliveries:
        transaction.on_commit(lambda pk=delivery.pk: deliver_webhook.enqueue(delivery_id=pk))
    return deliveries


def attempt_delivery(delivery: WebhookDelivery) -> WebhookDelivery:
    """POST once; record the answer; schedule the next try or give up."""
    body = json.dumps(delivery.payload, separators=(",", ":")).encode()
    request = urllib.request.Request(  # noqa: S310 - admins configure http(s) URLs only
        delivery.endpoint.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Leadflow-Event": delivery.event,
            "Leadflow-Delivery": str(delivery.pk),
            "Leadflow-Signature": sign(delivery.endpoint.secret, body, int(time.time())),
        },
    )
    delivery.attempts += 1
    status, error, answer = None, "", ""
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            status = response.status
            answer = response.read(1000).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        status = exc.code
        answer = exc.read(1000).decode("utf-8", "replace") if exc.fp else ""
        error = f"HTTP {exc.code}"
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        error = str(getattr(exc, "reason", exc))[:500]
    delivery.last_status_code = status
    delivery.last_error = error
    delivery.last_response = answer
    if status is not None and 200 <= status < 300:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = timezone.now()
        delivery.next_attempt_at = None
    elif delivery.attempts <= len(RETRY_PAUSES):
        delivery.status = DeliveryStatus.RETRYING
        delivery.next_attempt_at = timezone.now() + RETRY_PAUSES[delivery.attempts - 1]
    else:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
    delivery.save()
    return delivery


def replay(delivery: WebhookDelivery) -> WebhookDelivery:
    """An admin asked to send it again now, whatever happened before."""
    from leadflow.capture.tasks import deliver_webhook

    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.PENDING, next_attempt_at=None
    )
    transaction.on_commit(lambda: deliver_webhook.enqueue(delivery_id=delivery.pk))
    delivery.status = DeliveryStatus.PENDING
    return delivery
