"""Activities: a contact's history from an old CRM or an email tool (opens, visits, calls).

A row names its contact by `contact_email` or `contact_external_id`, what happened (`kind`)
and when (`occurred_at`, required: history without a date cannot be measured). Free text
kinds ("Email Opened", "Page Visited", "call") are read through a table of synonyms; a kind
not in the table is kept as a CUSTOM activity named by the original text (data.name), so
nothing a file says is lost and the timeline still shows it. Kinds that Leadflow records
itself (stage changed, deal won, imported...) are custom too when imported: the stage
history and deals have their own kinds of import.

`subject`, `notes`, `url` and any other column (as attr.NAME) go into the activity's data,
under the keys the timeline shows. Re-importing the same file adds nothing: a row is a
duplicate when the contact, kind, time and data (without the import's job and line) are
those of an activity we have.

Channels and campaigns named in the file are created if new (a campaign without a channel
goes under "Unassigned"). A contact without a first touch gets its earliest imported
touch; its last touch moves to the latest imported one when that is later than every
touch on its timeline. A contact younger than its earliest imported activity (a list
imported today, its email tool's history from 2024) is dated back to it, as a deal import
dates a contact back to its first deal, so its history reads in order and cohorts and
times to conversion use the real dates; undo puts the dates back.
"""

import hashlib
import json
import re
from collections import Counter
from datetime import datetime

import polars as pl
from django.db.models import Max
from django.utils import timezone

from leadflow.acquisition.kinds.base import (
    CONTACT_ID,
    UNASSIGNED_CHANNEL,
    FirstSeen,
    ImportRun,
    MappedChunks,
    add_counts,
    add_names,
    attach_contacts,
    changed_fields,
    chunks,
    contact_reason,
    date_back,
    ensure_unassigned_channel,
    first_reason,
    mapped_chunks,
    missing_names,
    record_contact_updates,
    writing,
    younger_contacts,
)
from leadflow.acquisition.pipeline import load
from leadflow.acquisition.pipeline.dates import parse_dates
from leadflow.acquisition.pipeline.mapping import ATTR_PREFIX
from leadflow.acquisition.pipeline.read import FIELD_COUNT, LINE
from leadflow.acquisition.pipeline.validate import TOO_MANY_FIELDS, split_rejects, too_long
from leadflow.acquisition.pipeline.values import blank_to_null
from leadflow.contacts.models import Activity, ActivityKind, Campaign, Channel, Contact
from leadflow.contacts.services import bulk_record_activities

KIND = "activities"
BATCH_SIZE = 1000
MISSING_KIND = "missing kind"
MISSING_DATE = "missing occurred_at"
INVALID_DATE = "occurred_at is not a date"
DATED_BACK = "contacts dated back to their first activity"
MAX_LENGTHS = {"channel": 100, "campaign": 200}
# Keys of an activity's data that say where it came from, not what happened.
PROVENANCE = ("import_job", "line")
HASH = "_hash"

K = ActivityKind
IMPORTABLE = (
    K.PAGE_VIEW, K.FORM_SUBMITTED, K.EMAIL_SENT, K.EMAIL_OPENED, K.EMAIL_CLICKED, K.CALL,
    K.NOTE, K.MEETING, K.ASSET_DOWNLOADED, K.EVENT_REGISTERED, K.EVENT_ATTENDED, K.CUSTOM,
)  # fmt: skip
KIND_SYNONYMS: dict[str, tuple[str, ...]] = {
    K.PAGE_VIEW: ("page view", "page viewed", "page visit", "page visited", "visited page",
                  "pageview", "visit", "web visit", "website visit", "viewed page", "view"),
    K.FORM_SUBMITTED: ("form submitted", "form submission", "form fill", "form filled",
                       "submitted form", "form", "filled out form", "conversion"),
    K.EMAIL_SENT: ("email sent", "sent email", "email delivered", "delivered", "sent", "email",
                   "mail sent", "outbound email"),
    K.EMAIL_OPENED: ("email opened", "email open", "opened email", "open", "opened",
                     "mail opened"),
    K.EMAIL_CLICKED: ("email clicked", "email click", "clicked link", "link clicked", "click",
                      "clicked", "email link clicked", "clicked email"),
    K.CALL: ("call", "phone call", "called", "call logged", "logged call", "outbound call",
             "inbound call", "phone"),
    K.NOTE: ("note", "notes", "comment", "note added"),
    K.MEETING: ("meeting", "meeting booked", "meeting held", "demo", "appointment",
                "meeting scheduled", "meeting completed"),
    K.ASSET_DOWNLOADED: ("download", "downloaded", "asset downloaded", "content download",
                         "whitepaper download", "ebook download", "file downloaded"),
    K.EVENT_REGISTERED: ("event registered", "registered", "registration",
                         "webinar registration", "event registration", "registered for event",
                         "webinar registered"),
    K.EVENT_ATTENDED: ("event attended", "attended", "attended event", "webinar attended",
                       "attendance", "attended webinar", "webinar joined", "joined webinar"),
}  # fmt: skip


