"""Deals: a company's past pipeline, with its real dates, so its funnel can be measured.

A row names its contact by `contact_email` or `contact_external_id`; a contact we do not
have rejects the row (import the contacts first). The stage is open, won, lost, a stage of
the pipeline (qualification, discovery, proposal, negotiation) or a common CRM spelling
of one ("Closed Won", "Proposal/Price Quote", HubSpot's "contractsent"); a stage we cannot
read ("Engaging") is kept as the attribute crm_stage and counts as none given. Without a
stage, a won_at date makes the deal won and a lost_at date lost, else it is open.
`closed_at` ("Close Date") is the won or lost date of a closed deal that has no column of
its own for it, and an open deal's expected close date when it has no expected_close_on.

A deal is the same as one we have when its `external_id` (the CRM's deal or opportunity
id) is that deal's; else when it is of the same contact, has the same name
(case-insensitively) and was created the same day (UTC), and the two do not have two
different external ids; a row without created_at matches by contact and name alone.
Re-importing a file adds nothing. An external id is filled, never replaced. Columns with
no field of their own are kept in the deal's custom attributes.

Each new deal gets its DEAL_CREATED, DEAL_WON or DEAL_LOST activity at its own dates. Its
contact moves on the lifecycle as the deal did: to opportunity when the deal was created
(from subscriber, lead, MQL or SQL) and to customer when it was won, each with its
StageChange (source "deal import") and STAGE_CHANGED activity dated then, in bulk, without
a service call or an event per row: importing history does not send webhooks or rescore.
A contact younger than its first deal is dated back to it, with the change that opened its
history (`base.date_back`), so the history reads in order.
(`sales.services` itself does not change a contact's stage on a win yet; this follows the
lifecycle that `leadflow demo` writes.)

This kind lives in `sales` (which sits above `acquisition` in the layers and may use its
pipeline); `SalesConfig.ready` registers it as the runner of `--kind deals`.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import polars as pl
from django.db.models.functions import Lower, TruncDate
from django.utils import timezone

from leadflow.accounts.models import User
from leadflow.acquisition.kinds.base import (
    CONTACT_ID,
    FirstSeen,
    ImportRun,
    MappedChunks,
    add_counts,
    attach_contacts,
    changed_fields,
    chunks,
    contact_reason,
    date_back,
    first_reason,
    mapped_chunks,
    money,
    record_contact_updates,
    record_created,
    record_updated,
    writing,
)
from leadflow.acquisition.models import DuplicatePolicy
from leadflow.acquisition.pipeline.dates import DateOrders, parse_dates
from leadflow.acquisition.pipeline.mapping import ATTR_PREFIX, merged_attributes, row_attributes
from leadflow.acquisition.pipeline.read import FIELD_COUNT, LINE
from leadflow.acquisition.pipeline.validate import TOO_MANY_FIELDS, split_rejects, too_long
from leadflow.acquisition.pipeline.values import (
    amount_and_currency,
    amount_too_large,
    blank_to_null,
    currency_code,
)
from leadflow.contacts.models import (
    Activity,
    ActivityKind,
    Contact,
    LifecycleStage,
    StageChange,
)
from leadflow.contacts.services import bulk_record_activities, change_stage
from leadflow.sales.models import Deal

KIND = "deals"
BATCH_SIZE = 1000
SOURCE = "deal import"
# Reported: contacts whose creation (and first stage) moved back to their first deal's date.
DATED_BACK = "contacts dated back to their first deal"
WON, LOST, QUALIFICATION = "won", "lost", "qualification"
PIPELINE = ("qualification", "discovery", "proposal", "negotiation")
BEFORE_OPPORTUNITY = (
    LifecycleStage.SUBSCRIBER,
    LifecycleStage.LEAD,
    LifecycleStage.MQL,
    LifecycleStage.SQL,
)
CUSTOMER_ALREADY = (LifecycleStage.CUSTOMER, LifecycleStage.ADVOCATE)
REASON_LENGTH = 200
DEAL_ID = "_deal_id"
BY_ID = "_by_id"  # the row found its deal by its external id

MISSING_NAME = "missing name"
STAGE_UNREAD = "_stage_unread"
STAGE_ATTRIBUTE = f"{ATTR_PREFIX}crm_stage"
UNREAD_STAGE_WARNING = "stage not recognised (open, or closed as its dates say; kept as crm_stage)"
INVALID_AMOUNT = "amount is not a number"
NEGATIVE_AMOUNT = "amount is negative"
AMOUNT_TOO_LARGE = "amount is too large"
INVALID_CURRENCY = "currency is not an ISO 4217 code (USD, EUR...)"
NO_WON_DATE = "won deal without won_at (or closed_at)"
NO_LOST_DATE = "lost deal without lost_at (or closed_at)"
CLOSED_BEFORE_CREATED = "won_at or lost_at is before created_at"
DATE_FIELDS = ("created_at", "won_at", "lost_at", "closed_at", "expected_close_on")

# Stage spellings of CRMs (compared lower-case, with anything but letters and digits as one
# space): Salesforce's default pipeline, HubSpot's internal and display names, Pipedrive's
# and Odoo's defaults, and plain words.
STAGES = {
    "open": QUALIFICATION, "new": QUALIFICATION, "qualification": QUALIFICATION,
    "qualified": QUALIFICATION, "prospecting": QUALIFICATION, "lead": QUALIFICATION,
    "appointment scheduled": QUALIFICATION, "appointmentscheduled": QUALIFICATION,
    "qualified to buy": QUALIFICATION, "qualifiedtobuy": QUALIFICATION,
    "lead in": QUALIFICATION, "contact made": QUALIFICATION, "engaging": "discovery",
    "demo scheduled": "discovery", "proposal made": "proposal", "proposition": "proposal",
    "negotiations started": "negotiation",
    "discovery": "discovery", "needs analysis": "discovery", "value proposition": "discovery",
    "id decision makers": "discovery", "perception analysis": "discovery", "demo": "discovery",
    "presentation scheduled": "discovery", "presentationscheduled": "discovery",
    "proposal": "proposal", "proposal sent": "proposal", "proposal price quote": "proposal",
    "quote": "proposal", "quote sent": "proposal", "decision maker bought in": "proposal",
    "decisionmakerboughtin": "proposal",
    "negotiation": "negotiation", "negotiation review": "negotiation",
    "contract sent": "negotiation", "contractsent": "negotiation", "contract": "negotiation",
    "won": WON, "closed won": WON, "closedwon": WON, "win": WON,
    "lost": LOST, "closed lost": LOST, "closedlost": LOST, "loss": LOST,
}  # fmt: skip


def run(job_run: ImportRun) -> None:
    """Read, map, find contacts, validate, deduplicate and load deals, a chunk at a time;
    then move the contacts' lifecycle as all of the file's deals went."""
    options, report = job_run.options, job_run.report
    run = DealsRun(job_run)
    with mapped_chunks(job_run, KIND) as reader, writing(options):
        for raw, rows in reader:
            run.chunk(reader, raw, attach_contacts(_normalise(rows, options, reader.dates)))
        # A deal won since the last import moves its contact as a new won deal does.
        moving = pl.concat(run.moving) if run.moving else pl.DataFrame(schema=MOVE_SCHEMA)
        job_id = None if options.dry_run else job_run.job.pk
        moves = _stage_moves(moving, write=not options.dry_run, job_id=job_id)
    report.details.update({**run.details, **moves})


class DealsRun:
    """What a deals import keeps from chunk to chunk: the external ids and keys of the rows
    kept so far, the deals earlier rows found or created (a later row that finds one again
    is an in-file duplicate), the counts, and the deals that move their contacts."""

    def __init__(self, job_run: ImportRun) -> None:
        self.job_run = job_run
        self.ids, self.keys = FirstSeen(), FirstSeen()
        self.taken: set[int] = set()
        self.moving: list[pl.DataFrame] = []
        self.details = {"won": 0, "lost": 0, "open": 0, "updated deals won": 0,
                        "updated deals lost": 0}  # fmt: skip

    def chunk(self, reader: MappedChunks, raw: pl.DataFrame, rows: pl.DataFrame) -> None:
        options, report = self.job_run.options, self.job_run.report
        usable, rejected = split_rejects(rows.with_columns(_reason(reader.header_width)))
        reader.reject(rejected, raw)
        usable, owners_missing = _owners(usable)
        add_counts(
            report.warnings,
            {
                "owner not found (the contact's owner is the deal's)": owners_missing,
                UNREAD_STAGE_WARNING: int(usable[STAGE_UNREAD].sum()),
                "created_at missing (the close date, else the import's time, is used)": int(
                    usable["created_at_raw"].is_null().sum()
                ),
                f"lost_reason longer than {REASON_LENGTH} characters (cut)": int(
                    (usable["lost_reason"].str.len_chars() > REASON_LENGTH).sum() or 0
                ),
            },
        )
        usable = usable.with_columns(
            pl.col("name").str.to_lowercase().alias("_name_key"),
            pl.col("created_at").dt.date().alias("_day"),
        )
        # One row per deal: an external id names one, else its contact, name and day. Two
        # rows that found the same deal of ours: the one that found it by its id, else the
        # first, is it; a later one with an id of its own is another deal, one without is
        # the same again.
        named = usable.filter(pl.col("external_id").is_not_null())
        usable = pl.concat(
            [
                usable.filter(pl.col("external_id").is_null()),
                named.filter(self.ids.first(named, pl.col("external_id"))),
            ]
        ).sort(LINE)
        again = ~self.keys.first(usable, pl.struct(CONTACT_ID, "_name_key", "_day"))
        usable = _match(usable.filter(~(usable["external_id"].is_null() & again)))
        usable = usable.sort(~pl.col(BY_ID), LINE)
        repeated = pl.col(DEAL_ID).is_not_null() & (
            ~pl.col(DEAL_ID).is_first_distinct() | pl.col(DEAL_ID).is_in(list(self.taken))
        )
        another = repeated & pl.col("external_id").is_not_null()
        usable = usable.with_columns(
            pl.when(another).then(None).otherwise(pl.col(DEAL_ID)).alias(DEAL_ID),
            (repeated & ~another).alias("_again"),
        )
        usable = usable.filter(~pl.col("_again")).sort(LINE)
        report.skipped_in_file += rows.height - rejected.height - usable.height
        new = usable.filter(pl.col(DEAL_ID).is_null())
        matched = usable.filter(pl.col(DEAL_ID).is_not_null())
        changes = Changes()
        if options.on_duplicate != DuplicatePolicy.SKIP:
            changes = _changes(matched, replace=options.on_duplicate == DuplicatePolicy.UPDATE)
        report.created += new.height
        if options.on_duplicate == DuplicatePolicy.MERGE:  # as contacts count them
            report.merged += len(changes.deals)
        else:
            report.updated += len(changes.deals)
        report.skipped_in_database += matched.height - len(changes.deals)
        add_counts(
            self.details,
            {
                "won": int((new["stage"] == WON).sum()),
                "lost": int((new["stage"] == LOST).sum()),
                "open": int(new["stage"].is_in(PIPELINE).sum()),
                "updated deals won": int((changes.moved["stage"] == WON).sum()),
                "updated deals lost": int((changes.moved["stage"] == LOST).sum()),
            },
        )
        self.moving += [new.select(changes.moved.columns), changes.moved]
        self.taken |= set(matched[DEAL_ID].to_list())
        if not options.dry_run:
            job_id = self.job_run.job.pk
            created = _insert(new, job_id)
            record_created(job_id, Deal, created)
            self.taken |= created
            _apply(changes, job_id)
            record_updated(job_id, Deal, changes.records)


def _reason(header_width: int) -> pl.Expr:
    """Why a row (its contact attached) cannot be a deal, or null."""
    amount = pl.col("amount")
    closed = pl.col("won_at").is_not_null() | pl.col("lost_at").is_not_null()
    closed_early = (pl.col("won_at") < pl.col("created_at")) | (
        pl.col("lost_at") < pl.col("created_at")
    )
    return first_reason(
        (pl.col(FIELD_COUNT) > header_width, TOO_MANY_FIELDS),
        (contact_reason().is_not_null(), contact_reason()),
        (pl.col("name").is_null(), MISSING_NAME),
        (pl.col("_bad_date").is_not_null(), pl.col("_bad_date")),
        (pl.col("amount_raw").is_not_null() & amount.is_null(), INVALID_AMOUNT),
        (amount.str.starts_with("-"), NEGATIVE_AMOUNT),
        (amount_too_large(amount), AMOUNT_TOO_LARGE),
        (pl.col("currency").is_null(), INVALID_CURRENCY),
        ((pl.col("stage") == WON) & pl.col("won_at").is_null(), NO_WON_DATE),
        ((pl.col("stage") == LOST) & pl.col("lost_at").is_null(), NO_LOST_DATE),
        (closed & closed_early, CLOSED_BEFORE_CREATED),
        too_long({"name": 200, "external_id": 100}),
    )


def _normalise(rows: pl.DataFrame, options, dates: DateOrders) -> pl.DataFrame:
    amount, written_currency = amount_and_currency("amount")
    stage_key = (
        blank_to_null(pl.col("stage"))
        .str.to_lowercase()
        .str.replace_all(r"[^a-z0-9]+", " ")
        .str.strip_chars()
    )
    rows = parse_dates(rows, list(DATE_FIELDS), dates)
    bad_date = [pl.col(f"{f}_raw").is_not_null() & pl.col(f).is_null() for f in DATE_FIELDS]
    rows = rows.with_columns(
        pl.coalesce(
            pl.when(bad).then(pl.lit(f"{f} is not a date"))
            for f, bad in zip(DATE_FIELDS, bad_date, strict=True)
        ).alias("_bad_date"),
        blank_to_null(pl.col("name")).str.replace_all(r"\s+", " ").alias("name"),
        blank_to_null(pl.col("external_id")).alias("external_id"),
        blank_to_null(pl.col("amount")).alias("amount_raw"),
        amount.alias("amount"),
        pl.when(blank_to_null(pl.col("currency")).is_not_null())
        .then(currency_code(pl.col("currency")))
        .otherwise(pl.coalesce(written_currency, pl.lit(options.currency.upper())))
        .alias("currency"),
        blank_to_null(pl.col("stage")).alias("stage_raw"),
        (blank_to_null(pl.col("currency")).is_not_null() | written_currency.is_not_null()).alias(
            "_currency_given"
        ),
        pl.coalesce(
            stage_key.replace_strict(STAGES, default=None, return_dtype=pl.String),
            # "Closed Lost to Competition", "Won - signed": a CRM's own names of the ends.
            pl.when(stage_key.str.contains(r"\b(won|win)\b"))
            .then(pl.lit(WON))
            .when(stage_key.str.contains(r"\b(lost|loss)\b"))
            .then(pl.lit(LOST)),
        ).alias("stage"),
        blank_to_null(pl.col("lost_reason")).alias("lost_reason"),
        blank_to_null(pl.col("owner")).str.to_lowercase().alias("owner"),
    )
    # A stage we cannot read ("Engaging", "Contact Made") is kept in the deal's attributes
    # and counts as none given: the dates say how it ended, else it is open; a closed
    # deal's date is its close date.
    rows = rows.with_columns(
        pl.any_horizontal(
            pl.col(c).is_not_null() for c in ("stage", "won_at_raw", "lost_at_raw")
        ).alias("_stage_given"),
        (pl.col("stage_raw").is_not_null() & pl.col("stage").is_null()).alias(STAGE_UNREAD),
    )
    if STAGE_ATTRIBUTE not in rows.columns:
        rows = rows.with_columns(
            pl.when(pl.col(STAGE_UNREAD)).then(pl.col("stage_raw")).alias(STAGE_ATTRIBUTE)
        )
    stage = (
        pl.when(pl.col("stage").is_not_null())
        .then(pl.col("stage"))
        .when(pl.col("won_at").is_not_null())
        .then(pl.lit(WON))
        .when(pl.col("lost_at").is_not_null())
        .then(pl.lit(LOST))
        .otherwise(pl.lit(QUALIFICATION))
    )
    rows = rows.with_columns(stage.alias("stage"))
    won = pl.col("stage") == WON
    lost = pl.col("stage") == LOST
    rows = rows.with_columns(
        pl.when(won).then(pl.coalesce("won_at", "closed_at")).otherwise(None).alias("won_at"),
        pl.when(lost).then(pl.coalesce("lost_at", "closed_at")).otherwise(None).alias("lost_at"),
        # An open deal's "Close Date" is when it is expected to close (Salesforce, HubSpot).
        pl.when(won | lost)
        .then(pl.col("expected_close_on"))
        .otherwise(pl.coalesce("expected_close_on", "closed_at"))
        .dt.date()
        .alias("expected_close_on"),
    )
    return rows.with_columns(
        pl.coalesce("created_at", "won_at", "lost_at").alias("created_at"),
        pl.when(lost).then(pl.col("lost_reason")).otherwise(None).alias("lost_reason"),
    )


def _owners(usable: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """Adds `_owner_id` from a username or an email; and how many owners were not found."""
    names = usable["owner"].drop_nulls().unique().to_list()
    found = {}
    for chunk in chunks(names):
        users = User.objects.annotate(u=Lower("username"), e=Lower("email"))
        found.update((u, pk) for pk, u in users.filter(u__in=chunk).values_list("pk", "u"))
        for pk, email in users.filter(e__in=chunk).values_list("pk", "e"):
            found.setdefault(email, pk)
    owner_id = pl.col("owner").replace_strict(found, default=None, return_dtype=pl.Int64)
    usable = usable.with_columns(owner_id.alias("_owner_id"))
    missing = usable.select((pl.col("owner").is_not_null() & pl.col("_owner_id").is_null()).sum())
    return usable, int(missing.item())


def _match(usable: pl.DataFrame) -> pl.DataFrame:
    """Adds DEAL_ID, the deal we have that a row is, and BY_ID: the deal with the row's
    external id; else the same contact, name and day of creation (or, for a row that gives
    no created_at, the same contact and name) unless both have external ids; the oldest
    such deal if there are several."""
    by_id = []
    for chunk in chunks(usable["external_id"].drop_nulls().to_list()):
        by_id += Deal.objects.filter(external_id__in=chunk).values_list("external_id", "pk")
    usable = usable.join(
        pl.DataFrame(by_id, schema={"external_id": pl.String, DEAL_ID: pl.Int64}, orient="row"),
        on="external_id",
        how="left",
    ).with_columns(pl.col(DEAL_ID).is_not_null().alias(BY_ID))
    rows = []
    for chunk in chunks(usable.filter(~pl.col(BY_ID))[CONTACT_ID].unique().to_list()):
        rows += (
            Deal.objects.filter(contact_id__in=chunk)
            .annotate(n=Lower("name"), d=TruncDate("created_at", tzinfo=UTC))
            .order_by("pk")
            .values_list("contact_id", "n", "d", "pk", "external_id")
        )
    schema = {CONTACT_ID: pl.Int64, "_name_key": pl.String, "_day": pl.Date,
              "_found": pl.Int64, "_found_id": pl.String}  # fmt: skip
    existing = pl.DataFrame(rows, schema=schema, orient="row")
    rest = usable.filter(~pl.col(BY_ID)).select(LINE, CONTACT_ID, "_name_key", "_day",
                                                "external_id", "created_at_raw")  # fmt: skip
    dated_key, undated_key = [CONTACT_ID, "_name_key", "_day"], [CONTACT_ID, "_name_key"]
    dated = rest.filter(pl.col("created_at_raw").is_not_null()).join(
        existing, on=dated_key, how="inner"
    )
    undated = rest.filter(pl.col("created_at_raw").is_null()).join(
        existing.drop("_day"), on=undated_key, how="inner"
    )
    found = (
        pl.concat(
            [
                dated.select(LINE, "external_id", "_found", "_found_id"),
                undated.select(LINE, "external_id", "_found", "_found_id"),
            ]
        )  # fmt: skip
        .filter(pl.col("external_id").is_null() | pl.col("_found_id").is_null())
        .sort(LINE, "_found")
        .unique(LINE, keep="first", maintain_order=True)
        .select(LINE, pl.col("_found").alias(DEAL_ID))
    )
    return usable.update(found, on=LINE, how="left")


@dataclass
class Changes:
    """What `--on-duplicate update|merge` does to deals we have."""

    deals: list = field(default_factory=list)  # Deal instances with their new values
    # (deal id, {field: before}, {field: written}) of each, for undo
    records: list[tuple[int, dict, dict]] = field(default_factory=list)
    activities: list[Activity] = field(default_factory=list)  # DEAL_WON / DEAL_LOST
    # The deals that were closed by this import, shaped like new rows for _stage_moves.
    moved: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=MOVE_SCHEMA))


MOVE_SCHEMA = {
    CONTACT_ID: pl.Int64,
    "name": pl.String,
    "stage": pl.String,
    "created_at": pl.Datetime("us", "UTC"),
    "won_at": pl.Datetime("us", "UTC"),
    "lost_at": pl.Datetime("us", "UTC"),
}
UPDATABLE = ("amount", "currency", "stage", "won_at", "lost_at", "lost_reason", "owner_id",
             "expected_close_on", "external_id", "attributes")  # fmt: skip


def _changes(matched: pl.DataFrame, *, replace: bool) -> Changes:
    """The deals a re-import changes. `update` (replace): what the file gives replaces what
    is stored, the stage and its dates included, so a deal won since the last export is
    won now, at its date. `merge`: only empty values are filled (amount 0, no lost reason,
    no owner, no expected close); the stage is left alone."""
    stored = {}
    for chunk in chunks(matched[DEAL_ID].to_list()):
        stored.update((d.pk, d) for d in Deal.objects.filter(pk__in=chunk))
    changes = Changes()
    moved = []
    for row in matched.iter_rows(named=True):
        deal = stored[row[DEAL_ID]]
        given = {
            "amount": money(Decimal(row["amount"])) if row["amount"] is not None else None,
            "currency": row["currency"] if row["_currency_given"] else None,
            "lost_reason": (row["lost_reason"] or "")[:REASON_LENGTH] or None,
            "owner_id": row["_owner_id"],
            "expected_close_on": row["expected_close_on"],
        }
        before = {f: getattr(deal, f) for f in UPDATABLE}
        before["attributes"] = dict(deal.attributes or {})
        for name, value in given.items():
            empty = getattr(deal, name) in (None, "", Decimal(0))
            if value is not None and (replace or empty):
                setattr(deal, name, value)
        deal.external_id = deal.external_id or row["external_id"]
        deal.attributes = merged_attributes(
            before["attributes"], row_attributes(row), replace=replace
        )
        if replace and row["_stage_given"]:
            deal.stage, deal.won_at, deal.lost_at = row["stage"], row["won_at"], row["lost_at"]
            if deal.stage != LOST:
                deal.lost_reason = ""
        after = {f: getattr(deal, f) for f in UPDATABLE}
        if after == before:
            continue
        changes.deals.append(deal)
        changes.records.append((deal.pk, *changed_fields(before, after)))
        closed_now = deal.stage in (WON, LOST) and before["stage"] != deal.stage
        if closed_now:
            changes.activities += _closing_activity(deal, row)
            moved.append(
                (deal.contact_id, deal.name, deal.stage, deal.created_at, deal.won_at, deal.lost_at)
            )
    changes.moved = pl.DataFrame(moved, schema=MOVE_SCHEMA, orient="row")
    return changes


def _closing_activity(deal, row: dict) -> list[Activity]:
    common = {"deal_id": deal.pk, "name": deal.name, "source": "import", "line": row[LINE]}
    if deal.stage == WON:
        data = {**common, "amount": str(deal.amount), "currency": deal.currency}
        return [Activity(contact_id=deal.contact_id, kind=ActivityKind.DEAL_WON,
                         occurred_at=deal.won_at, data=data)]  # fmt: skip
    data = {**common, "reason": deal.lost_reason}
    return [Activity(contact_id=deal.contact_id, kind=ActivityKind.DEAL_LOST,
                     occurred_at=deal.lost_at, data=data)]  # fmt: skip


def _apply(changes: Changes, job_id: int) -> None:
    now = timezone.now()
    for deal in changes.deals:
        deal.updated_at = now
    for activity in changes.activities:
        activity.data["import_job"] = job_id
    Deal.objects.bulk_update(changes.deals, [*UPDATABLE, "updated_at"], batch_size=BATCH_SIZE)
    bulk_record_activities(changes.activities)


def _insert(new: pl.DataFrame, job_id: int) -> set[int]:
    """Creates the new deals and their activities; the deals' ids."""
    now = timezone.now()
    created = set()
    for batch in new.iter_slices(BATCH_SIZE):
        rows = list(batch.iter_rows(named=True))
        contacts = {
            pk: (company_id, owner_id)
            for pk, company_id, owner_id in Contact.objects.filter(
                pk__in=[r[CONTACT_ID] for r in rows]
            ).values_list("pk", "company_id", "owner_id")
        }
        deals = Deal.objects.bulk_create(
            [
                Deal(
                    name=row["name"],
                    contact_id=row[CONTACT_ID],
                    company_id=contacts[row[CONTACT_ID]][0],
                    owner_id=row["_owner_id"] or contacts[row[CONTACT_ID]][1],
                    amount=money(Decimal(row["amount"] or 0)),
                    currency=row["currency"],
                    stage=row["stage"],
                    expected_close_on=row["expected_close_on"],
                    won_at=row["won_at"],
                    lost_at=row["lost_at"],
                    lost_reason=(row["lost_reason"] or "")[:REASON_LENGTH],
                    external_id=row["external_id"],
                    attributes=row_attributes(row),
                    created_at=row["created_at"] or now,
                )
                for row in rows
            ]
        )
        bulk_record_activities(_activities(deals, rows, job_id))
        created |= {deal.pk for deal in deals}
    return created


