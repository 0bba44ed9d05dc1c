"""What every kind of import shares: its options, its report, and the run it belongs to."""

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import polars as pl
from django.conf import settings
from django.db import transaction
from django.db.models.functions import Upper
from django.utils import timezone

from leadflow.acquisition.models import (
    DuplicatePolicy,
    ImportChange,
    ImportChangeAction,
    ImportJob,
    ImportKind,
    ImportRecord,
    ImportRecordAction,
)
from leadflow.acquisition.pipeline.batches import chunks
from leadflow.acquisition.pipeline.dates import DATE_ORDERS, DateOrders
from leadflow.acquisition.pipeline.lookup import other_email_owners
from leadflow.acquisition.pipeline.mapping import apply_mapping, plan_mapping
from leadflow.acquisition.pipeline.read import LINE, TableStream, open_table
from leadflow.acquisition.pipeline.rejects import RejectsFile
from leadflow.acquisition.pipeline.validate import REASON
from leadflow.acquisition.pipeline.values import AMOUNT_DIGITS, blank_to_null
from leadflow.contacts.bulk import insert_rows, update_rows
from leadflow.contacts.models import Channel, ChannelKind, Contact, StageChange, Vendor
from leadflow.errors import LeadflowError

DUPLICATE_POLICIES = tuple(DuplicatePolicy.values)
REJECT_EXAMPLES = 5

# `progress(total)` may return a callback told how many rows each batch loaded.
Progress = Callable[[int], None]
ProgressFactory = Callable[[int], Progress | None]


class ImportNotSupported(LeadflowError):
    status_code = 422


class InvalidImport(LeadflowError):
    status_code = 422


@dataclass(frozen=True)
class ImportOptions:
    kind: str = ImportKind.CONTACTS
    mapping: dict[str, str] = field(default_factory=dict)
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    on_duplicate: str = DuplicatePolicy.SKIP
    vendor: str | None = None
    cost_per_lead: Decimal | None = None
    total_cost: Decimal | None = None
    currency: str = "USD"
    channel: str | None = None
    campaign: str | None = None
    allow_no_email: bool = False
    phone_region: str | None = None
    date_order: str | None = None  # "dmy" or "mdy"; None: told by the file (pipeline/dates.py)
    dry_run: bool = False


@dataclass
class ImportReport:
    file: str
    kind: str
    dry_run: bool
    job_id: int | None = None
    encoding: str = ""
    delimiter: str = ""
    mapping: dict[str, str] = field(default_factory=dict)
    rows_read: int = 0
    created: int = 0
    updated: int = 0
    merged: int = 0
    skipped_in_file: int = 0
    skipped_in_database: int = 0
    rejected: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    reject_examples: list[dict[str, Any]] = field(default_factory=list)
    rejects_path: str | None = None
    warnings: dict[str, int] = field(default_factory=dict)
    channels_created: list[str] = field(default_factory=list)
    campaigns_created: list[str] = field(default_factory=list)
    companies_created: int = 0
    vendors_created: list[str] = field(default_factory=list)
    # What a kind did besides creating its rows, by name: e.g. "contacts made customers".
    details: dict[str, Any] = field(default_factory=dict)
    vendor: str | None = None
    cost_total: str | None = None
    currency: str = "USD"
    cost_per_new_lead: str | None = None
    elapsed_seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        report = asdict(self)
        # A warning no row met is not a warning, whichever kind counted it.
        report["warnings"] = {name: n for name, n in self.warnings.items() if n}
        return report


@dataclass
class ImportRun:
    """One run of one file: what a kind's `run` gets, and fills the report of."""

    path: Path
    options: ImportOptions
    report: ImportReport
    job: ImportJob | None  # None on a dry run
    progress: ProgressFactory | None = None


def money(value: Decimal, places: str = "0.01") -> Decimal:
    return value.quantize(Decimal(places), rounding=ROUND_HALF_UP)


