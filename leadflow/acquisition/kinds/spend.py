"""Spend: ad-platform and finance exports (a day, a campaign or a vendor, an amount).

Google Ads ("Day, Campaign, Cost"), Facebook ("Reporting starts, Campaign name, Amount
spent (USD)") and LinkedIn ("Start Date (in UTC), Campaign Name, Total Spent, Currency")
exports map by synonyms. The currency is the row's currency column, else the one written
in its amount ("€12", "12 EUR"), else the one in the amount's header ("(USD)"), else
`--currency`. `--campaign`, `--vendor` and `--channel` fill rows that name none.

A row is the same spend as one we have when the day, campaign, vendor, amount (to the
cent) and currency are all equal, so importing an export twice, or two overlapping
exports, books each day once. With `--on-duplicate update`, a row that differs from the
one spend row of its day, campaign, vendor and currency only by its amount revises that
amount (ad platforms revise their last days); see `_revisions`.

Campaigns, vendors and channels the file names that do not exist yet are created and
listed in the report; a new campaign without a channel goes under "Unassigned" (kind
"other"), to be moved to its real channel later. Other columns (clicks, impressions,
results) are kept in the spend entry's attributes.
"""

from collections import Counter
from decimal import Decimal

import polars as pl
from django.db.models.functions import Upper

from leadflow.acquisition.kinds.base import (
    UNASSIGNED_CHANNEL,
    FirstSeen,
    ImportRun,
    MappedChunks,
    add_counts,
    add_names,
    changed_fields,
    chunks,
    ensure_unassigned_channel,
    ensure_vendors,
    first_reason,
    mapped_chunks,
    missing_names,
    money,
    record_created,
    record_updated,
    writing,
)
from leadflow.acquisition.models import DuplicatePolicy
from leadflow.acquisition.pipeline import load
from leadflow.acquisition.pipeline.dates import DateOrders, parse_dates
from leadflow.acquisition.pipeline.mapping import (
    currency_in_header,
    merged_attributes,
    row_attributes,
)
from leadflow.acquisition.pipeline.read import FIELD_COUNT, LINE
from leadflow.acquisition.pipeline.validate import TOO_MANY_FIELDS, split_rejects, too_long
from leadflow.acquisition.pipeline.values import (
    amount_and_currency,
    amount_too_large,
    blank_to_null,
    currency_code,
)
from leadflow.contacts.models import Campaign, Channel, Spend, Vendor

KIND = "spend"
BATCH_SIZE = 1000
NOTE_LENGTH = 200
MAX_LENGTHS = {"campaign": 200, "vendor": 200, "channel": 100}

MISSING_DATE = "missing date"
INVALID_DATE = "date is not a date"
MISSING_AMOUNT = "missing amount"
INVALID_AMOUNT = "amount is not a number"
NEGATIVE_AMOUNT = "amount is negative"
AMOUNT_TOO_LARGE = "amount is too large"
INVALID_CURRENCY = "currency is not an ISO 4217 code (USD, EUR...)"
NO_CAMPAIGN_OR_VENDOR = "no campaign or vendor"

CENTS = "_cents"
SPEND_ID = "_spend_id"
SLOT = ["spent_on", "_campaign_u", "_vendor_u", "currency"]  # a day of a campaign or vendor
KEY = (*SLOT, CENTS)


def run(job_run: ImportRun) -> None:
    """Read, map, normalise, validate, deduplicate and load spend, a chunk at a time."""
    report = job_run.report
    run = SpendRun(job_run)
    with mapped_chunks(job_run, KIND) as reader, writing(job_run.options):
        amount_header = next((h for h, f in report.mapping.items() if f == "amount"), "")
        header_currency = currency_in_header(amount_header)
        for raw, rows in reader:
            run.chunk(reader, raw, _normalise(rows, job_run.options, header_currency, reader.dates))
    for name, counted in (
        ("amount_by_currency", run.cents),
        ("revised_amount_by_currency", run.revised_cents),
    ):
        amounts = sorted(counted.items())
        report.details[name] = {c: str(money(Decimal(cents) / 100)) for c, cents in amounts}


