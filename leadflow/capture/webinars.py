"""Webinars and events: registration through a form (within capacity), a confirmation
email with a calendar file, and attendance imported afterwards from a list of emails."""

import csv
import io
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from icalendar import Calendar
from icalendar import Event as CalendarEvent

from leadflow.capture.models import Event, Registration
from leadflow.contacts import services as contact_services
from leadflow.contacts.models import ActivityKind, Contact
from leadflow.contacts.normalise import InvalidEmail, validate_email_address
from leadflow.errors import LeadflowError


class EventFull(LeadflowError):
    """Every seat is taken."""


def seats_left(event: Event) -> int | None:
    if event.capacity is None:
        return None
    return max(event.capacity - event.registrations.count(), 0)


@transaction.atomic
def register(*, event: Event, contact: Contact, source: str = "") -> tuple[Registration, bool]:
    """A seat for the contact (the same one if already registered), or EventFull."""
    # The row lock serialises concurrent registrations, so capacity is never exceeded.
    event = Event.objects.select_for_update().get(pk=event.pk)
    existing = Registration.objects.filter(event=event, contact=contact).first()
    if existing is not None:
        return existing, False
    if event.capacity is not None and event.registrations.count() >= event.capacity:
        raise EventFull(f"{event.name} is full.")
    registration = Registration.objects.create(event=event, contact=contact)
    contact_services.record_activity(
        contact=contact,
        kind=ActivityKind.EVENT_REGISTERED,
        data={
            "event": event.name,
            "event_id": event.pk,
            "starts_at": event.starts_at.isoformat(),
            "source": source,
        },
    )
    return registration, True


def calendar_file(event: Event) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Leadflow//Events//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    entry = CalendarEvent()
    entry.add("uid", f"event-{event.pk}@{settings.PUBLIC_URL.split('://')[-1]}")
    entry.add("dtstamp", timezone.now())
    entry.add("dtstart", event.starts_at)
    entry.add("dtend", event.ends_at)
    entry.add("summary", event.name)
    if event.description:
        entry.add("description", event.description)
    if event.location:
        entry.add("location", event.location)
    calendar.add_component(entry)
    return calendar.to_ical()


def send_registration_email(*, registration: Registration) -> None:
    event, contact = registration.event, registration.contact
    if not contact.email:
        return
    context = {"event": event, "contact": contact}
    message = EmailMultiAlternatives(
        subject=f"You're registered: {event.name}",
        body=render_to_string("capture/email/registered.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[contact.email],
    )
    message.attach_alternative(
        render_to_string("capture/email/registered.html", context), "text/html"
    )
    message.attach("event.ics", calendar_file(event), "text/calendar; method=PUBLISH")
    message.send()


@dataclass
class AttendanceReport:
    attended: int = 0
    new_contacts: int = 0
    already_marked: int = 0
    rejected: list[dict] = field(default_factory=list)  # {"line": n, "value": ..., "reason": ...}


def import_attendance(*, event: Event, lines: io.TextIOBase, actor=None) -> AttendanceReport:
    """Mark who attended from a CSV of emails (a header with an 'email' column, or emails in
    the first column). Unknown people become contacts (walk-ins are leads too); each bad
    line is reported with its number and reason, and the rest still counts."""
    report = AttendanceReport()
    reader = csv.reader(lines)
    column = 0
    now = timezone.now()
    for number, row in enumerate(reader, start=1):
        if not row or not any(cell.strip() for cell in row):
            continue
        if number == 1:
            header = [cell.strip().lower() for cell in row]
            names = [i for i, h in enumerate(header) if "mail" in h]
            if names:
                column = names[0]
                continue
        raw = row[column].strip() if column < len(row) else ""
        try:
            email = validate_email_address(raw)
        except InvalidEmail as exc:
            report.rejected.append({"line": number, "value": raw[:200], "reason": str(exc)})
            continue
        with transaction.atomic():
            contact, created = contact_services.upsert_contact_by_email(
                email=email, actor=actor, source=f"event:{event.pk}"
            )
            registration, _ = Registration.objects.get_or_create(event=event, contact=contact)
            if registration.attended_at is not None:
                report.already_marked += 1
                continue
            registration.attended_at = now
            registration.save(update_fields=["attended_at"])
            contact_services.record_activity(
                contact=contact,
                kind=ActivityKind.EVENT_ATTENDED,
                actor=actor,
                occurred_at=event.starts_at,
                data={"event": event.name, "event_id": event.pk},
            )
        report.attended += 1
        report.new_contacts += int(created)
    return report
