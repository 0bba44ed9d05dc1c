"""How capture reacts to the rest of Leadflow: events become webhook deliveries.

Events arrive on commit and carry ids; the payload is read fresh here.
"""

from django.dispatch import receiver

from leadflow.capture import events as capture_events
from leadflow.capture import webhooks
from leadflow.capture.models import Submission, WebhookEvent
from leadflow.contacts import events as contact_events
from leadflow.contacts.models import Contact
from leadflow.sales import events as sales_events


def _contact(contact_id: int) -> dict | None:
    contact = Contact.objects.select_related("company").filter(pk=contact_id).first()
    return webhooks.contact_payload(contact) if contact else None


@receiver(contact_events.contact_created)
def on_contact_created(sender, *, contact_id: int, **kwargs) -> None:
    if (contact := _contact(contact_id)) is not None:
        webhooks.queue_event(WebhookEvent.CONTACT_CREATED, {"contact": contact})


@receiver(contact_events.contact_updated)
def on_contact_updated(sender, *, contact_id: int, changed=(), **kwargs) -> None:
    if (contact := _contact(contact_id)) is not None:
        webhooks.queue_event(
            WebhookEvent.CONTACT_UPDATED, {"contact": contact, "changed": list(changed)}
        )


@receiver(contact_events.stage_changed)
def on_stage_changed(sender, *, contact_id: int, from_stage: str, to_stage: str, **kwargs):
    if (contact := _contact(contact_id)) is not None:
        webhooks.queue_event(
            WebhookEvent.STAGE_CHANGED,
            {"contact": contact, "from_stage": from_stage, "to_stage": to_stage},
        )


@receiver(capture_events.form_submitted)
def on_form_submitted(sender, *, submission_id: int, contact_id: int, **kwargs) -> None:
    submission = Submission.objects.select_related("form").filter(pk=submission_id).first()
    if submission is None:
        return
    webhooks.queue_event(
        WebhookEvent.FORM_SUBMITTED,
        {
            "form": {"id": submission.form_id, "slug": submission.form.slug},
            "submission": {
                "id": submission.pk,
                "values": submission.data,
                "received_at": submission.received_at,
            },
            "contact": _contact(contact_id),
        },
    )


@receiver(sales_events.deal_won)
def on_deal_won(sender, *, deal_id: int, contact_id: int, amount: str, currency: str, **kw):
    webhooks.queue_event(
        WebhookEvent.DEAL_WON,
        {
            "deal": {"id": deal_id, "amount": amount, "currency": currency},
            "contact": _contact(contact_id),
        },
    )
