"""Every write to contacts goes through here, and records its own trail on the timeline."""

from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from leadflow.accounts.models import User
from leadflow.contacts import events
from leadflow.contacts.models import (
    Activity,
    ActivityKind,
    Company,
    ConsentState,
    Contact,
    LifecycleStage,
    StageChange,
)
from leadflow.contacts.normalise import InvalidEmail, validate_email_address
from leadflow.errors import LeadflowError, NotAllowed

# Fields a person edits on the profile; everything else has its own verb below.
PROFILE_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "phone",
    "job_title",
    "country",
    "company",
    "attributes",
    "consent",
    "external_id",
)


class DuplicateContact(LeadflowError):
    """Another contact already has this email (or external id)."""


class InvalidContact(LeadflowError):
    status_code = 422


def _clean_email(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    try:
        return validate_email_address(value)
    except InvalidEmail as exc:
        raise InvalidContact(f"email: {exc}") from exc


def _emit(signal, **kwargs: Any) -> None:
    # Receivers (scoring, routing, webhooks) must never see a change that rolled back.
    transaction.on_commit(lambda: signal.send(Contact, **kwargs))


def record_activity(
    *,
    contact: Contact,
    kind: str,
    actor: User | None = None,
    data: dict | None = None,
    occurred_at=None,
    channel=None,
    campaign=None,
) -> Activity:
    activity = Activity.objects.create(
        contact=contact,
        kind=kind,
        actor=actor,
        data=data or {},
        occurred_at=occurred_at or timezone.now(),
        channel=channel,
        campaign=campaign,
    )
    _emit(events.activity_recorded, activity_id=activity.pk, contact_id=contact.pk, kind=kind)
    return activity


@transaction.atomic
def create_contact(*, actor: User | None, source: str = "manual", **fields: Any) -> Contact:
    """A new contact with a normalised, unique email; the timeline says who created it."""
    fields["email"] = _clean_email(fields.get("email"))
    stage = fields.setdefault("lifecycle_stage", LifecycleStage.LEAD)
    if fields["email"] and Contact.objects.filter(email=fields["email"]).exists():
        raise DuplicateContact(f"A contact with the email {fields['email']} already exists.")
    try:
        with transaction.atomic():
            contact = Contact.objects.create(**fields)
    except IntegrityError as exc:
        # Two requests racing on the same address: the unique index decides, we explain.
        raise DuplicateContact("A contact with this email or external id already exists.") from exc
    record_activity(
        contact=contact, kind=ActivityKind.CREATED, actor=actor, data={"source": source}
    )
    StageChange.objects.create(
        contact=contact,
        from_stage="",
        to_stage=stage,
        changed_at=contact.created_at,
        actor=actor,
        source=source,
        reason="Contact created",
    )
    _emit(events.contact_created, contact_id=contact.pk)
    return contact


@transaction.atomic
def update_contact(*, contact: Contact, actor: User | None, **changes: Any) -> Contact:
    """Change profile fields; the timeline keeps the old and new value of each."""
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise InvalidContact(f"These fields cannot be changed here: {', '.join(sorted(unknown))}")
    if "email" in changes:
        changes["email"] = _clean_email(changes["email"])
        if (
            changes["email"]
            and Contact.objects.filter(email=changes["email"]).exclude(pk=contact.pk).exists()
        ):
            raise DuplicateContact(f"Another contact already has the email {changes['email']}.")
    diff = {}
    for field, new in changes.items():
        old = getattr(contact, field)
        if old != new:
            diff[field] = {"from": _plain(old), "to": _plain(new)}
            setattr(contact, field, new)
    if not diff:
        return contact
    if "consent" in diff:
        contact.consent_at = timezone.now()
    try:
        with transaction.atomic():
            contact.save()
    except IntegrityError as exc:
        raise DuplicateContact("Another contact already has this email or external id.") from exc
    record_activity(contact=contact, kind=ActivityKind.UPDATED, actor=actor, data=diff)
    _emit(events.contact_updated, contact_id=contact.pk, changed=sorted(diff))
    return contact


# Fields a person may tell us about themselves on a form or through an integration.
SELF_REPORTED_FIELDS = ("first_name", "last_name", "phone", "job_title", "country")


@transaction.atomic
def upsert_contact_by_email(
    *,
    email: str,
    actor: User | None,
    source: str,
    fields: dict[str, Any] | None = None,
    attributes: dict[str, Any] | None = None,
    stage: str = LifecycleStage.LEAD,
) -> tuple[Contact, bool]:
    """The contact with this (normalised) email, created if new. Returns (contact, created).

    What the person just told us replaces what we had, but an empty value never erases a
    known one: a newsletter form without a name must not blank the name sales typed in.
    """
    clean = _clean_email(email)
    if clean is None:
        raise InvalidContact("email: an email address is needed to find or create a contact.")
    given = {k: v for k, v in (fields or {}).items() if k in SELF_REPORTED_FIELDS and v}
    contact = Contact.objects.select_for_update().filter(email=clean).first()
    if contact is None:
        try:
            with transaction.atomic():
                contact = create_contact(
                    actor=actor,
                    source=source,
                    email=clean,
                    attributes=dict(attributes or {}),
                    lifecycle_stage=stage,
                    **given,
                )
            return contact, True
        except DuplicateContact:
            # Another request created it a moment ago: carry on as an update of that one.
            contact = Contact.objects.select_for_update().get(email=clean)
    changes: dict[str, Any] = {k: v for k, v in given.items() if getattr(contact, k) != v}
    if attributes:
        merged = {**contact.attributes, **{k: v for k, v in attributes.items() if v != ""}}
        if merged != contact.attributes:
            changes["attributes"] = merged
    if changes:
        update_contact(contact=contact, actor=actor, **changes)
    return contact, False


def record_touch(*, contact: Contact, channel, campaign=None) -> Contact:
    """Credit a touch: the first one is kept for good, the last one moves with every touch."""
    updates = ["last_touch_channel", "last_touch_campaign", "updated_at"]
    contact.last_touch_channel = channel
    contact.last_touch_campaign = campaign
    if contact.first_touch_channel_id is None:
        contact.first_touch_channel = channel
        contact.first_touch_campaign = campaign
        updates += ["first_touch_channel", "first_touch_campaign"]
    contact.save(update_fields=updates)
    return contact


@transaction.atomic
def record_consent(
    *, contact: Contact, state: str, actor: User | None = None, evidence: dict | None = None
) -> Contact:
    """Consent changes with their evidence (wording, page, address, time) on the timeline."""
    if state not in ConsentState.values:
        raise InvalidContact(f"consent: unknown state {state!r}")
    now = timezone.now()
    previous = contact.consent
    contact.consent = state
    contact.consent_at = now
    contact.save(update_fields=["consent", "consent_at", "updated_at"])
    record_activity(
        contact=contact,
        kind=ActivityKind.CONSENT_CHANGED,
        actor=actor,
        occurred_at=now,
        data={"from": previous, "to": state, **(evidence or {})},
    )
    _emit(events.contact_updated, contact_id=contact.pk, changed=["consent"])
    return contact


def _plain(value: Any) -> Any:
    if isinstance(value, Company):
        return value.name
    return value


@transaction.atomic
def change_stage(
    *,
    contact: Contact,
    to_stage: str,
    actor: User | None,
    reason: str = "",
    source: str = "",
) -> Contact:
    """Move a contact through the lifecycle; the history says who or what did it, and why."""
    if to_stage not in LifecycleStage.values:
        raise InvalidContact(f"Unknown lifecycle stage: {to_stage}")
    from_stage = contact.lifecycle_stage
    if from_stage == to_stage:
        return contact
    now = timezone.now()
    contact.lifecycle_stage = to_stage
    contact.save(update_fields=["lifecycle_stage", "updated_at"])
    StageChange.objects.create(
        contact=contact,
        from_stage=from_stage,
        to_stage=to_stage,
        changed_at=now,
        actor=actor,
        source=source or ("user" if actor else "system"),
        reason=reason,
    )
    record_activity(
        contact=contact,
        kind=ActivityKind.STAGE_CHANGED,
        actor=actor,
        occurred_at=now,
        data={"from": from_stage, "to": to_stage, "reason": reason},
    )
    _emit(events.stage_changed, contact_id=contact.pk, from_stage=from_stage, to_stage=to_stage)
    return contact


@transaction.atomic
def assign_owner(*, contact: Contact, owner: User | None, actor: User | None) -> Contact:
    change = {"from": contact.owner_id, "to": owner.pk if owner else None}
    if change["from"] == change["to"]:
        return contact
    contact.owner = owner
    contact.save(update_fields=["owner", "updated_at"])
    record_activity(contact=contact, kind=ActivityKind.OWNER_ASSIGNED, actor=actor, data=change)
    _emit(events.owner_assigned, contact_id=contact.pk, owner_id=change["to"])
    return contact


@transaction.atomic
def add_note(*, contact: Contact, actor: User | None, text: str) -> Activity:
    text = text.strip()
    if not text:
        raise InvalidContact("A note needs some text.")
    return record_activity(
        contact=contact, kind=ActivityKind.NOTE, actor=actor, data={"text": text}
    )


@transaction.atomic
def delete_contact(*, contact: Contact, actor: User | None) -> None:
    contact_id, email = contact.pk, contact.email
    contact.delete()
    _emit(events.contact_deleted, contact_id=contact_id, email=email)


@transaction.atomic
def create_company(*, actor: User | None, **fields: Any) -> Company:
    domain = (fields.get("domain") or "").strip().lower().removeprefix("www.") or None
    fields["domain"] = domain
    if domain and Company.objects.filter(domain=domain).exists():
        raise DuplicateContact(f"A company with the domain {domain} already exists.")
    try:
        with transaction.atomic():
            return Company.objects.create(**fields)
    except IntegrityError as exc:
        # Two requests racing on the same domain: the unique index decides, we explain.
        raise DuplicateContact(f"A company with the domain {domain} already exists.") from exc


@transaction.atomic
def delete_company(*, company: Company, actor: User) -> None:
    """Its contacts and deals stay, without a company."""
    if not actor.can_delete_records:
        raise NotAllowed("Sales reps cannot delete companies.")
    company.delete()


@transaction.atomic
def update_company(*, company: Company, actor: User | None, **changes: Any) -> Company:
    if "domain" in changes:
        domain = (changes["domain"] or "").strip().lower().removeprefix("www.") or None
        if domain and Company.objects.filter(domain=domain).exclude(pk=company.pk).exists():
            raise DuplicateContact(f"Another company already has the domain {domain}.")
        changes["domain"] = domain
    for field, value in changes.items():
        setattr(company, field, value)
    try:
        with transaction.atomic():
            company.save()
    except IntegrityError as exc:
        raise DuplicateContact("Another company already has this domain.") from exc
    return company


def bulk_record_activities(rows: Iterable[Activity], *, batch_size: int = 5000) -> int:
    """Append many activities in one go (imports, demo data); no per-row events."""
    created = Activity.objects.bulk_create(rows, batch_size=batch_size)
    return len(created)
