"""Background entry points of capture: load by id, call one service."""

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone
from django_tasks import task

from leadflow.capture import inbound, magnets, services, webhooks, webinars
from leadflow.capture.models import (
    DeliveryStatus,
    InboundLead,
    Registration,
    Submission,
    SubmissionStatus,
    WebhookDelivery,
)
from leadflow.scheduler import register


@task()
def retry_submission(submission_id: int) -> str:
    submission = Submission.objects.select_related("form").filter(pk=submission_id).first()
    if submission is None or submission.status == SubmissionStatus.PROCESSED:
        return "nothing to do"
    services.process_submission(submission=submission)
    return "processed"


@task()
def send_confirmation_email(submission_id: int) -> str:
    submission = Submission.objects.select_related("form").filter(pk=submission_id).first()
    if submission is None or submission.confirmed_at is not None:
        return "nothing to do"
    services.send_confirmation_email(submission=submission)
    return "sent"


@task()
def send_lead_magnet(submission_id: int) -> str:
    submission = (
        Submission.objects.select_related("form__lead_magnet", "contact")
        .filter(pk=submission_id, status=SubmissionStatus.PROCESSED)
        .first()
    )
    if submission is None or submission.contact is None:
        return "nothing to do"
    magnets.send_magnet_email(form=submission.form, contact=submission.contact)
    return "sent"


@task()
def send_registration_email(registration_id: int) -> str:
    registration = (
        Registration.objects.select_related("event", "contact").filter(pk=registration_id).first()
    )
    if registration is None:
        return "nothing to do"
    webinars.send_registration_email(registration=registration)
    return "sent"


@task()
def retry_failed_submissions() -> int:
    """A safety net for submissions whose processing failed (a bug, a database hiccup), or
    that were kept for the worker during a burst and never reached the queue."""
    stale = timezone.now() - timedelta(minutes=5)
    ids = list(
        Submission.objects.filter(
            Q(status=SubmissionStatus.FAILED)
            | Q(status=SubmissionStatus.RECEIVED, received_at__lt=stale)
        ).values_list("pk", flat=True)[:500]
    )
    for submission_id in ids:
        retry_submission.enqueue(submission_id=submission_id)
    leads = list(
        InboundLead.objects.filter(status=SubmissionStatus.FAILED).select_related("source")[:500]
    )
    for lead in leads:
        inbound.process_or_keep_for_retry(lead=lead)
    return len(ids) + len(leads)


@register("retry_failed_submissions", every=timedelta(minutes=15))
def _schedule_retries() -> None:
    retry_failed_submissions.enqueue()


ATTACH_WATERMARK_KEY = "leadflow:capture:attach-visits:last-id"


@task()
def attach_visits() -> int:
    """Put identified visitors' new page views on their timelines, a batch at a time."""
    from django.core.cache import cache

    total = 0
    after_id = cache.get(ATTACH_WATERMARK_KEY, 0)
    while True:
        attached, watermark = services.attach_visits(after_id=after_id)
        total += attached
        if watermark == after_id:
            break
        after_id = watermark
        cache.set(ATTACH_WATERMARK_KEY, after_id, timeout=None)
    return total


@register("attach_visits", every=timedelta(seconds=30))
def _schedule_attach() -> None:
    attach_visits.enqueue()


@task()
def deliver_webhook(delivery_id: int) -> str:
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None or delivery.status == DeliveryStatus.DELIVERED:
        return "nothing to do"
    delivery = webhooks.attempt_delivery(delivery)
    if delivery.status == DeliveryStatus.RETRYING:
        deliver_webhook.using(run_after=delivery.next_attempt_at).enqueue(delivery_id=delivery.pk)
    return delivery.status
