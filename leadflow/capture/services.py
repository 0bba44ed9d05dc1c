"""Form submissions: kept as received, then turned into a contact with its first touch."""

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from leadflow.capture import events, tasks, webinars
from leadflow.capture.attribution import UTM_KEYS, attribute_touch
from leadflow.capture.models import (
    FieldKind,
    Form,
    FormField,
    LandingPage,
    Submission,
    SubmissionStatus,
    TrackingEvent,
    TrackingKind,
    Visitor,
)
from leadflow.capture.tracking import VISITOR_ID
from leadflow.capture.validation import Checked
from leadflow.contacts import services as contact_services
from leadflow.contacts.models import Activity, ActivityKind, ConsentState, Contact
from leadflow.errors import LeadflowError

logger = logging.getLogger("leadflow.capture")

CONTACT_FIELDS = {"first_name", "last_name", "phone", "job_title", "country"}


def keep_submission(
    *,
    form: Form,
    checked: Checked,
    status: str,
    context: dict[str, Any],
    ip_address: str | None,
    user_agent: str,
) -> Submission:
    """Store what arrived, committed on its own, before anything that could fail."""
    data = {**checked.values}
    if checked.unknown:
        data["_unknown"] = checked.unknown
    with transaction.atomic():
        return Submission.objects.create(
            form=form,
            status=status,
            data=data,
            errors=checked.errors,
            context=context,
            ip_address=ip_address,
            user_agent=user_agent[:400],
        )


def _split_values(
    fields: list[FormField], values: dict[str, Any]
) -> tuple[str, dict, dict, FormField | None]:
    email, contact_fields, attributes, consent = "", {}, {}, None
    for spec in fields:
        value = values.get(spec.name)
        if spec.kind == FieldKind.CONSENT:
            if value:
                consent = spec
            continue
        target = spec.maps_to or (spec.name if spec.kind == FieldKind.EMAIL else "")
        if spec.kind == FieldKind.EMAIL and not email:
            email = value or ""
        elif target in CONTACT_FIELDS:
            contact_fields[target] = value
        elif target.startswith("attr."):
            attributes[target[5:][:64]] = value
    return email, contact_fields, attributes, consent


@transaction.atomic
def process_submission(*, submission: Submission) -> Submission:
    """Create or update the contact (matched by normalised email), credit the touch, record
    the submission with every value on the timeline, and the consent with its evidence."""
    form = submission.form
    fields = list(form.fields.all())
    email, contact_fields, attributes, consent = _split_values(fields, submission.data)
    context = submission.context or {}
    contact, created = contact_services.upsert_contact_by_email(
        email=email,
        actor=None,
        source=f"form:{form.slug}",
        fields=contact_fields,
        attributes=attributes,
        stage=form.lifecycle_stage,
    )
    visitor_id = context.get("visitor_id") or ""
    if VISITOR_ID.match(visitor_id):
        # Before crediting this touch: the visit that first brought them is the first touch.
        identify_visitor(visitor_id=visitor_id, contact=contact, by=f"form:{form.slug}")
    utm = {k: v for k, v in (context.get("utm") or {}).items() if k in UTM_KEYS}
    referrer, own_host = context.get("referrer", ""), context.get("own_host", "")
    if not utm and _is_internal(referrer, own_host) and VISITOR_ID.match(visitor_id):
        # The form sits a few clicks into the site: this visit's source is where its first
        # page came from, not the site's own previous page.
        entry = _entry_of_current_visit(visitor_id, before=submission.received_at)
        if entry is not None:
            utm, referrer, own_host = entry.utm, entry.referrer, _host(entry.url)
    touch = attribute_touch(
        utm=utm, referrer=referrer, own_host=own_host, default_campaign=form.campaign
    )
    contact_services.record_touch(contact=contact, channel=touch.channel, campaign=touch.campaign)
    contact_services.record_activity(
        contact=contact,
        kind=ActivityKind.FORM_SUBMITTED,
        occurred_at=submission.received_at,
        channel=touch.channel,
        campaign=touch.campaign,
        data={
            "form": form.name,
            "form_slug": form.slug,
            "submission_id": submission.pk,
            "values": submission.data,
            "page": context.get("page", ""),
            "referrer": context.get("referrer", ""),
            "utm": utm,
        },
    )
    confirmed = submission.confirmed_at is not None
    if consent is not None and contact.consent != ConsentState.GRANTED:
        evidence = {
            "wording": consent.consent_text or consent.label,
            "form": form.slug,
            "page": context.get("page", ""),
            "ip": submission.ip_address,
            "submission_id": submission.pk,
        }
        if confirmed:
            evidence["confirmed_at"] = submission.confirmed_at.isoformat()
            evidence["confirmed_from_ip"] = (submission.context or {}).get("confirmed_from_ip")
        contact_services.record_consent(
            contact=contact,
            state=ConsentState.GRANTED
            if confirmed or not form.double_opt_in
            else ConsentState.PENDING,
            evidence=evidence,
        )
    if form.event_id is not None:
        _register_for_event(submission, contact)
    if form.lead_magnet_id is not None:
        transaction.on_commit(lambda: tasks.send_lead_magnet.enqueue(submission_id=submission.pk))
    submission.contact = contact
    submission.status = SubmissionStatus.PROCESSED
    submission.processed_at = timezone.now()
    submission.save(update_fields=["contact", "status", "processed_at", "errors"])
    transaction.on_commit(
        lambda: events.form_submitted.send(
            Submission,
            submission_id=submission.pk,
            form_id=form.pk,
            contact_id=contact.pk,
            created=created,
        )
    )
    return submission