class SpendRun:
    """What a spend import keeps from chunk to chunk: the keys of the rows kept so far, the
    spend it booked (not to be taken for a revision by a later row), and the totals."""

    def __init__(self, job_run: ImportRun) -> None:
        self.job_run = job_run
        self.seen = FirstSeen()
        self.booked: set[int] = set()
        self.cents: Counter[str] = Counter()  # of new spend rows
        self.revised_cents: Counter[str] = Counter()  # what revised rows now say

    def chunk(self, reader: MappedChunks, raw: pl.DataFrame, rows: pl.DataFrame) -> None:
        options, report = self.job_run.options, self.job_run.report
        amount = pl.col("amount")
        value_too_long, too_long_reason = too_long(MAX_LENGTHS)
        rows = rows.with_columns(
            first_reason(
                (pl.col(FIELD_COUNT) > reader.header_width, TOO_MANY_FIELDS),
                (pl.col("spent_on_raw").is_null(), MISSING_DATE),
                (pl.col("spent_on").is_null(), INVALID_DATE),
                (pl.col("amount_raw").is_null(), MISSING_AMOUNT),
                (amount.is_null(), INVALID_AMOUNT),
                (amount.str.starts_with("-"), NEGATIVE_AMOUNT),
                (amount_too_large(amount), AMOUNT_TOO_LARGE),
                (pl.col("currency").is_null(), INVALID_CURRENCY),
                (pl.col("campaign").is_null() & pl.col("vendor").is_null(), NO_CAMPAIGN_OR_VENDOR),
                (value_too_long, too_long_reason),
            )
        )
        usable, rejected = split_rejects(rows)
        reader.reject(rejected, raw)
        note_warning = f"note longer than {NOTE_LENGTH} characters (cut)"
        add_counts(
            report.warnings,
            {note_warning: int((usable["note"].str.len_chars() > NOTE_LENGTH).sum() or 0)},
        )
        usable = usable.with_columns(
            (amount.cast(pl.Float64) * 100).round(0).cast(pl.Int64).alias(CENTS),
            pl.col("campaign").str.to_uppercase().alias("_campaign_u"),
            pl.col("vendor").str.to_uppercase().alias("_vendor_u"),
            pl.col("note").str.slice(0, NOTE_LENGTH).alias("note"),
        )
        first = self.seen.first(usable, pl.struct(KEY))
        report.skipped_in_file += int((~first).sum())
        usable = usable.filter(first)
        existing = _existing(usable).filter(~pl.col(SPEND_ID).is_in(list(self.booked)))
        new = usable.join(existing.unique(KEY), on=KEY, how="anti", nulls_equal=True)
        changed = new.clear().with_columns(pl.lit(None, dtype=pl.Int64).alias(SPEND_ID))
        if options.on_duplicate == DuplicatePolicy.UPDATE:
            new, changed = _revisions(usable, new, existing)
        report.created += new.height
        report.updated += changed.height
        report.skipped_in_database += usable.height - new.height - changed.height
        self.cents.update(dict(new.group_by("currency").agg(pl.col(CENTS).sum()).rows()))
        self.revised_cents.update(
            dict(changed.group_by("currency").agg(pl.col(CENTS).sum()).rows())
        )
        if options.dry_run:
            _plan_names(new, report)
            return
        booked = _load(new, options, report)
        record_created(self.job_run.job, Spend, booked)
        self.booked |= booked
        _revise(changed, self.job_run.job)


