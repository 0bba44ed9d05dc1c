"""Lead magnets: the asset a form gives in exchange for contact details, delivered by a
signed, expiring link on the thank-you page and by email; every download is recorded."""

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from leadflow.capture.models import Form, LeadMagnet
from leadflow.contacts import services as contact_services
from leadflow.contacts.models import ActivityKind, Contact
from leadflow.errors import LeadflowError

SALT = "leadflow.capture.lead-magnet"
LINK_LIFETIME = timedelta(days=14)


class LinkInvalid(LeadflowError):
    status_code = 400


def download_url(*, form: Form, magnet: LeadMagnet, contact: Contact) -> str:
    token = signing.dumps({"m": magnet.pk, "c": contact.pk}, salt=SALT, compress=True)
    return f"{settings.PUBLIC_URL}{reverse('capture:asset', args=[form.slug, token])}"


def open_link(token: str) -> tuple[LeadMagnet, Contact]:
    try:
        data = signing.loads(token, salt=SALT, max_age=LINK_LIFETIME.total_seconds())
    except signing.SignatureExpired as exc:
        raise LinkInvalid("This download link has expired. Fill in the form again.") from exc
    except signing.BadSignature as exc:
        raise LinkInvalid("This download link is not valid.") from exc
    if not isinstance(data, dict):
        raise LinkInvalid("This download link is not valid.")
    magnet = LeadMagnet.objects.filter(pk=data.get("m")).first()
    contact = Contact.objects.filter(pk=data.get("c")).first()
    if magnet is None or contact is None:
        raise LinkInvalid("This download is no longer available.")
    return magnet, contact


def record_download(*, magnet: LeadMagnet, contact: Contact, form_slug: str) -> None:
    contact_services.record_activity(
        contact=contact,
        kind=ActivityKind.ASSET_DOWNLOADED,
        data={"asset": magnet.name, "asset_id": magnet.pk, "form_slug": form_slug},
    )


def send_magnet_email(*, form: Form, contact: Contact) -> None:
    magnet = form.lead_magnet
    if magnet is None or not contact.email:
        return
    context = {
        "form": form,
        "magnet": magnet,
        "url": download_url(form=form, magnet=magnet, contact=contact),
        "days": LINK_LIFETIME.days,
    }
    send_mail(
        subject=f"Your copy of {magnet.name}",
        message=render_to_string("capture/email/magnet.txt", context),
        html_message=render_to_string("capture/email/magnet.html", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[contact.email],
    )