def _activities(deals, rows: list[dict], job_id: int) -> list[Activity]:
    made = []
    for deal, row in zip(deals, rows, strict=True):
        common = {"deal_id": deal.pk, "name": deal.name, "source": "import"}
        provenance = {"import_job": job_id, "line": row[LINE]}
        money_data = {"amount": str(deal.amount), "currency": deal.currency}
        made.append(
            Activity(
                contact_id=deal.contact_id,
                kind=ActivityKind.DEAL_CREATED,
                occurred_at=deal.created_at,
                data={**common, **money_data, **provenance},
            )
        )
        if deal.won_at:
            made.append(
                Activity(
                    contact_id=deal.contact_id,
                    kind=ActivityKind.DEAL_WON,
                    occurred_at=deal.won_at,
                    data={**common, **money_data, **provenance},
                )
            )
        if deal.lost_at:
            made.append(
                Activity(
                    contact_id=deal.contact_id,
                    kind=ActivityKind.DEAL_LOST,
                    occurred_at=deal.lost_at,
                    data={**common, "reason": deal.lost_reason, **provenance},
                )
            )
    return made


def _stage_moves(new: pl.DataFrame, *, write: bool, job_id: int | None) -> dict[str, int]:
    """Each contact's lifecycle moves, as its new deals went: to opportunity when the first
    was created (from subscriber, lead, MQL or SQL), to customer when the first was won, or
    back where it was when every one of them was lost (as `leadflow demo` does); then one
    bulk write of each kind."""
    moves = {
        "contacts made opportunities": 0,
        "contacts made customers": 0,
        DATED_BACK: 0,
    }
    if new.is_empty():
        return moves
    per_contact = new.group_by(CONTACT_ID).agg(
        pl.col("created_at").min().alias("opened"),
        pl.col("won_at").min().alias("won"),
        (pl.col("stage") == LOST).all().alias("all_lost"),
        pl.col("lost_at").max().alias("last_lost"),
        pl.col("name").sort_by("created_at").first().alias("first_deal"),
        pl.col("name").sort_by("won_at", nulls_last=True).first().alias("won_deal"),
        pl.col("name").sort_by("lost_at", nulls_last=True).last().alias("lost_deal"),
    )
    stages, created = {}, {}
    for chunk in chunks(per_contact[CONTACT_ID].to_list()):
        found = Contact.objects.filter(pk__in=chunk)
        for pk, stage, created_at in found.values_list("pk", "lifecycle_stage", "created_at"):
            stages[pk], created[pk] = stage, created_at
    dated_back = {
        pk: opened
        for pk, opened in per_contact.select(CONTACT_ID, "opened").iter_rows()
        if opened is not None and opened < created[pk]
    }
    moves[DATED_BACK] = len(dated_back)
    now = timezone.now()
    changes: list[tuple[int, str, str, datetime, str]] = []
    final: dict[int, str] = {}
    for row in per_contact.iter_rows(named=True):
        pk = row[CONTACT_ID]
        before = stage = stages[pk]
        if stage in BEFORE_OPPORTUNITY:
            opened = ("Deal created", row["first_deal"])
            changes.append((pk, stage, LifecycleStage.OPPORTUNITY, row["opened"] or now, opened))
            stage = final[pk] = LifecycleStage.OPPORTUNITY
            moves["contacts made opportunities"] += 1
            if row["all_lost"]:
                lost = ("Deal lost", row["lost_deal"])
                changes.append((pk, stage, before, row["last_lost"], lost))
                stage = final[pk] = before
        if row["won"] is not None and stage not in CUSTOMER_ALREADY:
            won = ("Deal won", row["won_deal"])
            changes.append((pk, stage, LifecycleStage.CUSTOMER, row["won"], won))
            final[pk] = LifecycleStage.CUSTOMER
            moves["contacts made customers"] += 1
    if write:
        date_back(dated_back, job_id)
        _write_stage_moves(changes, final, job_id, now)
        # One record per contact of what undo puts back: its stage and its creation date.
        before: dict[int, dict] = {}
        written: dict[int, dict] = {}
        for pk, stage in final.items():
            if stage != stages[pk]:
                before[pk], written[pk] = (
                    {"lifecycle_stage": stages[pk]},
                    {"lifecycle_stage": stage},
                )
        for pk, at in dated_back.items():
            before.setdefault(pk, {})["created_at"] = created[pk]
            written.setdefault(pk, {})["created_at"] = at
        record_contact_updates(job_id, [(pk, before[pk], written[pk]) for pk in written])
    return moves