def _revisions(
    usable: pl.DataFrame, new: pl.DataFrame, existing: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """With `--on-duplicate update`: the new rows that are a revised amount of spend we have.

    Ad platforms revise the last days' figures, so a weekly "last 30 days" export repeats a
    day with another amount. A row is such a revision when its day, campaign, vendor and
    currency are those of exactly one spend row of ours and of no other row of the file;
    that row's amount (and note, and the attributes the row gives) is replaced. Anything
    less clear-cut is new spend.
    """
    one = pl.len().over(SLOT) == 1
    single_in_file = usable.filter(one).select(SLOT)
    single_booked = existing.filter(one).select(*SLOT, SPEND_ID)
    revised = new.join(single_in_file, on=SLOT, how="semi", nulls_equal=True).join(
        single_booked, on=SLOT, how="inner", nulls_equal=True
    )
    new = new.join(revised.select(LINE), on=LINE, how="anti")
    return new, revised


def _revise(changed: pl.DataFrame, job) -> None:
    stored = {}
    for chunk in chunks(changed[SPEND_ID].to_list()):
        found = Spend.objects.filter(pk__in=chunk).values_list("pk", *REVISED)
        stored.update((pk, dict(zip(REVISED, values, strict=True))) for pk, *values in found)
    revised, records = [], []
    for row in changed.iter_rows(named=True):
        before = stored[row[SPEND_ID]]
        after = {
            "amount": Decimal(row[CENTS]) / 100,
            "note": row["note"] or "",
            "attributes": merged_attributes(
                before["attributes"] or {}, row_attributes(row), replace=True
            ),
        }
        revised.append(Spend(pk=row[SPEND_ID], **after))
        records.append((row[SPEND_ID], *changed_fields(before, after)))
    Spend.objects.bulk_update(revised, list(REVISED), batch_size=BATCH_SIZE)
    record_updated(job, Spend, records)


REVISED = ("amount", "note", "attributes")


def _normalise(
    rows: pl.DataFrame, options, header_currency: str | None, dates: DateOrders
) -> pl.DataFrame:
    amount, written_currency = amount_and_currency("amount")

    def named(column: str, default: str | None) -> pl.Expr:
        value = blank_to_null(pl.col(column)).str.replace_all(r"\s+", " ")
        return pl.coalesce(value, pl.lit(default, dtype=pl.String)).alias(column)

    rows = parse_dates(rows, ["spent_on"], dates).with_columns(
        blank_to_null(pl.col("amount")).alias("amount_raw"),
        amount.alias("amount"),
        pl.when(blank_to_null(pl.col("currency")).is_not_null())
        .then(currency_code(pl.col("currency")))
        .otherwise(
            pl.coalesce(
                written_currency,
                pl.lit(header_currency, dtype=pl.String),
                pl.lit(options.currency.upper(), dtype=pl.String),
            )
        )
        .alias("currency"),
        named("campaign", options.campaign),
        named("vendor", options.vendor),
        named("channel", options.channel),
        blank_to_null(pl.col("note")).alias("note"),
    )
    return rows.with_columns(pl.col("spent_on").dt.date())


def _existing(usable: pl.DataFrame) -> pl.DataFrame:
    """The spend already booked on the file's days, keyed like the file's rows."""
    schema = {
        "spent_on": pl.Date,
        "_campaign_u": pl.String,
        "_vendor_u": pl.String,
        "_amount": pl.String,
        "currency": pl.String,
        SPEND_ID: pl.Int64,
    }
    if usable.is_empty():
        return pl.DataFrame(schema={**schema, CENTS: pl.Int64}).drop("_amount")
    first_day, last_day = usable["spent_on"].min(), usable["spent_on"].max()
    booked = (
        Spend.objects.filter(spent_on__range=(first_day, last_day))
        .annotate(c=Upper("campaign__name"), v=Upper("vendor__name"))
        .values_list("spent_on", "c", "v", "amount", "currency", "pk")
    )
    rows = [(day, c, v, str(amount), cur, pk) for day, c, v, amount, cur, pk in booked.iterator()]
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    return frame.with_columns(
        (pl.col("_amount").cast(pl.Float64) * 100).round(0).cast(pl.Int64).alias(CENTS)
    ).drop("_amount")


def _names(new: pl.DataFrame, column: str) -> list[str]:
    """The names in a column, each once, in the order the file first gives them."""
    return new[column].drop_nulls().unique(maintain_order=True).to_list()


def _plan_names(new: pl.DataFrame, report) -> None:
    """What a real run would create, found with reads only (added to earlier chunks')."""
    campaigns = missing_names(Campaign, _names(new, "campaign"))
    report.campaigns_created = add_names(report.campaigns_created, campaigns)
    vendors = missing_names(Vendor, _names(new, "vendor"))
    report.vendors_created = add_names(report.vendors_created, vendors)
    channels = set(missing_names(Channel, _names(new, "channel")))
    lacking = new.filter(pl.col("campaign").is_in(campaigns) & pl.col("channel").is_null())
    if not lacking.is_empty():
        channels |= set(missing_names(Channel, {UNASSIGNED_CHANNEL}))
    report.channels_created = add_names(report.channels_created, channels)


def _load(new: pl.DataFrame, options, report) -> set[int]:
    """Books the new spend, creating the channels, campaigns and vendors it names; the ids
    of the spend booked."""
    channels, created = load.ensure_channels(set(_names(new, "channel")))
    report.channels_created = add_names(report.channels_created, created)
    pairs = set(new.select("campaign", "channel").drop_nulls("campaign").unique().rows())
    default_channel = None
    if missing_names(Campaign, {name for name, channel in pairs if channel is None}):
        default_channel = ensure_unassigned_channel(report)
    campaigns, created, more = load.ensure_campaigns(pairs, default_channel)
    report.campaigns_created = add_names(report.campaigns_created, created)
    report.channels_created = add_names(report.channels_created, more)
    vendors, created = ensure_vendors(_names(new, "vendor"))
    report.vendors_created = add_names(report.vendors_created, created)
    booked = set()
    for batch in new.iter_slices(BATCH_SIZE):
        booked |= {
            spend.pk
            for spend in Spend.objects.bulk_create(
                [
                    Spend(
                        spent_on=row["spent_on"],
                        amount=Decimal(row[CENTS]) / 100,
                        currency=row["currency"],
                        campaign=campaigns.get(row["campaign"].casefold())
                        if row["campaign"]
                        else None,
                        vendor=vendors.get(row["vendor"].casefold()) if row["vendor"] else None,
                        note=row["note"] or "",
                        attributes=row_attributes(row),
                    )
                    for row in batch.iter_rows(named=True)
                ]
            )
        }
    return booked
