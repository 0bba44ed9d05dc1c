"""Imports of bought lists and history: the job around a run; `kinds/` holds what each kind does."""

import time
from dataclasses import asdict
from decimal import Decimal
from pathlib import Path
from typing import Any

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

__all__ = [
    "DUPLICATE_POLICIES",
    "ImportNotSupported",
    "ImportOptions",
    "ImportReport",
    "InvalidImport",
    "import_list",
]


def _check_options(options: ImportOptions) -> None:
    if options.kind not in RUNNERS:
        raise ImportNotSupported(f"Imports of {options.kind} are not supported yet.")
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


def import_list(
    *,
    path: Path,
    options: ImportOptions,
    actor: User | None = None,
    progress: ProgressFactory | None = None,
) -> ImportReport:
    """Read, map, normalise, validate, match and load one file; report what happened.

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
            status=ImportStatus.RUNNING,
            started_at=timezone.now(),
        )
        report.job_id = job.pk
    try:
        RUNNERS[options.kind](ImportRun(path, options, report, job, progress))
    except Exception as exc:
        if job is not None:
            job.status, job.error, job.finished_at = ImportStatus.FAILED, str(exc), timezone.now()
            job.save(update_fields=["status", "error", "finished_at"])
        raise
    report.elapsed_seconds = round(time.monotonic() - started, 3)
    if job is not None:
        _finish(job, report)
    return report


def _finish(job: ImportJob, report: ImportReport) -> None:
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
    job.finished_at = timezone.now()
    job.save()


def _options_json(options: ImportOptions) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Decimal) else v for k, v in asdict(options).items()}