def rejects_path(job_id: int | None) -> Path:
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S%f")
    name = f"import-{job_id}-rejects.csv" if job_id else f"dry-run-{stamp}-rejects.csv"
    return Path(settings.DATA_DIR) / "imports" / name


def record_rejects(
    report: ImportReport,
    reasons_seen: Counter,
    rejects: RejectsFile,
    rejected: pl.DataFrame,
    raw: pl.DataFrame,
) -> None:
    """One chunk's rejects: counted by reason, the first examples kept, and appended to
    the rejects CSV as they were read."""
    if rejected.is_empty():
        return
    reasons = rejected.select(LINE, pl.col(REASON).alias("reason"))
    report.rejected += reasons.height
    reasons_seen.update(dict(reasons.group_by("reason").len().rows()))
    room = REJECT_EXAMPLES - len(report.reject_examples)
    report.reject_examples += [
        {"line": line, "reason": reason} for line, reason in reasons.head(max(room, 0)).rows()
    ]
    rejects.append(raw, reasons)


def by_count(counts: Counter) -> dict[str, int]:
    """Reasons (or warnings) most frequent first, then by name."""
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def report_cost(report: ImportReport, options: ImportOptions) -> Decimal | None:
    """The list's cost from the options and the contacts created; None when none was given."""
    report.vendor, report.currency = options.vendor, options.currency
    if options.cost_per_lead is not None:
        amount = money(options.cost_per_lead * report.created)
    elif options.total_cost is not None:
        amount = money(options.total_cost)
    else:
        return None
    if amount >= Decimal(10) ** AMOUNT_DIGITS:
        raise InvalidImport(
            f"The list cost, {amount} {options.currency}, is more than a spend entry holds "
            f"({AMOUNT_DIGITS} digits): nothing was imported."
        )
    report.cost_total = str(amount)
    if report.created:
        report.cost_per_new_lead = str(money(amount / report.created, "0.0001"))
    return amount


# --- What undo needs of the kinds other than contacts --------------------------------------