def _key(text: str) -> str:
    """As the file's kinds are compared: lower case, any run of other characters one space."""
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


KIND_TABLE = {
    **{_key(kind.value): kind.value for kind in IMPORTABLE},
    **{_key(kind.label): kind.value for kind in IMPORTABLE},
    **{_key(s): kind for kind, names in KIND_SYNONYMS.items() for s in names},
}


def run(job_run: ImportRun) -> None:
    """Read, map, find contacts, validate, deduplicate and load activities, a chunk at a
    time."""
    run = ActivitiesRun(job_run)
    with mapped_chunks(job_run, KIND) as reader, writing(job_run.options):
        for raw, rows in reader:
            run.chunk(reader, raw, rows)
    job_run.report.details["by_kind"] = dict(sorted(run.by_kind.items()))


class ActivitiesRun:
    """What an activities import keeps from chunk to chunk: the keys of the rows kept so
    far, the count by kind, the first touches it gave (a later chunk's earlier touch
    replaces one) and the contacts it dated back."""

    def __init__(self, job_run: ImportRun) -> None:
        self.job_run = job_run
        self.seen = FirstSeen()
        self.by_kind: Counter[str] = Counter()
        self.first_touches: dict[int, datetime] = {}
        self.dated_back: set[int] = set()  # a contact two chunks date back counts once

    def chunk(self, reader: MappedChunks, raw: pl.DataFrame, rows: pl.DataFrame) -> None:
        options, report = self.job_run.options, self.job_run.report
        rows = parse_dates(rows, ["occurred_at"], reader.dates).with_columns(
            blank_to_null(pl.col("kind")).alias("kind_raw"),
            *[
                pl.coalesce(
                    blank_to_null(pl.col(c)).str.replace_all(r"\s+", " "),
                    pl.lit(default, dtype=pl.String),
                ).alias(c)
                for c, default in (("channel", options.channel), ("campaign", options.campaign))
            ],
        )
        kind_key = pl.col("kind_raw").str.to_lowercase().str.replace_all(r"[^a-z0-9]+", " ")
        kind_key = kind_key.str.strip_chars()
        rows = rows.with_columns(
            kind_key.replace_strict(
                KIND_TABLE, default=K.CUSTOM.value, return_dtype=pl.String
            ).alias("kind"),
            kind_key.is_in(list(KIND_TABLE)).alias("_known_kind"),
        )
        rows = attach_contacts(rows)
        value_too_long, too_long_reason = too_long(MAX_LENGTHS)
        rows = rows.with_columns(
            first_reason(
                (pl.col(FIELD_COUNT) > reader.header_width, TOO_MANY_FIELDS),
                (contact_reason().is_not_null(), contact_reason()),
                (pl.col("kind_raw").is_null(), MISSING_KIND),
                (pl.col("occurred_at_raw").is_null(), MISSING_DATE),
                (pl.col("occurred_at").is_null(), INVALID_DATE),
                (value_too_long, too_long_reason),
            )
        )
        usable, rejected = split_rejects(rows)
        reader.reject(rejected, raw)
        unknown = int((~usable["_known_kind"]).sum())
        add_counts(report.warnings, {"kind not recognised (kept as a custom activity)": unknown})

        attributes = [c for c in usable.columns if c.startswith(ATTR_PREFIX)]
        data = [_data(row, attributes) for row in usable.iter_rows(named=True)]
        usable = usable.with_columns(
            pl.Series(HASH, [_hash(d) for d in data], dtype=pl.String),
            pl.Series("_data", [json.dumps(d) for d in data], dtype=pl.String),
        )
        key = [CONTACT_ID, "kind", "occurred_at", HASH]
        first = self.seen.first(usable, pl.struct(key))
        report.skipped_in_file += int((~first).sum())
        usable = usable.filter(first)
        new = usable.join(_existing(usable), on=key, how="anti")
        report.created += new.height
        report.skipped_in_database += usable.height - new.height
        self.by_kind.update(dict(new.group_by("kind").len().rows()))
        earliest = dict(new.group_by(CONTACT_ID).agg(pl.col("occurred_at").min()).iter_rows())
        younger = younger_contacts(earliest)
        self.dated_back.update(younger)
        report.details[DATED_BACK] = len(self.dated_back)
        if options.dry_run:
            _plan_names(new, report)
        else:
            dated = {pk: (at, earliest[pk]) for pk, at in younger.items()}
            _load(new, self.job_run, self.first_touches, dated)


