"""Imports of bought lists and history: the job around a run; `kinds/` holds what each kind does."""

import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import phonenumbers
from django.db import transaction
from django.utils import timezone

from leadflow.accounts.models import User
from leadflow.acquisition.kinds import RUNNERS
from leadflow.acquisition.kinds.base import (
    DUPLICATE_POLICIES,
    ImportNotSupported,
    ImportOptions,
    ImportReport,
    ImportRun,
    InvalidImport,
    ProgressFactory,
)
from leadflow.acquisition.models import ImportJob, ImportStatus
from leadflow.acquisition.pipeline.dates import DATE_ORDERS
from leadflow.acquisition.pipeline.values import AMOUNT_DIGITS, CURRENCY_CODES
from leadflow.acquisition.progress import ImportCancelled
from leadflow.contacts.models import Campaign, Channel, Vendor
from leadflow.errors import LeadflowError

__all__ = [
    "DUPLICATE_POLICIES",
    "ImportCancelled",
    "ImportNotSupported",
    "ImportOptions",
    "ImportReport",
    "ImportSuperseded",
    "InvalidImport",
    "check_options",
    "import_list",
    "options_from_json",
]

ROLLED_BACK = "nothing was imported (the partial run was rolled back)"


class ImportSuperseded(LeadflowError):
    """This run was taken for dead and restarted; the newer run owns the job, so this one
    rolls back instead of committing a second copy of the rows."""

    status_code = 409


COST_PER_LEAD_DIGITS = 10  # ImportJob.cost_per_new_lead: Decimal(max_digits=14, decimal_places=4)


def phone_region_problem(region: str | None) -> str | None:
    """Why `region` cannot be the country of phones written without a +code, if it cannot:
    a region libphonenumber knows (GB, not UK or "United Kingdom"). A wrong one turned every
    national number of a file into "phone not understood"."""
    if region is None or region in phonenumbers.SUPPORTED_REGIONS:
        return None
    return (
        f"{region!r} is not a country code for phone numbers: give two letters, "
        "as in US, GB, DE or FR."
    )


def check_options(options: ImportOptions) -> None:
    """Refuse options that cannot run, before any file is read."""
    if options.kind not in RUNNERS:
        raise ImportNotSupported(f"Imports of {options.kind} are not supported yet.")
    if problem := phone_region_problem(options.phone_region):
        raise InvalidImport(f"--phone-region {problem}")
    if options.date_order not in (None, *DATE_ORDERS):
        raise InvalidImport("--date-order must be dmy (day first) or mdy (month first).")
    for flag, value, model in (
        ("--vendor", options.vendor, Vendor),
        ("--channel", options.channel, Channel),
        ("--campaign", options.campaign, Campaign),
    ):
        longest = model._meta.get_field("name").max_length
        if value is not None and len(value) > longest:
            raise InvalidImport(f"{flag} is longer than {longest} characters.")
    if options.on_duplicate not in DUPLICATE_POLICIES:
        raise InvalidImport(f"--on-duplicate must be one of {', '.join(DUPLICATE_POLICIES)}")
    if options.cost_per_lead is not None and options.total_cost is not None:
        raise InvalidImport("Give --cost-per-lead or --total-cost, not both.")
    costed = options.cost_per_lead is not None or options.total_cost is not None
    if costed and not (options.vendor or options.campaign):
        raise InvalidImport("A list cost needs --vendor (or --campaign) to be booked against.")
    for flag, cost, whole_digits in (
        ("--cost-per-lead", options.cost_per_lead, COST_PER_LEAD_DIGITS),
        ("--total-cost", options.total_cost, AMOUNT_DIGITS),
    ):
        if cost is None:
            continue
        if not cost.is_finite():
            raise InvalidImport(f"{flag} must be an amount, not {cost}.")
        if cost < 0:
            raise InvalidImport("A cost cannot be negative.")
        if cost >= Decimal(10) ** whole_digits:
            raise InvalidImport(f"{flag} {cost} is too large (at most {whole_digits} digits).")
    if costed and options.currency not in CURRENCY_CODES:
        raise InvalidImport(
            f"--currency {options.currency!r} is not an ISO 4217 code (USD, EUR...)."
        )


