"""Imports of bought lists and history. `import_list` reads top to bottom as its stages."""

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import polars as pl
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from leadflow.accounts.models import User
from leadflow.acquisition.models import ImportJob, ImportKind, ImportStatus
from leadflow.acquisition.pipeline import load
from leadflow.acquisition.pipeline.mapping import apply_mapping, plan_mapping
from leadflow.acquisition.pipeline.match import (
    DUPLICATE_IN_FILE,
    MATCH_ID,
    mark_in_file_duplicates,
    match_existing,
    plan_fills,
)
from leadflow.acquisition.pipeline.normalise import (
    COUNTRY_UNKNOWN,
    PHONE_INVALID,
    normalise_contacts,
)
from leadflow.acquisition.pipeline.read import LINE, read_table
from leadflow.acquisition.pipeline.rejects import write_rejects
from leadflow.acquisition.pipeline.validate import REASON, split_rejects, validate_contacts
from leadflow.errors import LeadflowError

DUPLICATE_POLICIES = ("skip", "update", "merge")
REJECT_EXAMPLES = 5


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
    on_duplicate: str = "skip"
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


Progress = Callable[[int], None]


def _check_options(options: ImportOptions) -> None:
    if options.kind != ImportKind.CONTACTS:
        raise ImportNotSupported(
            f"Imports of {options.kind} are not supported yet; only --kind contacts is."
        )
    if options.on_duplicate not in DUPLICATE_POLICIES:
        raise InvalidImport(f"--on-duplicate must be one of {', '.join(DUPLICATE_POLICIES)}")
    if options.cost_per_lead is not None and options.total_cost is not None:
        raise InvalidImport("Give --cost-per-lead or --total-cost, not both.")
    costed = options.cost_per_lead is not None or options.total_cost is not None
    if costed and not (options.vendor or options.campaign):
        raise InvalidImport("A list cost needs --vendor (or --campaign) to be booked against.")
    for cost in (options.cost_per_lead, options.total_cost):
        if cost is not None and cost < 0:
            raise InvalidImport("A cost cannot be negative.")


def _rejects_path(job_id: int | None) -> Path:
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S%f")
    name = f"import-{job_id}-rejects.csv" if job_id else f"dry-run-{stamp}-rejects.csv"
    return Path(settings.DATA_DIR) / "imports" / name


def _money(value: Decimal, places: str = "0.01") -> Decimal:
    return value.quantize(Decimal(places), rounding=ROUND_HALF_UP)


def import_list(
    *,
    path: Path,
    options: ImportOptions,
    actor: User | None = None,
    progress: Callable[[int], Progress] | None = None,
) -> ImportReport:
    """Read, map, normalise, validate, match and load one list; report what happened.

    `progress(total)` may return a callback that is told how many rows each batch loaded.
    A dry run writes no database row (no ImportJob either), only the rejects CSV.
    """
    started = time.monotonic()
    _check_options(options)
    path = Path(path)
    report = ImportReport(file=path.name, kind=options.kind, dry_run=options.dry_run)
    job = None
    if not options.dry_run:
        job = ImportJob.objects.create(
            file_name=path.name,
            kind=options.kind,
            options=_options_json(options),
            actor=actor,
            currency=options.currency,
            started_at=timezone.now(),
        )
        report.job_id = job.pk
    try:
        _run(path, options, report, job, progress)
    except Exception as exc:
        if job is not None:
            job.status, job.error, job.finished_at = ImportStatus.FAILED, str(exc), timezone.now()
            job.save(update_fields=["status", "error", "finished_at"])
        raise
    report.elapsed_seconds = round(time.monotonic() - started, 3)
    if job is not None:
        _finish(job, report)
    return report


def _run(
    path: Path,
    options: ImportOptions,
    report: ImportReport,
    job: ImportJob | None,
    progress: Callable[[int], Progress] | None,
) -> None:
    table = read_table(path, encoding=options.encoding, delimiter=options.delimiter)
    report.encoding, report.delimiter = table.encoding, table.delimiter
    plan = plan_mapping(table.headers, options.mapping)
    report.mapping = plan
    report.rows_read = table.frame.height

    rows = apply_mapping(table.frame, plan)
    rows = normalise_contacts(rows, region=options.phone_region or settings.PHONE_REGION)
    rows = validate_contacts(
        rows, header_width=len(table.headers), allow_no_email=options.allow_no_email
    )
    usable, rejected = split_rejects(rows)
    usable = mark_in_file_duplicates(usable)
    report.skipped_in_file = int(usable[DUPLICATE_IN_FILE].sum())
    usable = usable.filter(~pl.col(DUPLICATE_IN_FILE))

    existing = load.fetch_existing(
        emails=usable["email"].drop_nulls().to_list(),
        external_ids=usable["external_id"].drop_nulls().to_list(),
    )
    usable = match_existing(usable, existing)
    new = usable.filter(pl.col(MATCH_ID).is_null())
    matched = usable.filter(pl.col(MATCH_ID).is_not_null())

    _report_rejects(report, rejected, table.frame, job)
    report.warnings = {
        "phone not understood (left empty)": int(usable[PHONE_INVALID].sum()),
        "country not recognised (left empty)": int(usable[COUNTRY_UNKNOWN].sum()),
    }
    fills = plan_fills(matched, existing) if options.on_duplicate != "skip" else None
    if options.dry_run:
        report.created = new.height
        report.skipped_in_database = matched.height
        if fills is not None:
            report.updated, report.skipped_in_database = _count_updates(fills), 0
        _report_cost(report, options)
        return
    tick = progress(new.height + matched.height) if progress else None
    with transaction.atomic():
        _load(new, fills, matched, options, report, job, tick)