def _register_for_event(submission: Submission, contact: Contact) -> None:
    try:
        registration, new = webinars.register(
            event=submission.form.event, contact=contact, source=f"form:{submission.form.slug}"
        )
    except webinars.EventFull:
        # The endpoint checks for seats first; this is the race for the last one. The
        # person is still a lead, so the submission is processed and says why no seat.
        submission.errors = {**(submission.errors or {}), "event": "The event was full."}
        return
    if new:
        transaction.on_commit(
            lambda: tasks.send_registration_email.enqueue(registration_id=registration.pk)
        )


def process_or_keep_for_retry(*, submission: Submission) -> Submission:
    """Process now; if anything fails the submission stays, marked failed, for a retry."""
    try:
        return process_submission(submission=submission)
    except Exception as exc:
        logger.exception("processing submission %s failed; kept for retry", submission.pk)
        Submission.objects.filter(pk=submission.pk).update(
            status=SubmissionStatus.FAILED, errors={"__processing__": str(exc)[:500]}
        )
        transaction.on_commit(lambda: tasks.retry_submission.enqueue(submission_id=submission.pk))
        submission.status = SubmissionStatus.FAILED
        return submission


CONFIRM_SALT = "leadflow.capture.confirm-subscription"
CONFIRM_MAX_AGE = timedelta(days=7)


class ConfirmationInvalid(LeadflowError):
    """The confirmation link is unknown, altered or expired."""

    status_code = 400


def confirmation_url(submission: Submission) -> str:
    token = signing.dumps(submission.pk, salt=CONFIRM_SALT)
    path = reverse("capture:confirm", args=[submission.form.slug, token])
    return f"{settings.PUBLIC_URL}{path}"


