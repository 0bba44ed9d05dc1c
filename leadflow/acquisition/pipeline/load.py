"""Stage 6, load: the only stage that touches the database.

New contacts go in with `bulk_create` in batches, each with an IMPORTED activity and its
first lifecycle stage; matched contacts get their empty fields filled with `bulk_update`.
The caller wraps all of it in one transaction, so a failure leaves nothing half-written.
(`COPY` into a staging table on PostgreSQL is the next step for speed; see docs/imports.md.)
"""

import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl
from django.db.models.functions import Upper
from django.utils import timezone

from leadflow.acquisition.pipeline.mapping import ATTR_PREFIX
from leadflow.acquisition.pipeline.match import EXISTING_SCHEMA, FILLABLE, FILLED
from leadflow.acquisition.pipeline.read import LINE
from leadflow.contacts.models import (
    Activity,
    ActivityKind,
    Campaign,
    Channel,
    ChannelKind,
    Company,
    Contact,
    LifecycleStage,
    Spend,
    StageChange,
    Vendor,
)
from leadflow.contacts.services import bulk_record_activities

BATCH_SIZE = 1000
LOOKUP_CHUNK = 900  # under SQLite's limit of bound parameters per statement
# A campaign named without a channel needs one: bought lists land here.
DEFAULT_CAMPAIGN_CHANNEL = "Imported lists"

Progress = Callable[[int], None]


def _chunks(values: list, size: int) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def fetch_existing(*, emails: list[str], external_ids: list[str]) -> pl.DataFrame:
    """The contacts that share an email or an external id with the file, as a frame."""
    columns = ["id", *FILLABLE, "company_id", "attributes"]
    rows: dict[int, tuple] = {}
    for key, values in (("email__in", emails), ("external_id__in", external_ids)):
        for chunk in _chunks(values, LOOKUP_CHUNK):
            for row in Contact.objects.filter(**{key: chunk}).values_list(*columns):
                rows[row[0]] = (*row[:-1], json.dumps(row[-1] or {}))
    return pl.DataFrame(list(rows.values()), schema=EXISTING_SCHEMA, orient="row")


def ensure_vendor(name: str) -> tuple[Vendor, bool]:
    return Vendor.objects.get_or_create(name=name.strip())


def ensure_channels(names: set[str]) -> tuple[dict[str, Channel], list[str]]:
    """Channels by name, the missing ones created; returns them and the names created."""
    found = {c.name.casefold(): c for c in Channel.objects.filter(name__in=names)}
    # Case-insensitively, so "Webinar" in the file finds the channel "webinar".
    lowered = {n.casefold() for n in names} - set(found)
    for channel in Channel.objects.annotate(u=Upper("name")).filter(
        u__in=[n.upper() for n in lowered]
    ):
        found[channel.name.casefold()] = channel
    created = []
    for name in sorted(names, key=str.casefold):
        if name.casefold() not in found:
            found[name.casefold()] = Channel.objects.create(name=name, kind=ChannelKind.OTHER)
            created.append(name)
    return found, created


def ensure_campaigns(
    pairs: set[tuple[str, str | None]], default_channel: Channel | None
) -> tuple[dict[str, Campaign], list[str], list[str]]:
    """Campaigns by name (created under their row's channel, or the default one).

    Returns the campaigns, the campaign names created and the channel names created.
    """
    names = {name for name, _ in pairs}
    found = {
        c.name.casefold(): c
        for c in Campaign.objects.annotate(u=Upper("name")).filter(u__in=[n.upper() for n in names])
    }
    created, channels_created = [], []
    for name, channel_name in sorted(pairs, key=lambda p: (p[0].casefold(), p[1] or "")):
        if name.casefold() in found:
            continue
        channel = default_channel
        if channel_name:
            by_name, made = ensure_channels({channel_name})
            channel, channels_created = by_name[channel_name.casefold()], channels_created + made
        if channel is None:
            channel, made = Channel.objects.get_or_create(
                name=DEFAULT_CAMPAIGN_CHANNEL, defaults={"kind": ChannelKind.BOUGHT_LIST}
            )
            if made:
                channels_created.append(DEFAULT_CAMPAIGN_CHANNEL)
        found[name.casefold()] = Campaign.objects.create(name=name, channel=channel)
        created.append(name)
    return found, created, channels_created


def ensure_companies(names: set[str]) -> tuple[dict[str, int], int]:
    """Company ids by upper-cased name, the missing companies created; and how many were."""
    ids: dict[str, int] = {}
    wanted = {n.upper(): n for n in names}
    for chunk in _chunks(list(wanted), LOOKUP_CHUNK):
        for pk, upper in (
            Company.objects.annotate(u=Upper("name")).filter(u__in=chunk).values_list("pk", "u")
        ):
            ids.setdefault(upper, pk)
    missing = [Company(name=wanted[u]) for u in wanted if u not in ids]
    for company in Company.objects.bulk_create(missing, batch_size=BATCH_SIZE):
        ids[company.name.upper()] = company.pk
    return ids, len(missing)