def as_json(value: Any) -> Any:
    """A field's value as JSON keeps it (undo reads it back with the field's to_python)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _job_id(job: ImportJob | int | None) -> int | None:
    return job.pk if isinstance(job, ImportJob) else job


def record_created(job: ImportJob | int | None, model, ids: Iterable[int]) -> None:
    """The rows of `model` an import (a job or its id; None on a dry run) created, for undo
    to delete."""
    if (job_id := _job_id(job)) is None:
        return
    label = model._meta.label_lower
    insert_rows(
        ImportRecord,
        [
            ImportRecord(
                job_id=job_id, model=label, object_id=pk, action=ImportRecordAction.CREATED
            )
            for pk in ids
        ],
    )


def record_updated(
    job: ImportJob | int | None, model, changes: Iterable[tuple[int, dict, dict]]
) -> None:
    """The rows of `model` an import changed: (id, {field: before}, {field: written}), only
    the fields that changed, for undo to put back."""
    if (job_id := _job_id(job)) is None:
        return
    label = model._meta.label_lower
    insert_rows(
        ImportRecord,
        [
            ImportRecord(
                job_id=job_id,
                model=label,
                object_id=pk,
                action=ImportRecordAction.UPDATED,
                previous={f: as_json(v) for f, v in before.items()},
                written={f: as_json(v) for f, v in written.items()},
            )
            for pk, before, written in changes
            if written
        ],
    )


def changed_fields(before: dict, after: dict) -> tuple[dict, dict]:
    """The fields whose value differs: ({field: before}, {field: after})."""
    names = [f for f in after if before.get(f) != after[f]]
    return {f: before.get(f) for f in names}, {f: after[f] for f in names}


def record_contact_updates(
    job: ImportJob | int | None, changes: Iterable[tuple[int, dict, dict]]
) -> None:
    """Contacts a kind other than contacts changed (a deal's lifecycle move, an activity's
    touch): (id, {field: before}, {field: written}), restored by undo as a contact import's
    changes are."""
    if (job_id := _job_id(job)) is None:
        return
    insert_rows(
        ImportChange,
        [
            ImportChange(
                job_id=job_id,
                contact_id=pk,
                action=ImportChangeAction.UPDATED,
                previous={f: as_json(v) for f, v in before.items()},
                written={f: as_json(v) for f, v in written.items()},
            )
            for pk, before, written in changes
            if written
        ],
    )


# --- What the kinds other than contacts share ---------------------------------------------


def younger_contacts(earliest: dict[int, datetime]) -> dict[int, datetime]:
    """created_at of the contacts created after the earliest event a file gives them (a
    list imported today, its CRM's deals or activities from 2024)."""
    created: dict[int, datetime] = {}
    for chunk in chunks(list(earliest)):
        found = Contact.objects.filter(pk__in=chunk).values_list("pk", "created_at")
        created.update((pk, at) for pk, at in found if earliest[pk] < at)
    return created


def date_back(opened: dict[int, datetime], job: ImportJob | int | None) -> None:
    """Each contact's creation moved back to `opened[pk]`, and so the change that opened
    its history (from no stage), so the history reads in order and the time from lead to
    customer is the real one. The stage changes are recorded here for undo to put back;
    the contacts' dates are the caller's to record (with its other changes to them)."""
    firsts: list[tuple[int, datetime, datetime]] = []  # (stage change, its date, the new)
    for batch in chunks(list(opened)):
        found = StageChange.objects.filter(contact_id__in=batch, from_stage="")
        for pk, contact, at in found.values_list("pk", "contact_id", "changed_at"):
            if opened[contact] < at:
                firsts.append((pk, at, opened[contact]))
    # A list's every contact may move (its history is older than the import that made them):
    # one UPDATE ... FROM (VALUES ...) per 5,000, not bulk_update's CASE per row.
    update_rows(Contact, [Contact._meta.get_field("created_at")], list(opened.items()))
    update_rows(
        StageChange,
        [StageChange._meta.get_field("changed_at")],
        [(pk, new) for pk, _, new in firsts],
    )
    record_updated(
        job,
        StageChange,
        [(pk, {"changed_at": old}, {"changed_at": new}) for pk, old, new in firsts],
    )


CONTACT_ID = "_contact_id"
NO_CONTACT_REFERENCE = "missing contact_email or contact_external_id"
CONTACT_NOT_FOUND = "no contact with this email/external id"


@dataclass
class MappedChunks:
    """A file of a kind other than contacts, read a chunk at a time (memory stays bounded
    whatever the file's size): each chunk as read and with its columns named by field.

    The kind's `run` iterates it, handing back each chunk's rejects; progress is told after
    each chunk, against a total estimated from the share of the file read so far.
    """

    job_run: ImportRun
    kind: str
    stream: TableStream
    plan: dict[str, str]
    rejects: RejectsFile
    reasons: Counter = field(default_factory=Counter)
    tick: Progress | None = None
    rows_done: int = 0
    dates: DateOrders = field(default_factory=DateOrders)  # one order of day and month per file

    @property
    def header_width(self) -> int:
        return len(self.stream.headers)

    def __iter__(self) -> Iterator[tuple[pl.DataFrame, pl.DataFrame]]:
        for raw in self.stream.chunks:
            self.job_run.report.rows_read += raw.height
            yield raw, apply_mapping(raw, self.plan, kind=self.kind)
            self._progress(raw.height)

    def reject(self, rejected: pl.DataFrame, raw: pl.DataFrame) -> None:
        record_rejects(self.job_run.report, self.reasons, self.rejects, rejected, raw)

    def _progress(self, rows: int) -> None:
        progress, stream = self.job_run.progress, self.stream
        if progress is None:
            return
        self.rows_done += rows
        if self.tick is None:
            total = stream.total_rows or rows
            if stream.bytes_read and stream.size_bytes:
                share = stream.size_bytes / max(stream.bytes_read(), 1)
                total = max(rows, round(rows * share))
            self.tick = progress(total) or (lambda _n: None)
        self.tick(rows)


@contextmanager
def mapped_chunks(job_run: ImportRun, kind: str) -> Iterator[MappedChunks]:
    """Stages 1 and 2 for any kind but contacts: the file opened, its columns mapped; the
    report's rejects filled in when the kind's run is done with it."""
    options, report = job_run.options, job_run.report
    with open_table(
        job_run.path, encoding=options.encoding, delimiter=options.delimiter, sheet=options.sheet
    ) as stream:
        report.encoding, report.delimiter = stream.encoding, stream.delimiter
        if stream.sheet:
            report.details["sheet"] = stream.sheet
        report.mapping = plan_mapping(stream.headers, options.mapping, kind=kind)
        reader = MappedChunks(
            job_run=job_run,
            kind=kind,
            stream=stream,
            plan=report.mapping,
            rejects=RejectsFile(rejects_path(job_run.job.pk if job_run.job else None)),
            dates=date_orders(options),
        )
        try:
            yield reader
        finally:
            written = reader.rejects.close()
        report.rejects_path = str(written) if written else None
        report.rejected_by_reason = by_count(reader.reasons)
        add_counts(report.warnings, stream.warnings())  # lines read as Windows-1252
        add_counts(report.warnings, reader.dates.warnings())


def date_orders(options: ImportOptions) -> DateOrders:
    """The file's order of day and month: the one `--date-order` gives, or told by its
    dates as they are read."""
    return DateOrders(given=DATE_ORDERS.get(options.date_order or ""))


def writing(options: ImportOptions):
    """The one transaction a real run writes in (a dry run writes nothing)."""
    return nullcontext() if options.dry_run else transaction.atomic()


class FirstSeen:
    """Which rows are the first of their key in the file, across its chunks.

    Only each kept key's 64-bit hash is remembered (8 bytes a row), not the rows, so the
    file's in-file duplicates are found with bounded memory, in a dry run too.
    """

    def __init__(self) -> None:
        self._hashes = pl.Series("hash", [], dtype=pl.UInt64)

    def first(self, frame: pl.DataFrame, key: pl.Expr) -> pl.Series:
        """True for each row whose key no earlier row (of this chunk or before) had."""
        hashes = frame.select(key.hash(seed=0).alias("hash")).to_series()
        first = hashes.is_first_distinct() & ~hashes.is_in(self._hashes.implode())
        self._hashes = pl.concat([self._hashes, hashes.filter(first)])
        return first


def add_counts(counts: dict[str, int], more: dict[str, int]) -> None:
    """Adds one chunk's warnings or details (name -> rows) to the report's."""
    for name, value in more.items():
        counts[name] = counts.get(name, 0) + value


def add_names(names: list[str], more: Iterable[str]) -> list[str]:
    """The names created so far with one chunk's, once each, sorted as the report lists them."""
    return sorted({*names, *more}, key=str.casefold)


def attach_contacts(frame: pl.DataFrame) -> pl.DataFrame:
    """Adds CONTACT_ID from `contact_email` (normalised) or else `contact_external_id`.

    The contacts are looked up in chunks, two queries per 900 distinct values; an email
    that is no contact's email is then looked for among the contacts' other emails (one
    `leadflow dedupe` merged away finds the survivor: lookup.other_email_owners). A row's
    reject reason is then a column expression (see `contact_reason`).
    """
    frame = frame.with_columns(
        blank_to_null(pl.col("contact_email")).str.to_lowercase().alias("contact_email"),
        blank_to_null(pl.col("contact_external_id")).alias("contact_external_id"),
    )
    found = {}
    for key, column in (("email", "contact_email"), ("external_id", "contact_external_id")):
        values = frame[column].drop_nulls().unique().to_list()
        pairs = []
        for chunk in chunks(values):
            pairs += Contact.objects.filter(**{f"{key}__in": chunk}).values_list(key, "id")
        found[column] = pl.DataFrame(
            pairs, schema={column: pl.String, f"_by_{key}": pl.Int64}, orient="row"
        )
    by_email = found["contact_email"]
    unknown = set(frame["contact_email"].drop_nulls().to_list())
    held = other_email_owners(list(unknown.difference(by_email["contact_email"].to_list())))
    found["contact_email"] = pl.concat(
        [
            by_email,
            held.select(pl.col("email").alias("contact_email"), pl.col("id").alias("_by_email")),
        ]
    )
    frame = frame.join(found["contact_email"], on="contact_email", how="left").join(
        found["contact_external_id"], on="contact_external_id", how="left"
    )
    return frame.with_columns(pl.coalesce("_by_email", "_by_external_id").alias(CONTACT_ID)).drop(
        "_by_email", "_by_external_id"
    )


def contact_reason() -> pl.Expr:
    """The reject reason about a row's contact (after `attach_contacts`), or null."""
    no_reference = pl.col("contact_email").is_null() & pl.col("contact_external_id").is_null()
    return (
        pl.when(no_reference)
        .then(pl.lit(NO_CONTACT_REFERENCE))
        .when(pl.col(CONTACT_ID).is_null())
        .then(pl.lit(CONTACT_NOT_FOUND))
        .otherwise(pl.lit(None, dtype=pl.String))
    )


def first_reason(*checks: tuple[pl.Expr, str | pl.Expr]) -> pl.Expr:
    """REASON from (condition, reason) pairs in order: the first condition that holds."""

    def reason(value: str | pl.Expr) -> pl.Expr:
        return pl.lit(value) if isinstance(value, str) else value

    expr = pl.when(checks[0][0].fill_null(False)).then(reason(checks[0][1]))
    for condition, value in checks[1:]:
        expr = expr.when(condition.fill_null(False)).then(reason(value))
    return expr.otherwise(pl.lit(None, dtype=pl.String)).alias(REASON)


def missing_names(model, names: Iterable[str]) -> list[str]:
    """The names (compared case-insensitively; the first spelling wins) that no row of
    `model` has yet: what a real run would create, for a dry run to list without writing."""
    wanted: dict[str, str] = {}
    for name in names:
        wanted.setdefault(name.upper(), name)
    have = set()
    for chunk in chunks(list(wanted)):
        have |= set(
            model.objects.annotate(u=Upper("name")).filter(u__in=chunk).values_list("u", flat=True)
        )
    return sorted((n for u, n in wanted.items() if u not in have), key=str.casefold)


def ensure_vendors(names: list[str]) -> tuple[dict[str, Vendor], list[str]]:
    """Vendors by case-folded name, the missing ones created; and the names created."""
    created = missing_names(Vendor, names)
    Vendor.objects.bulk_create([Vendor(name=name) for name in created])
    found: dict[str, Vendor] = {}
    exact = set(names)
    for chunk in chunks([n.upper() for n in names]):
        for vendor in Vendor.objects.annotate(u=Upper("name")).filter(u__in=chunk).order_by("pk"):
            # Where two vendors differ only by case, the one the file spells wins.
            key = vendor.name.casefold()
            if key not in found or (vendor.name in exact and found[key].name not in exact):
                found[key] = vendor
    return found, created


UNASSIGNED_CHANNEL = "Unassigned"


def ensure_unassigned_channel(report: ImportReport) -> Channel:
    """Where a new campaign that the file gives no channel goes, to be moved later.

    Not "Imported lists" (a bought-list channel): ad spend or email history booked there
    would count as bought acquisition in the reports.
    """
    channel, made = Channel.objects.get_or_create(
        name=UNASSIGNED_CHANNEL, defaults={"kind": ChannelKind.OTHER}
    )
    if made:
        report.channels_created = sorted(
            {*report.channels_created, UNASSIGNED_CHANNEL}, key=str.casefold
        )
    return channel