def _data(row: dict, attributes: list[str]) -> dict:
    """What the timeline shows, under the keys it reads for the row's kind."""
    kind = row["kind"]
    data = {k.removeprefix(ATTR_PREFIX): row[k] for k in attributes if row[k] not in (None, "")}
    subject, notes, url = (blank(row[c]) for c in ("subject", "notes", "url"))
    if kind == K.CUSTOM:
        data["name"] = row["kind_raw"]
    if subject:
        data["title" if kind in (K.PAGE_VIEW, K.FORM_SUBMITTED) else "subject"] = subject
    if notes:
        data["text" if kind == K.NOTE else "notes"] = notes
    if url:
        data["url"] = url
    data["source"] = "import"
    return data


def blank(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _hash(data: dict) -> str:
    content = {k: v for k, v in data.items() if k not in PROVENANCE}
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


def _existing(usable: pl.DataFrame) -> pl.DataFrame:
    """The activities we have of the file's contacts, kinds and time span, keyed like it."""
    schema = {
        CONTACT_ID: pl.Int64,
        "kind": pl.String,
        "occurred_at": pl.Datetime("us", "UTC"),
        HASH: pl.String,
    }
    if usable.is_empty():
        return pl.DataFrame(schema=schema)
    span = (usable["occurred_at"].min(), usable["occurred_at"].max())
    kinds = set(usable["kind"].unique().to_list())
    rows = []
    for chunk in chunks(usable[CONTACT_ID].unique().to_list()):
        # By contact and time only: with the kinds too, SQLite walks the (kind, time) index
        # for every chunk instead of the timeline's (contact, time) one. Ten times slower.
        found = Activity.objects.filter(contact_id__in=chunk, occurred_at__range=span)
        found = found.values_list("contact_id", "kind", "occurred_at", "data")
        rows += [(c, k, at, _hash(data or {})) for c, k, at, data in found.iterator() if k in kinds]
    return pl.DataFrame(rows, schema=schema, orient="row")


def _plan_names(new: pl.DataFrame, report) -> None:
    """What a real run would create, found with reads only."""
    campaigns = missing_names(Campaign, new["campaign"].drop_nulls().unique(maintain_order=True))
    channels = set(missing_names(Channel, new["channel"].drop_nulls().unique().to_list()))
    lacking = new.filter(pl.col("campaign").is_in(campaigns) & pl.col("channel").is_null())
    if not lacking.is_empty():
        channels |= set(missing_names(Channel, [UNASSIGNED_CHANNEL]))
    report.campaigns_created = add_names(report.campaigns_created, campaigns)
    report.channels_created = add_names(report.channels_created, channels)


def _load(
    new: pl.DataFrame,
    job_run: ImportRun,
    first_touches: dict[int, datetime],
    dated: dict[int, tuple[datetime, datetime]],
) -> None:
    """The chunk's new activities written, and their contacts' touches moved and, for the
    contacts in `dated` ({id: (created_at, earliest activity)}), creation dated back."""
    report, job = job_run.report, job_run.job
    channels, created = load.ensure_channels(set(new["channel"].drop_nulls().to_list()))
    report.channels_created = add_names(report.channels_created, created)
    pairs = set(new.select("campaign", "channel").drop_nulls("campaign").unique().rows())
    unassigned = None
    if missing_names(Campaign, {name for name, channel in pairs if channel is None}):
        unassigned = ensure_unassigned_channel(report)
    campaigns, created, more = load.ensure_campaigns(pairs, unassigned)
    report.campaigns_created = add_names(report.campaigns_created, created)
    report.channels_created = add_names(report.channels_created, more)

    def touch(row: dict) -> tuple:
        campaign = campaigns.get(row["campaign"].casefold()) if row["campaign"] else None
        channel = channels.get(row["channel"].casefold()) if row["channel"] else None
        return channel or (campaign.channel if campaign else None), campaign

    changes = _move_touches(new, touch, first_touches)
    date_back({pk: earliest for pk, (_, earliest) in dated.items()}, job)
    for pk, (created, earliest) in dated.items():
        before, written = changes.setdefault(pk, ({}, {}))
        before["created_at"], written["created_at"] = created, earliest
    # One record a contact, of its touches and its date, for undo to put back.
    record_contact_updates(job, [(pk, *change) for pk, change in changes.items()])
    for batch in new.iter_slices(BATCH_SIZE):
        activities = []
        for row in batch.iter_rows(named=True):
            channel, campaign = touch(row)
            data = {**json.loads(row["_data"]), "import_job": job.pk, "line": row[LINE]}
            activities.append(
                Activity(
                    contact_id=row[CONTACT_ID],
                    kind=row["kind"],
                    occurred_at=row["occurred_at"],
                    channel=channel,
                    campaign=campaign,
                    data=data,
                )
            )
        bulk_record_activities(activities)


def _move_touches(
    new: pl.DataFrame, touch, first_touches: dict[int, datetime]
) -> dict[int, tuple[dict, dict]]:
    """First touch where a contact has none (or has the one an earlier chunk of this file
    gave it, and this chunk's is earlier); last touch where the file's is the latest.
    Returns each moved contact's touches before and written, for undo.

    Reads the contacts' current first touch and their latest touch on the timeline (one
    query each per 900 contacts) before the new activities are written.
    """
    touched = new.filter(pl.col("channel").is_not_null() | pl.col("campaign").is_not_null())
    if touched.is_empty():
        return {}
    ordered = touched.sort("occurred_at")
    earliest = ordered.unique(CONTACT_ID, keep="first")
    latest = ordered.unique(CONTACT_ID, keep="last")
    ids = earliest[CONTACT_ID].to_list()
    without_first, latest_known = set(), {}
    for chunk in chunks(ids):
        without_first |= set(
            Contact.objects.filter(pk__in=chunk, first_touch_channel__isnull=True).values_list(
                "pk", flat=True
            )
        )
        latest_known |= dict(
            Activity.objects.filter(contact_id__in=chunk, channel__isnull=False)
            .values("contact_id")
            .annotate(at=Max("occurred_at"))
            .values_list("contact_id", "at")
        )
    # Contacts grouped by the touch they get: one UPDATE per touch and chunk (the file has
    # few channels and campaigns), rather than a CASE per row.
    groups: dict[tuple, list[int]] = {}
    for row in earliest.iter_rows(named=True):
        pk, at = row[CONTACT_ID], row["occurred_at"]
        given = first_touches.get(pk)
        if pk in without_first or (given is not None and at < given):
            first_touches[pk] = at
            channel, campaign = touch(row)
            groups.setdefault(("first", channel, campaign), []).append(pk)
    for row in latest.iter_rows(named=True):
        known: datetime | None = latest_known.get(row[CONTACT_ID])
        if known is None or row["occurred_at"] > known:
            channel, campaign = touch(row)
            groups.setdefault(("last", channel, campaign), []).append(row[CONTACT_ID])
    changes = _touches_before(groups)
    now = timezone.now()
    for (which, channel, campaign), pks in groups.items():
        for chunk in chunks(pks):
            Contact.objects.filter(pk__in=chunk).update(
                **{f"{which}_touch_channel": channel, f"{which}_touch_campaign": campaign},
                updated_at=now,
            )
    return changes


TOUCH_FIELDS = (
    "first_touch_channel_id",
    "first_touch_campaign_id",
    "last_touch_channel_id",
    "last_touch_campaign_id",
)


def _touches_before(groups: dict[tuple, list[int]]) -> dict[int, tuple[dict, dict]]:
    """The touches about to be written, with the contacts' touches before, for undo."""
    written: dict[int, dict] = {}
    for (which, channel, campaign), pks in groups.items():
        for pk in pks:
            written.setdefault(pk, {}).update(
                {
                    f"{which}_touch_channel_id": channel.pk if channel else None,
                    f"{which}_touch_campaign_id": campaign.pk if campaign else None,
                }
            )
    before = {}
    for chunk in chunks(list(written)):
        found = Contact.objects.filter(pk__in=chunk).values_list("pk", *TOUCH_FIELDS)
        before.update((pk, dict(zip(TOUCH_FIELDS, values, strict=True))) for pk, *values in found)
    return {pk: changed_fields(before[pk], after) for pk, after in written.items()}