def send_confirmation_email(*, submission: Submission) -> None:
    """Double opt-in: nothing is subscribed until the address's owner clicks this link."""
    form = submission.form
    email = submission.data.get("email") or next(
        (v for k, v in submission.data.items() if isinstance(v, str) and "@" in v), ""
    )
    if not email:
        return
    context = {"form": form, "url": confirmation_url(submission)}
    send_mail(
        subject=f"Please confirm: {form.name}",
        message=render_to_string("capture/email/confirm.txt", context),
        html_message=render_to_string("capture/email/confirm.html", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[email],
    )


def find_submission_to_confirm(*, token: str) -> Submission:
    try:
        submission_id = signing.loads(
            token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE.total_seconds()
        )
    except signing.SignatureExpired as exc:
        raise ConfirmationInvalid(
            "This confirmation link has expired; please sign up again."
        ) from exc
    except signing.BadSignature as exc:
        raise ConfirmationInvalid("This confirmation link is not valid.") from exc
    submission = Submission.objects.select_related("form").filter(pk=submission_id).first()
    if submission is None:
        raise ConfirmationInvalid("This confirmation link is not valid.")
    return submission


@transaction.atomic
def confirm_submission(*, submission: Submission, ip_address: str | None) -> Submission:
    """The owner of the address said yes: now the submission becomes a subscribed contact."""
    submission = Submission.objects.select_for_update().select_related("form").get(pk=submission.pk)
    if submission.confirmed_at is not None:
        return submission  # a second click changes nothing
    submission.confirmed_at = timezone.now()
    submission.context = {**(submission.context or {}), "confirmed_from_ip": ip_address}
    submission.save(update_fields=["confirmed_at", "context"])
    return process_submission(submission=submission)


# Events newer than this may still be committing in another process; attach them next time.
ATTACH_LAG = timedelta(seconds=2)
ATTACH_BATCH = 5000


@transaction.atomic
def identify_visitor(*, visitor_id: str, contact: Contact, by: str) -> Visitor:
    """The visitor is this contact from now on: their anonymous visits join the timeline, and
    the visit that first brought them becomes the contact's first touch if none is known."""
    visitor, _ = Visitor.objects.update_or_create(
        visitor_id=visitor_id,
        defaults={"contact": contact, "identified_at": timezone.now(), "identified_by": by},
    )
    events = TrackingEvent.objects.filter(visitor_id=visitor_id, attached_at=None).order_by("id")
    first = events.only("utm", "referrer", "url").first()
    if first is not None and contact.first_touch_channel_id is None:
        touch = attribute_touch(utm=first.utm, referrer=first.referrer, own_host=_host(first.url))
        contact_services.record_touch(
            contact=contact, channel=touch.channel, campaign=touch.campaign
        )
    _attach(events[: ATTACH_BATCH * 4], {visitor_id: contact.pk})
    return visitor


# Page views closer together than this belong to one visit (the usual analytics session).
VISIT_GAP = timedelta(minutes=30)


def _is_internal(referrer: str, own_host: str) -> bool:
    host = _host(referrer).removeprefix("www.")
    return not referrer or (bool(own_host) and host == own_host.removeprefix("www."))


def _entry_of_current_visit(visitor_id: str, *, before) -> TrackingEvent | None:
    """The first page view of the visit that ends at `before`: walk back through the
    visitor's events while they are less than VISIT_GAP apart."""
    events = TrackingEvent.objects.filter(
        visitor_id=visitor_id, occurred_at__lte=before, kind=TrackingKind.PAGE_VIEW
    ).order_by("-occurred_at", "-id")[:200]
    entry, later = None, before
    for event in events:
        if later - event.occurred_at > VISIT_GAP:
            break
        entry, later = event, event.occurred_at
    return entry


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


def _attach(events, contact_by_visitor: dict[str, int]) -> int:
    """Copy events onto their contacts' timelines and mark them attached, in bulk."""
    # Locked, so the periodic attach and an identification never copy the same event twice.
    rows = list(
        events.select_for_update().values(
            "id", "visitor_id", "kind", "name", "url", "title", "referrer", "utm", "occurred_at"
        )
    )
    activities = [
        Activity(
            contact_id=contact_by_visitor[row["visitor_id"]],
            kind=ActivityKind.PAGE_VIEW
            if row["kind"] == TrackingKind.PAGE_VIEW
            else ActivityKind.CUSTOM,
            occurred_at=row["occurred_at"],
            data={
                "url": row["url"],
                "title": row["title"],
                "referrer": row["referrer"],
                "utm": row["utm"],
                "name": row["name"],
                "tracking_event_id": row["id"],
            },
        )
        for row in rows
        if row["visitor_id"] in contact_by_visitor
    ]
    contact_services.bulk_record_activities(activities)
    now = timezone.now()
    for visitor_id, contact_id in contact_by_visitor.items():
        ids = [r["id"] for r in rows if r["visitor_id"] == visitor_id]
        if ids:
            TrackingEvent.objects.filter(id__in=ids).update(contact_id=contact_id, attached_at=now)
    return len(activities)


def attach_visits(*, after_id: int) -> tuple[int, int]:
    """Attach the events of already-identified visitors that arrived after `after_id`.
    Returns (how many were attached, the new watermark)."""
    ceiling = timezone.now() - ATTACH_LAG
    batch = list(
        TrackingEvent.objects.filter(id__gt=after_id, occurred_at__lte=ceiling)
        .order_by("id")
        .values_list("id", "visitor_id")[:ATTACH_BATCH]
    )
    if not batch:
        return 0, after_id
    watermark = batch[-1][0]
    visitors = dict(
        Visitor.objects.filter(visitor_id__in={v for _, v in batch}).values_list(
            "visitor_id", "contact_id"
        )
    )
    if not visitors:
        return 0, watermark
    events = TrackingEvent.objects.filter(
        id__gt=after_id, id__lte=watermark, visitor_id__in=visitors, attached_at=None
    ).order_by("id")
    with transaction.atomic():
        attached = _attach(events, visitors)
    return attached, watermark


class SlugTaken(LeadflowError):
    """Another form or page already has this address."""


def _save_fields(form: Form, fields: list[dict[str, Any]]) -> None:
    names = [f["name"] for f in fields]
    if len(names) != len(set(names)):
        raise InvalidForm("fields: two fields have the same name.")
    if not any(f.get("kind") == FieldKind.EMAIL for f in fields):
        raise InvalidForm("fields: a form needs an email field to find or create the contact.")
    form.fields.all().delete()
    FormField.objects.bulk_create(
        FormField(form=form, position=position, **spec) for position, spec in enumerate(fields)
    )


class InvalidForm(LeadflowError):
    status_code = 422


@transaction.atomic
def create_form(*, fields: list[dict[str, Any]], **attrs: Any) -> Form:
    if Form.objects.filter(slug=attrs["slug"]).exists():
        raise SlugTaken(f"A form with the address /f/{attrs['slug']} already exists.")
    form = Form.objects.create(**attrs)
    _save_fields(form, fields)
    return form


@transaction.atomic
def update_form(*, form: Form, fields: list[dict[str, Any]] | None = None, **changes: Any) -> Form:
    for name, value in changes.items():
        setattr(form, name, value)
    form.save()
    if fields is not None:
        _save_fields(form, fields)
    return form


@transaction.atomic
def create_landing_page(**attrs: Any) -> LandingPage:
    if LandingPage.objects.filter(slug=attrs["slug"]).exists():
        raise SlugTaken(f"A page with the address /p/{attrs['slug']} already exists.")
    return LandingPage.objects.create(**attrs)


@transaction.atomic
def update_landing_page(*, page: LandingPage, **changes: Any) -> LandingPage:
    for name, value in changes.items():
        setattr(page, name, value)
    page.save()
    return page
