"""What every kind of import shares: its options, its report, and the run it belongs to."""

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import polars as pl
from django.conf import settings
from django.utils import timezone

from leadflow.acquisition.models import DuplicatePolicy, ImportJob, ImportKind
from leadflow.acquisition.pipeline.read import LINE
from leadflow.acquisition.pipeline.rejects import write_rejects
from leadflow.acquisition.pipeline.validate import REASON
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