def _aware(value: datetime | None) -> datetime:
    if value is None:
        return timezone.now()
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _attributes(row: dict) -> dict:
    return {
        key.removeprefix(ATTR_PREFIX): value
        for key, value in row.items()
        if key.startswith(ATTR_PREFIX) and value not in (None, "")
    }


def insert_contacts(
    frame: pl.DataFrame,
    *,
    job_id: int,
    file_name: str,
    vendor: Vendor | None,
    channels: dict[str, Channel],
    campaigns: dict[str, Campaign],
    default_channel: Channel | None,
    default_campaign: Campaign | None,
    company_ids: dict[str, int],
    progress: Progress | None = None,
) -> int:
    """New contacts, each with its IMPORTED activity and first stage; returns how many."""
    now = timezone.now()
    inserted = 0
    for batch in frame.iter_slices(BATCH_SIZE):
        contacts, touches, lines = [], [], []
        for row in batch.iter_rows(named=True):
            channel = channels.get((row["channel"] or "").casefold()) or default_channel
            campaign = campaigns.get((row["campaign"] or "").casefold()) or default_campaign
            if campaign is not None and channel is None:
                channel = campaign.channel
            contacts.append(
                Contact(
                    email=row["email"],
                    external_id=row["external_id"],
                    first_name=row["first_name"] or "",
                    last_name=row["last_name"] or "",
                    phone=row["phone"] or "",
                    job_title=row["job_title"] or "",
                    country=row["country"] or "",
                    company_id=company_ids.get((row["company"] or "").upper()),
                    attributes=_attributes(row),
                    source_vendor=vendor,
                    source_import_id=job_id,
                    first_touch_channel=channel,
                    first_touch_campaign=campaign,
                    last_touch_channel=channel,
                    last_touch_campaign=campaign,
                    lifecycle_stage=LifecycleStage.LEAD,
                    created_at=_aware(row["created_at"]),
                )
            )
            touches.append((channel, campaign))
            lines.append(row[LINE])
        created = Contact.objects.bulk_create(contacts, batch_size=BATCH_SIZE)
        bulk_record_activities(
            Activity(
                contact_id=contact.pk,
                kind=ActivityKind.IMPORTED,
                occurred_at=now,
                channel=channel,
                campaign=campaign,
                data={
                    "import_job": job_id,
                    "file": file_name,
                    "line": line,
                    "vendor": vendor.name if vendor else None,
                },
            )
            for contact, (channel, campaign), line in zip(created, touches, lines, strict=True)
        )
        StageChange.objects.bulk_create(
            (
                StageChange(
                    contact_id=contact.pk,
                    from_stage="",
                    to_stage=LifecycleStage.LEAD,
                    changed_at=contact.created_at,
                    source="import",
                    reason=f"Imported from {file_name} (import #{job_id})",
                )
                for contact in created
            ),
            batch_size=BATCH_SIZE,
        )
        inserted += len(created)
        if progress:
            progress(len(created))
    return inserted


def _new_attributes(row: dict) -> dict:
    attributes = json.loads(row["_attrs"])
    return {k: v for k, v in _attributes(row).items() if k not in attributes}


def fills_something(row: dict) -> bool:
    """Whether a planned fill changes anything (a field or a new custom attribute)."""
    return bool(row[FILLED]) or bool(_new_attributes(row))


def fill_contacts(
    fills: pl.DataFrame,
    *,
    job_id: int,
    file_name: str,
    company_ids: dict[str, int],
    progress: Progress | None = None,
) -> int:
    """Matched contacts get their empty fields (and missing attributes) filled; never more."""
    now = timezone.now()
    updated = 0
    for batch in fills.iter_slices(BATCH_SIZE):
        contacts, activities = [], []
        for row in batch.iter_rows(named=True):
            filled = list(row[FILLED])
            attributes = json.loads(row["_attrs"])
            extra = _new_attributes(row)
            if extra:
                filled.append("attributes")
            if not filled:
                continue
            company_id = row["company_id"]
            if "company" in filled:
                company_id = company_ids.get(row["company"].upper())
            contacts.append(
                Contact(
                    pk=row["id"],
                    **{
                        f: row[f] if f in ("email", "external_id") else row[f] or ""
                        for f in FILLABLE
                    },
                    company_id=company_id,
                    attributes={**attributes, **extra},
                    updated_at=now,
                )
            )
            activities.append(
                Activity(
                    contact_id=row["id"],
                    kind=ActivityKind.UPDATED,
                    occurred_at=now,
                    data={
                        "source": "import",
                        "import_job": job_id,
                        "file": file_name,
                        "line": row[LINE],
                        "filled": sorted(filled),
                    },
                )
            )
        Contact.objects.bulk_update(
            contacts,
            [*FILLABLE, "company_id", "attributes", "updated_at"],
            batch_size=BATCH_SIZE,
        )
        bulk_record_activities(activities)
        updated += len(contacts)
        if progress:
            progress(batch.height)
    return updated


def record_list_cost(
    *,
    amount: Decimal,
    currency: str,
    vendor: Vendor | None,
    campaign: Campaign | None,
    note: str,
) -> Spend:
    return Spend.objects.create(
        spent_on=date.today(),
        amount=amount,
        currency=currency,
        vendor=vendor,
        campaign=campaign,
        note=note[:200],
    )
