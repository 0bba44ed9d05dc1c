"""Email clicks that identify a visitor: the link in an email goes through /e/c/<token>,
which records the click and forwards to the page with a short-lived identity token; the
tracking script on that page hands the token and its visitor id to /t/identify, and from
then on the visitor's visits (earlier anonymous ones too) are the contact's.

Nurture builds its links with `click_url`; the tokens are signed, so nobody can forge a
click or claim to be another contact.
"""

from datetime import timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.core import signing
from django.urls import reverse

from leadflow.contacts import services as contact_services
from leadflow.contacts.models import ActivityKind, Contact
from leadflow.errors import LeadflowError

CLICK_SALT = "leadflow.capture.email-click"
IDENTITY_SALT = "leadflow.capture.identify"
IDENTITY_PARAM = "lf_id"
# The identity token only has to live from the click to the page's first beacon.
IDENTITY_LIFETIME = timedelta(hours=1)


class LinkInvalid(LeadflowError):
    status_code = 400


def click_url(*, contact: Contact, url: str, source: str = "email") -> str:
    """The tracked version of `url` for an email to `contact`."""
    if not url.lower().startswith(("http://", "https://")):
        raise LinkInvalid("Only http(s) links can be tracked.")
    token = signing.dumps(
        {"c": contact.pk, "u": url, "s": source[:100]}, salt=CLICK_SALT, compress=True
    )
    return f"{settings.PUBLIC_URL}{reverse('capture:email_click', args=[token])}"


def follow_click(token: str) -> str:
    """Record the click and return where to send the reader, carrying an identity token."""
    try:
        data = signing.loads(token, salt=CLICK_SALT)
    except signing.BadSignature as exc:
        raise LinkInvalid("This link is not valid.") from exc
    url = data.get("u", "") if isinstance(data, dict) else ""
    if not str(url).lower().startswith(("http://", "https://")):
        raise LinkInvalid("This link is not valid.")
    contact = Contact.objects.filter(pk=data.get("c")).first()
    if contact is None:
        return url  # the contact was deleted: still take the reader where they wanted to go
    contact_services.record_activity(
        contact=contact,
        kind=ActivityKind.EMAIL_CLICKED,
        data={"url": url, "source": data.get("s", "")},
    )
    identity = signing.dumps(contact.pk, salt=IDENTITY_SALT)
    return _with_param(url, IDENTITY_PARAM, identity)


def contact_of_identity(token: str) -> Contact:
    try:
        contact_id = signing.loads(
            token, salt=IDENTITY_SALT, max_age=IDENTITY_LIFETIME.total_seconds()
        )
    except signing.BadSignature as exc:
        raise LinkInvalid("This identity token is not valid or has expired.") from exc
    contact = Contact.objects.filter(pk=contact_id).first()
    if contact is None:
        raise LinkInvalid("This identity token is not valid or has expired.")
    return contact


def _with_param(url: str, name: str, value: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != name]
    query.append((name, value))
    return urlunsplit(parts._replace(query=urlencode(query)))
