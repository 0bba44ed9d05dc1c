"""What every kind of import shares: its options, its report, and the run it belongs to."""

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import polars as pl
from django.conf import settings
from django.db.models.functions import Upper
from django.utils import timezone

from leadflow.acquisition.models import DuplicatePolicy, ImportJob, ImportKind
from leadflow.acquisition.pipeline.batches import chunks
from leadflow.acquisition.pipeline.mapping import apply_mapping, plan_mapping
from leadflow.acquisition.pipeline.read import LINE, Table, read_table
from leadflow.acquisition.pipeline.rejects import write_rejects
from leadflow.acquisition.pipeline.validate import REASON
from leadflow.acquisition.pipeline.values import blank_to_null
from leadflow.contacts.models import Channel, ChannelKind, Contact, Vendor
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
        return asdict(self)


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


def report_rejects(run: ImportRun, rejected: pl.DataFrame, raw: pl.DataFrame) -> None:
    """Counts by reason, the first examples, and the rejects CSV (rows as they were read)."""
    report = run.report
    report.rejected = rejected.height
    if not rejected.height:
        return
    counts = rejected.group_by(REASON).len().sort(["len", REASON], descending=[True, False])
    report.rejected_by_reason = dict(counts.rows())
    reasons = rejected.select(LINE, pl.col(REASON).alias("reason"))
    report.reject_examples = [
        {"line": line, "reason": reason} for line, reason in reasons.head(REJECT_EXAMPLES).rows()
    ]
    target = rejects_path(run.job.pk if run.job else None)
    report.rejects_path = str(write_rejects(raw, reasons, target))


def report_cost(report: ImportReport, options: ImportOptions) -> Decimal | None:
    """The list's cost from the options and the contacts created; None when none was given."""
    report.vendor, report.currency = options.vendor, options.currency
    if options.cost_per_lead is not None:
        amount = money(options.cost_per_lead * report.created)
    elif options.total_cost is not None:
        amount = money(options.total_cost)
    else:
        return None
    report.cost_total = str(amount)
    if report.created:
        report.cost_per_new_lead = str(money(amount / report.created, "0.0001"))
    return amount


# --- What the kinds other than contacts share ---------------------------------------------

CONTACT_ID = "_contact_id"
NO_CONTACT_REFERENCE = "missing contact_email or contact_external_id"
CONTACT_NOT_FOUND = "no contact with this email/external id"


def read_mapped(job_run: ImportRun, kind: str) -> tuple[Table, pl.DataFrame]:
    """Stages 1 and 2 for any kind: the file read, its columns named by field."""
    options, report = job_run.options, job_run.report
    table = read_table(
        job_run.path, encoding=options.encoding, delimiter=options.delimiter, sheet=options.sheet
    )
    report.encoding, report.delimiter = table.encoding, table.delimiter
    plan = plan_mapping(table.headers, options.mapping, kind=kind)
    report.mapping = plan
    report.rows_read = table.frame.height
    return table, apply_mapping(table.frame, plan, kind=kind)


def attach_contacts(frame: pl.DataFrame) -> pl.DataFrame:
    """Adds CONTACT_ID from `contact_email` (normalised) or else `contact_external_id`.

    The contacts are looked up in chunks, two queries per 900 distinct values; a row's
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
    found = {}
    for chunk in chunks([n.upper() for n in names]):
        for vendor in Vendor.objects.annotate(u=Upper("name")).filter(u__in=chunk):
            found.setdefault(vendor.name.casefold(), vendor)
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