def _write_stage_moves(changes, final: dict[int, str], job_id: int, now) -> None:
    for batch in chunks(changes, BATCH_SIZE):
        reasons = [f"{what}: {deal}" for _, _, _, _, (what, deal) in batch]
        made = StageChange.objects.bulk_create(
            StageChange(
                contact_id=pk,
                from_stage=old,
                to_stage=to,
                changed_at=at,
                source=SOURCE,
                reason=reason,
            )
            for (pk, old, to, at, _), reason in zip(batch, reasons, strict=True)
        )
        record_created(job_id, StageChange, [change.pk for change in made])
        bulk_record_activities(
            Activity(
                contact_id=pk,
                kind=ActivityKind.STAGE_CHANGED,
                occurred_at=at,
                data={"from": old, "to": to, "reason": reason, "import_job": job_id},
            )
            for (pk, old, to, at, _), reason in zip(batch, reasons, strict=True)
        )
    # One UPDATE per stage and chunk: a CASE per row (bulk_update) is far slower.
    by_stage: dict[str, list[int]] = {}
    for pk, stage in final.items():
        by_stage.setdefault(stage, []).append(pk)
    for stage, pks in by_stage.items():
        for chunk in chunks(pks):
            Contact.objects.filter(pk__in=chunk).update(lifecycle_stage=stage, updated_at=now)