def _count_updates(fills: pl.DataFrame) -> int:
    return sum(1 for row in fills.iter_rows(named=True) if load.fills_something(row))


def _load(new, fills, matched, options, report, job, tick) -> None:
    vendor = load.ensure_vendor(options.vendor)[0] if options.vendor else None
    channel_names = set(new["channel"].drop_nulls().unique().to_list())
    if options.channel:
        channel_names.add(options.channel)
    channels, report.channels_created = load.ensure_channels(channel_names)
    default_channel = channels.get(options.channel.casefold()) if options.channel else None
    campaign_pairs = set(new.select("campaign", "channel").drop_nulls("campaign").rows())
    if options.campaign:
        campaign_pairs.add((options.campaign, options.channel))
    campaigns, report.campaigns_created, more_channels = load.ensure_campaigns(
        campaign_pairs, default_channel
    )
    report.channels_created = sorted({*report.channels_created, *more_channels})
    default_campaign = campaigns.get(options.campaign.casefold()) if options.campaign else None
    companies = set(new["company"].drop_nulls().to_list())
    if fills is not None:
        companies |= set(fills["company"].drop_nulls().to_list())
    company_ids, report.companies_created = load.ensure_companies(companies)

    report.created = load.insert_contacts(
        new,
        job_id=job.pk,
        file_name=job.file_name,
        vendor=vendor,
        channels=channels,
        campaigns=campaigns,
        default_channel=default_channel,
        default_campaign=default_campaign,
        company_ids=company_ids,
        progress=tick,
    )
    if fills is None:
        report.skipped_in_database = matched.height
        if tick:
            tick(matched.height)
    else:
        report.updated = load.fill_contacts(
            fills, job_id=job.pk, file_name=job.file_name, company_ids=company_ids, progress=tick
        )
        # A matched contact that had every field already: nothing to fill, so it is skipped.
        report.skipped_in_database = matched.height - report.updated
    amount = _report_cost(report, options)
    job.vendor = vendor
    if amount is not None and amount > 0:
        job.spend = load.record_list_cost(
            amount=amount,
            currency=options.currency,
            vendor=vendor,
            campaign=default_campaign,
            note=f"List {job.file_name} (import #{job.pk})",
        )


def _report_cost(report: ImportReport, options: ImportOptions) -> Decimal | None:
    report.vendor, report.currency = options.vendor, options.currency
    if options.cost_per_lead is not None:
        amount = _money(options.cost_per_lead * report.created)
    elif options.total_cost is not None:
        amount = _money(options.total_cost)
    else:
        return None
    report.cost_total = str(amount)
    if report.created:
        report.cost_per_new_lead = str(_money(amount / report.created, "0.0001"))
    return amount


def _report_rejects(
    report: ImportReport, rejected: pl.DataFrame, raw: pl.DataFrame, job: ImportJob | None
) -> None:
    report.rejected = rejected.height
    if not rejected.height:
        return
    counts = rejected.group_by(REASON).len().sort(["len", REASON], descending=[True, False])
    report.rejected_by_reason = dict(counts.rows())
    reasons = rejected.select(LINE, pl.col(REASON).alias("reason"))
    report.reject_examples = [
        {"line": line, "reason": reason} for line, reason in reasons.head(REJECT_EXAMPLES).rows()
    ]
    target = _rejects_path(job.pk if job else None)
    report.rejects_path = str(write_rejects(raw, reasons, target))


def _finish(job: ImportJob, report: ImportReport) -> None:
    job.status = ImportStatus.SUCCEEDED
    job.rows_read = report.rows_read
    job.created_count = report.created
    job.updated_count = report.updated
    job.skipped_in_file = report.skipped_in_file
    job.skipped_in_database = report.skipped_in_database
    job.rejected_count = report.rejected
    job.rejects_path = report.rejects_path or ""
    job.cost_total = Decimal(report.cost_total) if report.cost_total else None
    job.cost_per_new_lead = Decimal(report.cost_per_new_lead) if report.cost_per_new_lead else None
    job.report = report.as_dict()
    job.finished_at = timezone.now()
    job.save()


def _options_json(options: ImportOptions) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Decimal) else v for k, v in asdict(options).items()}