def import_list(
    *,
    path: Path,
    options: ImportOptions,
    actor: User | None = None,
    progress: ProgressFactory | None = None,
    job: ImportJob | None = None,
    checkpoint: Callable[[], None] | None = None,
) -> ImportReport:
    """Read, map, normalise, validate, match and load one file; report what happened.

    `progress(total)` may return a callback that is told how many rows each batch loaded.
    A dry run writes no database row (no ImportJob either), only the rejects CSV.

    `job` is an ImportJob a background task already marked running (the CLI passes none and
    one is made here). Everything a run writes, the job's final status included, commits in
    one transaction: a crash, a cancel (`checkpoint` or `progress` raising ImportCancelled)
    or any error leaves no row of the file behind, so a restarted run cannot double a row.
    """
    started = time.monotonic()
    check_options(options)
    path = Path(path)
    report = ImportReport(
        file=job.file_name if job else path.name, kind=options.kind, dry_run=options.dry_run
    )
    if job is None and not options.dry_run:
        job = ImportJob.objects.create(
            file_name=path.name,
            kind=options.kind,
            options=_options_json(options),
            actor=actor,
            currency=options.currency,
            status=ImportStatus.RUNNING,
            started_at=timezone.now(),
        )
    if options.dry_run:
        job = None
    report.job_id = job.pk if job else None
    try:
        with nullcontext() if job is None else transaction.atomic():
            if checkpoint:
                checkpoint()
            RUNNERS[options.kind](ImportRun(path, options, report, job, progress))
            report.elapsed_seconds = round(time.monotonic() - started, 3)
            if checkpoint:
                checkpoint()
            if job is not None:
                _finish(job, report)
    except ImportCancelled:
        if job is not None:
            _end(job, ImportStatus.CANCELLED, f"Cancelled: {ROLLED_BACK}.")
        raise
    except ImportSuperseded:
        raise  # the newer run owns the job row: leave it alone
    except Exception as exc:
        if job is not None:
            _end(job, ImportStatus.FAILED, str(exc))
        raise
    return report


def _end(job: ImportJob, status: str, error: str) -> None:
    """Record how a run ended, unless a newer attempt has taken the job over since."""
    job.status, job.error, job.finished_at = status, error, timezone.now()
    ImportJob.objects.filter(pk=job.pk, attempts=job.attempts).update(
        status=status, error=error, finished_at=job.finished_at
    )


def _check_still_ours(job: ImportJob) -> None:
    """Fence a run that was taken for dead: only the latest attempt may commit.

    The row lock also makes the recovery job (which changes `attempts` with a conditional
    update) wait for this commit, so the two can never both win.
    """
    current = (
        ImportJob.objects.select_for_update()
        .filter(pk=job.pk)
        .values_list("attempts", "status")
        .first()
    )
    if current != (job.attempts, ImportStatus.RUNNING):
        raise ImportSuperseded(
            f"Import #{job.pk} was restarted elsewhere (attempt {current and current[0]}); "
            f"this run (attempt {job.attempts}) rolls back."
        )


def _finish(job: ImportJob, report: ImportReport) -> None:
    _check_still_ours(job)
    notes = (job.report or {}).get("notes", [])
    job.status = ImportStatus.SUCCEEDED
    job.rows_read = report.rows_read
    job.created_count = report.created
    job.updated_count = report.updated
    job.merged_count = report.merged
    job.skipped_in_file = report.skipped_in_file
    job.skipped_in_database = report.skipped_in_database
    job.rejected_count = report.rejected
    job.rejects_path = report.rejects_path or ""
    job.cost_total = Decimal(report.cost_total) if report.cost_total else None
    job.cost_per_new_lead = Decimal(report.cost_per_new_lead) if report.cost_per_new_lead else None
    job.report = report.as_dict()
    if notes:
        job.report["notes"] = notes  # e.g. "restarted after a worker crash", kept for the UI
    job.finished_at = timezone.now()
    job.save()


def _options_json(options: ImportOptions) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Decimal) else v for k, v in asdict(options).items()}


def options_from_json(data: dict[str, Any]) -> ImportOptions:
    """The ImportOptions a job was saved with (`ImportJob.options`), amounts as Decimals."""
    known = set(ImportOptions.__dataclass_fields__)
    values = {k: v for k, v in data.items() if k in known}
    for name in ("cost_per_lead", "total_cost"):
        if values.get(name) is not None:
            values[name] = Decimal(values[name])
    values["mapping"] = dict(values.get("mapping") or {})
    return ImportOptions(**values)


def options_json(options: ImportOptions) -> dict[str, Any]:
    return _options_json(options)
