"""Leads pushed by other tools (lead-ads platforms, chat widgets, Zapier-like services) to
/in/<slug> as JSON, mapped to contact fields by the source's configured paths.

Each source has its own secret (sent as `Authorization: Bearer <secret>`, or the
`X-Leadflow-Secret` header for tools that cannot set Authorization), stored as a hash. A lead
is recognised by the sender's own id, so a platform that retries gets the same answer and
makes no duplicate.
"""

import hashlib
import hmac
import logging
import secrets
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from leadflow.capture.attribution import channel_for_kind
from leadflow.capture.models import InboundLead, InboundSource, SubmissionStatus
from leadflow.contacts import services as contact_services
from leadflow.contacts.models import ActivityKind, ChannelKind
from leadflow.errors import LeadflowError

logger = logging.getLogger("leadflow.capture")

CONTACT_FIELDS = {"email", "first_name", "last_name", "phone", "job_title", "country"}
MISSING = object()


class InboundRejected(LeadflowError):
    status_code = 422


def new_secret() -> str:
    return "lfin_" + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    # A random 256-bit secret: a fast hash is enough (nothing to guess), see ApiKey.
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(source: InboundSource, presented: str) -> bool:
    return bool(presented) and hmac.compare_digest(source.secret_hash, hash_secret(presented))


def create_source(
    *, name: str, slug: str, field_mapping: dict, id_path: str = "id", **fields: Any
) -> tuple[InboundSource, str]:
    """A new source and its secret, which is shown once and never stored."""
    secret = new_secret()
    source = InboundSource.objects.create(
        name=name,
        slug=slug,
        secret_hash=hash_secret(secret),
        field_mapping=field_mapping,
        id_path=id_path,
        **fields,
    )
    return source, secret


def pick(document: Any, path: str) -> Any:
    """The value at a dotted path. A segment `key=value` picks the first object in a list
    whose `key` equals `value` (Facebook-style field_data lists); digits index lists."""
    current = document
    for segment in [s for s in path.split(".") if s]:
        if isinstance(current, dict):
            current = current.get(segment, MISSING)
        elif isinstance(current, list):
            if "=" in segment:
                key, _, wanted = segment.partition("=")
                current = next(
                    (
                        item
                        for item in current
                        if isinstance(item, dict) and str(item.get(key)) == wanted
                    ),
                    MISSING,
                )
            elif segment.isdigit() and int(segment) < len(current):
                current = current[int(segment)]
            else:
                current = MISSING
        else:
            current = MISSING
        if current is MISSING:
            return None
    return current


def map_lead(source: InboundSource, payload: dict) -> tuple[str, dict, dict]:
    """(email, contact fields, custom attributes) from a payload, by the source's mapping."""
    fields, attributes = {}, {}
    for ours, path in (source.field_mapping or {}).items():
        value = pick(payload, str(path))
        if value is None or isinstance(value, dict | list):
            continue
        text = str(value).strip()[:500]
        if ours in CONTACT_FIELDS:
            fields[ours] = text
        elif ours.startswith("attr."):
            attributes[ours[5:][:64]] = text
    return fields.pop("email", ""), fields, attributes


def receive_lead(*, source: InboundSource, payload: dict) -> tuple[InboundLead, bool]:
    """Keep the lead (committed) or find the one already kept. Returns (lead, is_new)."""
    external_id = pick(payload, source.id_path)
    if external_id is None or isinstance(external_id, dict | list) or not str(external_id):
        raise InboundRejected(f"The lead id at '{source.id_path}' is missing.")
    external_id = str(external_id)[:200]
    existing = InboundLead.objects.filter(source=source, external_id=external_id).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            return InboundLead.objects.create(
                source=source, external_id=external_id, payload=payload
            ), True
    except IntegrityError:
        # The sender retried while the first request was still being handled.
        return InboundLead.objects.get(source=source, external_id=external_id), False


@transaction.atomic
def process_lead(*, lead: InboundLead) -> InboundLead:
    source = lead.source
    email, fields, attributes = map_lead(source, lead.payload)
    if not email:
        lead.status = SubmissionStatus.INVALID
        lead.errors = {"email": "No email at the mapped path."}
        lead.save(update_fields=["status", "errors"])
        return lead
    contact, _ = contact_services.upsert_contact_by_email(
        email=email,
        actor=None,
        source=f"inbound:{source.slug}",
        fields=fields,
        attributes=attributes,
        stage=source.lifecycle_stage,
    )
    # A source without a channel is credited to "Other" rather than guessed.
    channel = source.channel or channel_for_kind(ChannelKind.OTHER)
    contact_services.record_touch(contact=contact, channel=channel, campaign=source.campaign)
    contact_services.record_activity(
        contact=contact,
        kind=ActivityKind.FORM_SUBMITTED,
        occurred_at=lead.received_at,
        channel=channel,
        campaign=source.campaign,
        data={
            "source": source.name,
            "source_slug": source.slug,
            "external_id": lead.external_id,
            "values": {"email": email, **fields, **{f"attr.{k}": v for k, v in attributes.items()}},
        },
    )
    lead.contact = contact
    lead.status = SubmissionStatus.PROCESSED
    lead.processed_at = timezone.now()
    lead.errors = {}
    lead.save(update_fields=["contact", "status", "processed_at", "errors"])
    return lead


def process_or_keep_for_retry(*, lead: InboundLead) -> InboundLead:
    try:
        return process_lead(lead=lead)
    except Exception as exc:
        logger.exception("processing inbound lead %s failed; kept for retry", lead.pk)
        InboundLead.objects.filter(pk=lead.pk).update(
            status=SubmissionStatus.FAILED, errors={"__processing__": str(exc)[:500]}
        )
        lead.status = SubmissionStatus.FAILED
        return lead