UNDO_SOURCE = "import undo"


def follow_kept_deals(kept: dict[str, list[int]], actor: User | None) -> int:
    """After a deals import is undone: a contact whose stage was put back but who keeps one
    of its deals (someone worked it since) moves on again as that deal did, to opportunity
    for a deal not lost (from subscriber, lead, MQL or SQL) and to customer for a won one.
    Each move has its StageChange (source "import undo") and timeline entry; returns how
    many contacts moved."""
    deals = Deal.objects.filter(pk__in=kept.get(Deal._meta.label_lower, [])).order_by("pk")
    targets: dict[int, tuple[str, str]] = {}  # contact id: (stage, the deal that gives it)
    for deal in deals.only("pk", "name", "contact_id", "stage"):
        if deal.stage == WON:
            targets[deal.contact_id] = (LifecycleStage.CUSTOMER, deal.name)
        elif deal.stage != LOST:
            targets.setdefault(deal.contact_id, (LifecycleStage.OPPORTUNITY, deal.name))
    moved = 0
    for contact in Contact.objects.filter(pk__in=list(targets)).order_by("pk"):
        stage, deal_name = targets[contact.pk]
        if contact.lifecycle_stage in CUSTOMER_ALREADY:
            continue
        if (
            stage == LifecycleStage.OPPORTUNITY
            and contact.lifecycle_stage not in BEFORE_OPPORTUNITY
        ):
            continue
        change_stage(
            contact=contact,
            to_stage=stage,
            actor=actor,
            reason=f"Deal kept by the undo: {deal_name}"[:REASON_LENGTH],
            source=UNDO_SOURCE,
        )
        moved += 1
    return moved
